"""``vnsearch serve --workers N``: N worker processes on one port.

Over one index (``--index``) the workers are forked by :mod:`.forked` after the model is
loaded once, so they share it. Over a set of shards (``--cluster``, a Ray client in every
worker, which must not cross a fork) uvicorn's own supervisor starts them, as below.

One Python process serialises the Python part of every request, so on a machine with
several cores one process saturates one of them. With ``--workers N`` uvicorn's supervisor
starts N processes that share the listening socket (the kernel hands each connection to one
of them). uvicorn starts a worker from an import string, so what to serve reaches the
workers through the environment: the index (or cluster file) in :data:`INDEX_ENV` /
:data:`CLUSTER_ENV`, every command-line setting as its ``VNSEARCH_`` variable (so each
worker's :class:`~indexer.settings.Settings` equals the parent's), and
``VNSEARCH_THREADS`` = cores ÷ N (at least 1) unless set, so that N encoder sessions do not
oversubscribe the cores.

Each worker opens the index read-only; writes through the API stay single-writer (the
index's write lock: a second concurrent writer gets 409), and every worker swaps to a new
generation at most one second after it is committed (:meth:`Searcher.maybe_reload`). The
vectors and the lexical matrix files are memory-mapped, so the workers share them too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from indexer.settings import Settings

from .metrics import disable_multiprocess, enable_multiprocess

#: Where a worker finds what to serve (set by :func:`run_workers`).
INDEX_ENV = "VNSEARCH_SERVE_INDEX"
CLUSTER_ENV = "VNSEARCH_SERVE_CLUSTER"
#: Most workers ``--workers`` accepts.
MAX_WORKERS = 64


def cluster_searcher(path: Path, settings: Settings, encoder: Any) -> Any:
    """The searcher factory of ``serve --cluster``: a set of shards as one index."""
    from .cluster.searcher import ClusterSearcher

    return ClusterSearcher(path, settings, encoder)


def worker_app() -> Any:
    """The app of one worker process (uvicorn's ``factory=True`` entry point)."""
    from .app import create_app

    settings = Settings()
    if cluster := os.environ.get(CLUSTER_ENV):
        return create_app(settings, Path(cluster), searcher_factory=cluster_searcher)
    return create_app(settings, Path(os.environ[INDEX_ENV]))


#: ``--workers`` by default: one per core, at most this many (each worker still costs its
#: own Python heap and caches; past 4 the shared cores, not the workers, are the limit).
MAX_AUTO_WORKERS = 4


def default_workers(cores: int | None = None) -> int:
    """Workers when ``--workers`` is not given: the cores, capped at :data:`MAX_AUTO_WORKERS`."""
    cores = cores or len(os.sched_getaffinity(0))
    return max(1, min(cores, MAX_AUTO_WORKERS))


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """Encoder threads for each of ``workers`` processes: the cores shared out, at least 1."""
    cores = cores or len(os.sched_getaffinity(0))
    return max(1, cores // workers)


def run_workers(workers: int, settings: Settings, overrides: dict[str, Any],
                index_dir: Path | None, cluster_file: Path | None) -> None:
    """Serve with ``workers`` processes until stopped (see module docstring); the metrics
    of every worker add up in one private directory, removed on the way out."""
    metrics_dir = enable_multiprocess()
    try:
        if index_dir is not None:
            from .forked import Supervisor

            threads = settings.threads or threads_per_worker(workers)
            settings = settings.model_copy(update={"threads": threads})
            raise SystemExit(Supervisor(workers, settings, index_dir.resolve()).run())
        _run_uvicorn_workers(workers, settings, overrides, index_dir, cluster_file)
    finally:
        disable_multiprocess(metrics_dir)


def _run_uvicorn_workers(workers: int, settings: Settings, overrides: dict[str, Any],
                         index_dir: Path | None, cluster_file: Path | None) -> None:
    """``--cluster --workers N``: uvicorn's supervisor starts the workers (module docstring)."""
    import uvicorn

    from .network import uvicorn_options

    for name, value in overrides.items():
        if value is not None:
            os.environ[f"VNSEARCH_{name.upper()}"] = str(value)
    # The Host names resolved by the command (search_api.network), as the workers read them.
    os.environ["VNSEARCH_ALLOWED_HOSTS"] = json.dumps(settings.allowed_hosts)
    os.environ.setdefault("VNSEARCH_THREADS", str(threads_per_worker(workers)))
    os.environ.pop(INDEX_ENV, None)
    os.environ.pop(CLUSTER_ENV, None)
    if cluster_file is not None:
        os.environ[CLUSTER_ENV] = str(cluster_file.resolve())
    else:
        assert index_dir is not None  # the command checked: one of the two
        os.environ[INDEX_ENV] = str(index_dir.resolve())
    uvicorn.run("search_api.workers:worker_app", factory=True, workers=workers,
                host=settings.host, port=settings.port, **uvicorn_options(settings))
