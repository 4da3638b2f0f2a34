"""Read routes: one whole article (``GET /articles/{id}``), its related coverage
(``GET /articles/{id}/related``) and the facets (``GET /facets``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from ..deps import SearcherDep
from ..retrieval.related import MAX_RELATED
from ..schemas import ArticleResponse, FacetsResponse, RelatedResponse, answer

router = APIRouter()


@router.get("/articles/{article_id}", response_model=ArticleResponse,
            summary="Whole cleaned article with metadata and passage offsets")
async def get_article(article_id: str, searcher: SearcherDep) -> ArticleResponse:
    view = await run_in_threadpool(searcher.article, article_id)
    return answer(ArticleResponse, view)


@router.get("/articles/{article_id}/related", response_model=RelatedResponse,
            summary="Other stories on the same event or topic, newest first")
async def related(article_id: str, searcher: SearcherDep,
                  k: Annotated[int, Query(ge=1, le=MAX_RELATED)] = 10) -> RelatedResponse:
    """Title + lead of the article searched (hybrid, one hit per story), its own story left
    out, a calibrated-relevance cut-off, newest first; k 1–50; 404 for an unknown id."""
    result = await run_in_threadpool(searcher.related, article_id, k)
    return answer(RelatedResponse, result)


@router.get("/facets", response_model=FacetsResponse, summary="Outlets and categories")
async def facets(searcher: SearcherDep) -> FacetsResponse:
    return FacetsResponse(**await run_in_threadpool(searcher.facets))
