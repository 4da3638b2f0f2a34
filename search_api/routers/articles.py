"""Read routes: one whole article (``GET /articles/{id}``) and the facets (``GET /facets``)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from ..deps import SearcherDep
from ..schemas import ArticleResponse, FacetsResponse

router = APIRouter()


@router.get("/articles/{article_id}", response_model=ArticleResponse,
            summary="Whole cleaned article with metadata and passage offsets")
async def get_article(article_id: str, searcher: SearcherDep) -> ArticleResponse:
    view = await run_in_threadpool(searcher.article, article_id)
    return ArticleResponse.from_view(view)


@router.get("/facets", response_model=FacetsResponse, summary="Outlets and categories")
async def facets(searcher: SearcherDep) -> FacetsResponse:
    return FacetsResponse(**await run_in_threadpool(searcher.facets))
