"""FastAPI service: search, retrieve (RAG), articles, health, and the web page at ``/``.

The model and the index are loaded once, in the lifespan; blocking work (encoding, FAISS,
SQLite) runs in the thread pool with a per-request timeout, so the event loop never blocks.
Every 4xx/5xx answer has one JSON shape: ``{"error": {"status", "error", "message", "field"}}``.
"""

from __future__ import annotations

import asyncio
import hmac
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from indexer.errors import NotFoundError, QueryError, VnsearchError
from indexer.settings import Settings

from .schemas import (ArticleIn, ArticleResponse, ArticlesIn, ErrorResponse, FacetsResponse,
                      HealthResponse, RetrieveBody, RetrievedPassage, RetrieveResponse,
                      SearchBody, SearchResponse, WriteResponse)
from .search import SearchRequest, Searcher

STATIC_DIR = Path(__file__).parent / "static"
ERROR_RESPONSES = {code: {"model": ErrorResponse} for code in (400, 404, 413, 422, 500, 503)}


class AuthError(VnsearchError):
    """Missing (401) or wrong (403) admin token, or writes disabled (403)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.http_status = status


def get_searcher(request: Request) -> Searcher:
    """The app's one Searcher (model and index loaded in the lifespan)."""
    return request.app.state.searcher


# Module level: with postponed annotations FastAPI resolves this name in module globals.
SearcherDep = Annotated[Searcher, Depends(get_searcher)]


