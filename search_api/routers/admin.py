"""Admin writes: ``POST /articles`` (add/update) and ``DELETE /articles/{id}``.

Writes are off unless ``VNSEARCH_ADMIN_TOKEN`` is set, and then need
``Authorization: Bearer <token>`` (checked before the body is read, see
:mod:`search_api.admin_guard`); the routes only check that and call
:class:`search_api.writes.ArticleWrites`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPBearer
from starlette.concurrency import run_in_threadpool

from ..admin_guard import check_admin_token
from ..deps import SearcherDep, SettingsDep
from ..errors import AUTH_RESPONSES
from ..schemas import ArticleIn, ArticlesIn, WriteResponse
from ..writes import ArticleWrites

router = APIRouter(responses=AUTH_RESPONSES)
# Declares the bearer scheme in the OpenAPI document only (auto_error=False): require_admin
# does the checking, so the answers keep their messages and the 401/403 split.
BEARER = HTTPBearer(auto_error=False, scheme_name="adminToken",
                    description="The server's VNSEARCH_ADMIN_TOKEN.")


def require_admin(request: Request, settings: SettingsDep) -> None:
    """Writes are off unless VNSEARCH_ADMIN_TOKEN is set; compare in constant time.

    The app's :class:`~search_api.admin_guard.AdminGuardMiddleware` runs this same check
    for every route that depends on this function before the body is read (FastAPI reads
    it before dependencies); here it guards the routes wherever they are mounted.
    """
    check_admin_token(settings, request.headers.get("authorization", ""))


def get_writes(request: Request) -> ArticleWrites:
    """The app's write handler (its lock serialises the app's writes)."""
    return request.app.state.writes


WritesDep = Annotated[ArticleWrites, Depends(get_writes)]


@router.post("/articles", response_model=WriteResponse,
             dependencies=[Depends(BEARER), Depends(require_admin)],
             summary="Add or update articles (admin token); durable when acknowledged",
             description="One article or a batch (`{\"articles\": [...]}`, see its "
                         "`maxItems`). An article with a known id or URL is updated; the "
                         "same text again is `unchanged`. The answer comes after the commit: "
                         "an acknowledged write is durable and visible to the next search.")
async def post_articles(body: ArticlesIn | ArticleIn, searcher: SearcherDep,
                        writes: WritesDep) -> WriteResponse:
    items = body.articles if isinstance(body, ArticlesIn) else [body]
    return await run_in_threadpool(writes.add, searcher, items)


@router.delete("/articles/{article_id}", response_model=WriteResponse,
               dependencies=[Depends(BEARER), Depends(require_admin)],
               summary="Delete an article (admin token)",
               description="Removes the article and its passages; 404 when there is no such "
                           "article. Durable when acknowledged.")
async def delete_article(article_id: str, searcher: SearcherDep,
                         writes: WritesDep) -> WriteResponse:
    return await run_in_threadpool(writes.delete, searcher, article_id)
