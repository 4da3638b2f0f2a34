"""FastAPI service: search, retrieve (RAG), articles, admin writes, health, and the page at ``/``.

:func:`create_app` only assembles: the lifespan (model and index loaded once), the body-size
limit (:mod:`search_api.body_limit`), the admin-token check before a write's body is read
(:mod:`search_api.admin_guard`), CORS, one router per feature (:mod:`search_api.routers`),
the error handlers (:mod:`search_api.errors`), the static files, ``/docs`` and ``/redoc``
from local assets (``fastapi-offline``) and the OpenAPI document
(:mod:`search_api.openapi_docs`). Blocking work (encoding, FAISS, SQLite) runs in the thread
pool, so the event loop never blocks.
Every 4xx/5xx answer has one JSON shape: ``{"error": {"status", "error", "message",
"field", "request_id"}}``. Every answer carries ``X-Request-ID``, and each request is one
JSON log line and counts in ``GET /metrics`` (:mod:`search_api.request_log`,
:mod:`search_api.metrics`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool

from indexer.settings import Settings

from .admin_guard import AdminGuardMiddleware
from .body_limit import BodyLimitMiddleware
from .edge_middleware import add_edge_middleware
from .errors import ERROR_RESPONSES, register_error_handlers
from .metrics import RequestMetrics
from .openapi_docs import build_openapi
from .request_log import RequestLog
from .retrieval import Searcher
from .routers import admin, articles, health, metrics, page, search
from .writes import ArticleWrites

API_DESCRIPTION = (
    "Semantic search over Vietnamese news: hybrid (dense + BM25) search, passages with "
    "numbered citations for chatbots (`/retrieve`), whole articles, and admin writes. "
    "Every 4xx/5xx answer has one JSON shape: "
    '`{"error": {"status", "error", "message", "field", "request_id"}}`; every answer '
    "carries an `X-Request-ID` header (the client's, when it sent a sane one).")
# Included in this order, with these tags: the order and the groups of /docs.
ROUTERS = ((search.router, "search"), (articles.router, "articles"), (health.router, "service"),
           (metrics.router, "service"), (admin.router, "admin"), (page.router, "page"))


SearcherFactory = Callable[[Path, Settings, Any], Searcher]


def create_app(settings: Settings, index_dir: Path, searcher: Searcher | None = None,
               searcher_factory: SearcherFactory = Searcher, encoder: Any = None) -> FastAPI:
    """Build the app for ``index_dir``; pass ``searcher`` to reuse a loaded one (tests).

    ``searcher_factory(path, settings, encoder)`` opens what is served: one index (the
    default) or, for ``serve --cluster``, a set of shards as one index. ``encoder``: a query
    encoder loaded already (``serve --workers``: loaded once, before the workers fork).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if searcher is not None:
            app.state.searcher = searcher
        else:
            from indexer.encoders import create_encoder  # heavy: only when serving

            loaded = encoder if encoder is not None else \
                await run_in_threadpool(create_encoder, settings)
            app.state.searcher = await run_in_threadpool(searcher_factory, index_dir, settings,
                                                         loaded)
        yield
        if searcher is None:
            app.state.searcher.close()

    # FastAPIOffline: /docs and /redoc load Swagger UI and ReDoc from the installed package
    # (mounted at /static-offline-docs), not from a CDN, so they work offline.
    app = FastAPIOffline(title="vnsearch", version=version("vnsearch"), lifespan=lifespan,
                         description=API_DESCRIPTION, responses=ERROR_RESPONSES)
    app.state.settings = settings
    app.state.writes = ArticleWrites(settings)
    app.state.metrics = RequestMetrics()

    # Innermost (inside CORS, so a browser sees its 401/403): the admin token of a write
    # route is checked before its body is read.
    app.add_middleware(AdminGuardMiddleware, check=admin.require_admin,
                       routes=[route for router, _ in ROUTERS for route in router.routes])
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST"], allow_headers=["*"])
    # Added after CORS, so it runs first: an oversized body is refused before anything else,
    # counted while it is read (chunked too).
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    # Host check (set by `vnsearch serve`, docs/service.md), security headers, HEAD.
    add_edge_middleware(app, settings.allowed_hosts)
    # Added last, so outermost: every answer, a refused body or a CORS preflight included,
    # gets its id, its log line and its count.
    app.add_middleware(RequestLog, observers=[app.state.metrics.observe])

    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    register_error_handlers(app)
    for router, tag in ROUTERS:
        app.include_router(router, tags=[tag])
    app.mount("/static", StaticFiles(directory=page.STATIC_DIR), name="static")
    return app