def error_response(status: int, kind: str, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse(status_code=status,
                        content={"error": {"status": status, "error": kind, "message": message,
                                           "field": field}})


def _kind(exc: VnsearchError) -> str:
    return {422: "invalid_request", 404: "not_found", 409: "conflict", 401: "unauthorized",
            403: "forbidden", 503: "timeout"}.get(exc.http_status, "index_error")


def create_app(settings: Settings, index_dir: Path, searcher: Searcher | None = None) -> FastAPI:
    """Build the app for ``index_dir``; pass ``searcher`` to reuse a loaded one (tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if searcher is not None:
            app.state.searcher = searcher
        else:
            from indexer.encoders import create_encoder

            encoder = await run_in_threadpool(create_encoder, settings)
            app.state.searcher = await run_in_threadpool(Searcher, index_dir, settings, encoder)
        yield
        if searcher is None:
            app.state.searcher.close()

    app = FastAPI(title="vnsearch", version="0.1.0", lifespan=lifespan,
                  description="Semantic search over Vietnamese news.", responses=ERROR_RESPONSES)
    app.state.settings = settings

    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST"], allow_headers=["*"])

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return error_response(400, "invalid_request", "bad Content-Length header")
            if int(length) > settings.max_body_bytes:
                return error_response(413, "payload_too_large",
                                      f"request body over {settings.max_body_bytes} bytes")
        return await call_next(request)

    @app.exception_handler(VnsearchError)
    async def vnsearch_error(request: Request, exc: VnsearchError):
        return error_response(exc.http_status, _kind(exc), str(exc), getattr(exc, "field", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        first = errors[0] if errors else {}
        loc = [str(p) for p in first.get("loc", ())]
        if loc and loc[0] in ("query", "body", "path", "header"):
            loc = loc[1:]  # the location kind, not a field (a body field may be named "query")
        if first.get("type") == "json_invalid":
            return error_response(422, "invalid_request",
                                  f"body: not valid JSON ({first.get('msg', 'decode error')})", None)
        field = loc[0] if loc else None
        message = f"{'.'.join(loc) or 'request'}: {first.get('msg', 'invalid')}"
        return error_response(422, "invalid_request", message, field)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, kind, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):  # pragma: no cover - a bug
        return error_response(500, "internal_error", f"{type(exc).__name__}: internal error")

    async def run_search(searcher: Searcher, req: SearchRequest):
        try:
            return await asyncio.wait_for(run_in_threadpool(searcher.search, req),
                                          timeout=settings.request_timeout_s)
        except asyncio.TimeoutError:
            exc = VnsearchError(f"search took longer than {settings.request_timeout_s} s")
            exc.http_status = 503
            raise exc from None

    @app.get("/search", response_model=SearchResponse, summary="Search (query parameters)")
    async def search_get(
        searcher: SearcherDep,
        q: Annotated[str, Query(description="Query text, 1–1000 characters.")] = "",
        k: Annotated[int, Query(description="Results per page, 1–100.")] = 10,
        offset: Annotated[int, Query(description="Results to skip (pagination).")] = 0,
        mode: Annotated[str, Query(description="hybrid | dense | lexical")] = "hybrid",
        source: str | None = None,
        category: str | None = None,
        date_from: Annotated[str | None, Query(description="ISO date, inclusive.")] = None,
        date_to: Annotated[str | None, Query(description="ISO date, inclusive.")] = None,
        group: bool = True,
    ) -> SearchResponse:
        req = SearchRequest(query=q, k=k, offset=offset, mode=mode, source=source,
                            category=category, date_from=date_from, date_to=date_to, group=group)
        return SearchResponse.from_result(await run_search(searcher, req))

    @app.post("/search", response_model=SearchResponse, summary="Search (JSON body)")
    async def search_post(body: SearchBody, searcher: SearcherDep) -> SearchResponse:
        req = SearchRequest(query=body.q, k=body.k, offset=body.offset, mode=body.mode,
                            source=body.source, category=body.category, date_from=body.date_from,
                            date_to=body.date_to, group=body.group)
        return SearchResponse.from_result(await run_search(searcher, req))

    @app.post("/retrieve", response_model=RetrieveResponse,
              summary="Passages with numbered citations for a chatbot, within a character budget")
    async def retrieve(body: RetrieveBody, searcher: SearcherDep) -> RetrieveResponse:
        if not 1 <= body.max_chars <= 100_000:
            raise QueryError("max_chars: must be between 1 and 100000", field="max_chars")
        req = SearchRequest(query=body.query, k=body.k, mode=body.mode)
        try:
            result = await run_search(searcher, req)
        except QueryError as exc:
            if exc.field == "q":
                raise QueryError(str(exc).replace("q:", "query:", 1), field="query") from None
            raise
        passages, citations, blocks, used = [], [], [], 0
        for hit in result.results:
            text = hit.text
            room = body.max_chars - used
            if room <= 0:
                break
            if len(text) > room:
                if passages:
                    break
                text = text[:room].rsplit(" ", 1)[0] if " " in text[:room] else text[:room]
            n = len(passages) + 1
            passages.append(RetrievedPassage(citation=n, text=text, article_id=hit.article_id,
                                             title=hit.title, url=hit.url, source=hit.source,
                                             published=hit.published, score=hit.score))
            citations.append(f"[{n}] {hit.title or '(không có tiêu đề)'} — {hit.url or hit.source or ''}"
                             .rstrip(" —"))
            blocks.append(f"[{n}] {text}")
            used += len(text)
        return RetrieveResponse(query=result.query, took_ms=result.took_ms, passages=passages,
                                citations=citations, context="\n\n".join(blocks))

    @app.get("/articles/{article_id}", response_model=ArticleResponse,
             summary="Whole cleaned article with metadata and passage offsets")
    async def get_article(article_id: str, searcher: SearcherDep) -> ArticleResponse:
        view = await run_in_threadpool(searcher.article, article_id)
        return ArticleResponse.from_view(view)

    @app.get("/facets", response_model=FacetsResponse, summary="Outlets and categories")
    async def facets(searcher: SearcherDep) -> FacetsResponse:
        return FacetsResponse(**await run_in_threadpool(searcher.facets))

    @app.get("/health", response_model=HealthResponse, summary="Model, index counts, uptime")
    async def health(searcher: SearcherDep) -> HealthResponse:
        await run_in_threadpool(searcher.maybe_reload, 0.0)
        snap = searcher.snapshot
        from indexer import store

        n = await run_in_threadpool(lambda: store.counts(searcher._conn()))
        return HealthResponse(status="ok", model=snap.manifest.model_name,
                              model_id=snap.manifest.model_id, dimension=snap.manifest.dimension,
                              articles=n["articles"], passages=n["passages"],
                              index_format=snap.manifest.format_version,
                              vector_index=snap.manifest.vector_index,
                              lexical_index=searcher.lexical_backend,
                              generation=snap.generation,
                              uptime_s=round(time.time() - searcher.started, 1))

    write_lock = threading.Lock()

    def require_admin(request: Request) -> None:
        """Writes are off unless VNSEARCH_ADMIN_TOKEN is set; compare in constant time."""
        secret = settings.admin_token
        token = secret.get_secret_value() if hasattr(secret, "get_secret_value") else (secret or "")
        if not token:
            raise AuthError("writes are disabled (set VNSEARCH_ADMIN_TOKEN to enable them)", 403)
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            raise AuthError("missing 'Authorization: Bearer <token>' header", 401)
        if not hmac.compare_digest(header[7:].strip().encode(), token.encode()):
            raise AuthError("wrong admin token", 403)

    def write(searcher: Searcher, action) -> WriteResponse:
        from indexer.writer import IndexWriter

        with write_lock:
            writer = IndexWriter(searcher.directory, settings, searcher.encoder)
            writer.open(wait_s=5.0)  # another writer's batch is short: wait, don't fail
            try:
                summary = action(writer)
                generation = writer.manifest.generation
            finally:
                writer.close()
            searcher.maybe_reload(0.0)
        return WriteResponse(added=summary.added, updated=summary.updated,
                             unchanged=summary.unchanged, duplicates=summary.duplicates,
                             skipped=summary.skipped, deleted=summary.deleted,
                             passages_added=summary.passages_added,
                             passages_removed=summary.passages_removed,
                             article_ids=summary.article_ids, generation=generation)

    @app.post("/articles", response_model=WriteResponse, dependencies=[Depends(require_admin)],
              summary="Add or update articles (admin token); durable when acknowledged")
    async def post_articles(body: ArticlesIn | ArticleIn, searcher: SearcherDep) -> WriteResponse:
        from indexer.article import Article

        items = body.articles if isinstance(body, ArticlesIn) else [body]
        if not items:
            raise QueryError("articles: empty batch", field="articles")
        if len(items) > settings.max_batch_articles:
            raise QueryError(f"articles: at most {settings.max_batch_articles} per request",
                             field="articles")
        articles = [Article(id=a.id or "", title=a.title, text=a.text, url=a.url, source=a.source,
                            published=a.published, category=a.category) for a in items]
        return await run_in_threadpool(write, searcher, lambda w: w.add_articles(articles))

    @app.delete("/articles/{article_id}", response_model=WriteResponse,
                dependencies=[Depends(require_admin)], summary="Delete an article (admin token)")
    async def delete_article(article_id: str, searcher: SearcherDep) -> WriteResponse:
        result = await run_in_threadpool(write, searcher, lambda w: w.delete([article_id]))
        if not result.deleted:
            raise NotFoundError(f"article {article_id!r} not found")
        return result

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
