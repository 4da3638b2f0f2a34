"""Prometheus metrics of ``vnsearch serve`` (``GET /metrics``), with ``prometheus-client``.

Per request (:class:`RequestMetrics`, fed by :mod:`search_api.request_log`): requests by
method, route template and status; latency by route and search mode; searches, and those
that found nothing; the duration of acknowledged admin writes. Per scrape
(:class:`IndexCollector`): the served index's articles, passages and generation, read from
the index when scraped, so they are the same whichever worker answers. The supervisor of
``serve --workers N`` counts the workers it restarted.

Several worker processes: prometheus-client's multiprocess mode. Before the workers start,
:func:`enable_multiprocess` makes a private directory and names it in
``PROMETHEUS_MULTIPROC_DIR``; every process then writes its counters and histograms to its
own files there, and the worker answering a scrape sums every process's files
(``MultiProcessCollector``), so the counts cover all workers, those that died included.
The supervisor removes the directory when it exits. One process: the app's own registry.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .request_context import RequestInfo

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Seconds; a search takes milliseconds to a second, a timed-out one ``request_timeout_s``.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Seconds; a write encodes its articles' passages and commits: a second to minutes.
WRITE_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
#: The admin writes, by (method, route template).
WRITE_ROUTES = {("POST", "/articles"): "add", ("DELETE", "/articles/{article_id}"): "delete"}
#: Methods counted under their own name; any other is ``other`` (a client must not be able
#: to make up label values without bound).
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
#: The route label of a request no route matched (an unknown path).
UNMATCHED = "(unmatched)"


def multiprocess_dir() -> str | None:
    """The directory of multiprocess mode when this process is one of several, else None."""
    path = os.environ.get(MULTIPROC_ENV)
    return path if path and os.path.isdir(path) else None


def enable_multiprocess() -> Path:
    """Put this process and those it starts in multiprocess mode: a new private directory in
    ``PROMETHEUS_MULTIPROC_DIR`` (one inherited is replaced: it may be another service's).
    Call before the workers start; the caller removes the directory when they are gone."""
    path = Path(tempfile.mkdtemp(prefix="vnsearch-metrics-"))
    os.environ[MULTIPROC_ENV] = str(path)
    from prometheus_client import values

    # prometheus-client picks its value class when first imported, and the command may have
    # imported it already (with the app): pick again, now that the variable is set.
    values.ValueClass = values.get_value_class()
    return path


def disable_multiprocess(path: Path) -> None:
    """Undo :func:`enable_multiprocess` once the workers are gone: the directory goes, and
    this process counts in memory again (a caller that goes on, e.g. a test, must not write
    into a removed directory)."""
    import shutil

    from prometheus_client import values

    shutil.rmtree(path, ignore_errors=True)
    if os.environ.get(MULTIPROC_ENV) == str(path):
        del os.environ[MULTIPROC_ENV]
    values.ValueClass = values.get_value_class()


def worker_exited(pid: int) -> None:
    """Bookkeeping for a dead worker (its live gauges go); a no-op with one process."""
    if multiprocess_dir() is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def worker_restarts() -> Callable[[], None]:
    """A function that counts one worker restart (``vnsearch_worker_restarts_total``), for
    the supervisor; a no-op with one process (there is no supervisor to count)."""
    if multiprocess_dir() is None:
        return lambda: None
    from prometheus_client import Counter

    counter = Counter("vnsearch_worker_restarts", "Worker processes the supervisor restarted "
                      "after they died.", registry=None)
    return counter.inc


class RequestMetrics:
    """The per-request metrics of one app, and the text of a scrape."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter("vnsearch_http_requests", "HTTP requests answered, by method, "
                                "route template and status.", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("vnsearch_http_request_duration_seconds", "Time to answer a "
                                 "request, by route template and search mode ('none': not a "
                                 "search).", ["route", "mode"], buckets=LATENCY_BUCKETS,
                                 registry=self.registry)
        self.searches = Counter("vnsearch_searches", "Searches answered (GET/POST /search, "
                                "/retrieve), by route and mode.", ["route", "mode"],
                                registry=self.registry)
        self.empty = Counter("vnsearch_searches_empty", "Searches that found no result, by "
                             "route and mode.", ["route", "mode"], registry=self.registry)
        self.writes = Histogram("vnsearch_write_duration_seconds", "Time to answer an "
                                "acknowledged admin write (add: POST /articles, delete: "
                                "DELETE /articles/{id}).", ["operation"],
                                buckets=WRITE_BUCKETS, registry=self.registry)

    def observe(self, info: RequestInfo) -> None:
        """Count one answered request."""
        method = info.method if info.method in METHODS else "other"
        status = info.status or 500
        self.requests.labels(method, info.route, str(status)).inc()
        self.latency.labels(info.route, info.mode or "none").observe(info.duration_s)
        if info.mode is not None and info.results is not None:
            self.searches.labels(info.route, info.mode).inc()
            empty = self.empty.labels(info.route, info.mode)  # exported at 0 from the first
            if info.results == 0:
                empty.inc()
        operation = WRITE_ROUTES.get((method, info.route))
        if operation is not None and 200 <= status < 300:
            self.writes.labels(operation).observe(info.duration_s)

    def exposition(self, searcher: Any) -> tuple[bytes, str]:
        """The text of a scrape and its content type: every worker's request metrics (or
        this process's) and the index gauges of ``searcher``. Blocking (reads files, SQLite)."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        registry = CollectorRegistry()
        if multiprocess_dir() is not None:
            from prometheus_client import multiprocess

            multiprocess.MultiProcessCollector(registry)
        else:
            registry.register(self.registry)  # a registry is a collector too
        registry.register(IndexCollector(searcher))
        return generate_latest(registry), CONTENT_TYPE_LATEST


class IndexCollector:
    """The served index's counts and generation, read when scraped (a custom collector: the
    index, not a process, holds them, so they need no multiprocess files)."""

    def __init__(self, searcher: Any) -> None:
        self.searcher = searcher

    def collect(self) -> Iterator[Any]:
        """Gauges ``vnsearch_index_articles``, ``_passages`` and ``_generation``."""
        from prometheus_client.core import GaugeMetricFamily

        counts = self.searcher.counts()
        yield GaugeMetricFamily("vnsearch_index_articles", "Articles in the served index.",
                                value=counts["articles"])
        yield GaugeMetricFamily("vnsearch_index_passages", "Passages in the served index.",
                                value=counts["passages"])
        yield GaugeMetricFamily("vnsearch_index_generation", "Committed generation of the "
                                "served index (a write increases it).",
                                value=self.searcher.snapshot.generation)
