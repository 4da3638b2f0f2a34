"""One JSON log line per request, the ``X-Request-ID`` header, and the request metrics' feed.

:class:`RequestLog` is a pure ASGI middleware, the outermost of the app's: it gives each
request an id (the client's ``X-Request-ID`` when sane, :func:`request_id_from`), returns
it as ``X-Request-ID`` on every answer, makes it the ``request_id`` of any error body
(:mod:`.request_context`), and once the request is answered writes one line to the
``vnsearch.requests`` logger (stderr) and hands the request to its observers (the metrics).

A line (keys always present; ``mode`` and ``results`` are null unless the request was a
search; the query itself is not logged)::

    {"time": "2026-12-07T21:00:00.123Z", "request_id": "3f2a…", "method": "GET",
     "route": "/search", "status": 200, "duration_ms": 41.7, "mode": "hybrid",
     "results": 12, "pid": 4242}
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import unexpected
from .metrics import UNMATCHED
from .request_context import RequestInfo, request_id_from, request_scope

logger = logging.getLogger("vnsearch.requests")
#: A request the client gave up on before it was answered (nginx's convention).
CLIENT_CLOSED = 499

Observer = Callable[[RequestInfo], None]


class _StderrHandler(logging.Handler):
    """Writes to the ``sys.stderr`` of the moment (not the one at creation: a test runner
    swaps it), one line per record."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - a log line must never fail a request
            self.handleError(record)


def configure_logger() -> None:
    """The request lines go to stderr, as bare JSON, whatever the root logger does (once)."""
    if not logger.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def route_template(scope: Scope) -> str:
    """The template of the route that answered (``/articles/{article_id}``), not the path:
    one label value per route, whatever the ids."""
    return getattr(scope.get("route"), "path", None) or UNMATCHED


def log_line(info: RequestInfo) -> str:
    """The JSON line of an answered request."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json.dumps({"time": now, "request_id": info.request_id, "method": info.method,
                       "route": info.route, "status": info.status,
                       "duration_ms": round(info.duration_s * 1000, 2), "mode": info.mode,
                       "results": info.results, "pid": os.getpid()}, ensure_ascii=False)


class RequestLog:
    """Pure ASGI middleware: request id, one JSON log line, observers (module docstring)."""

    def __init__(self, app: ASGIApp, observers: Sequence[Observer] = ()) -> None:
        self.app = app
        self.observers = tuple(observers)
        configure_logger()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        with request_scope(request_id_from(Headers(scope=scope).get("x-request-id"))) as info:
            info.method = scope["method"]

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    info.status = message["status"]
                    MutableHeaders(scope=message)["X-Request-ID"] = info.request_id
                await send(message)

            try:
                await self.app(scope, receive, send_with_id)
            except asyncio.CancelledError:
                info.status = info.status or CLIENT_CLOSED
                raise
            except Exception as exc:
                if info.status is None:
                    # A bug: answer its 500 here, with the id, rather than in Starlette's
                    # outer error middleware (outside this one); it still logs the traceback.
                    response = await unexpected(Request(scope), exc)
                    await response(scope, receive, send_with_id)
                raise
            finally:
                info.route = route_template(scope)
                info.duration_s = time.perf_counter() - started
                self._done(info)

    def _done(self, info: RequestInfo) -> None:
        logger.info(log_line(info))
        for observe in self.observers:
            observe(info)
