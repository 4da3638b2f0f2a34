"""Search routes: ``GET /search``, ``POST /search`` and ``POST /retrieve`` (RAG).

Searches run in the thread pool under the per-request timeout (``request_timeout_s``): a slow
search answers 503 and leaves the event loop free for the others.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from indexer.settings import Settings

from ..deps import SearcherDep, SettingsDep
from ..errors import SearchTimeoutError
from ..rag import retrieve as rag_retrieve
from ..request_context import note_search
from ..retrieval import Searcher, SearchRequest, SearchResult
from ..schemas import (
    RetrieveBody,
    RetrieveResponse,
    SearchBody,
    SearchParams,
    SearchResponse,
    answer,
)

router = APIRouter()


async def run_search(searcher: Searcher, req: SearchRequest, settings: Settings) -> SearchResult:
    """``searcher.search(req)`` in the thread pool; SearchTimeoutError past the timeout."""
    try:
        result = await asyncio.wait_for(run_in_threadpool(searcher.search, req),
                                        timeout=settings.request_timeout_s)
    except TimeoutError:
        raise SearchTimeoutError(
            f"search took longer than {settings.request_timeout_s} s") from None
    note_search(result.mode, result.total)  # for the request's log line and the metrics
    return result


@router.get("/search", response_model=SearchResponse, summary="Search (query parameters)")
async def search_get(params: Annotated[SearchParams, Query()], searcher: SearcherDep,
                     settings: SettingsDep) -> SearchResponse:
    return answer(SearchResponse, await run_search(searcher, params.to_request(), settings))


@router.post("/search", response_model=SearchResponse, summary="Search (JSON body)")
async def search_post(body: SearchBody, searcher: SearcherDep,
                      settings: SettingsDep) -> SearchResponse:
    return answer(SearchResponse, await run_search(searcher, body.to_request(), settings))


@router.post("/retrieve", response_model=RetrieveResponse,
             summary="Passages with numbered citations for a chatbot, within a budget")
async def retrieve(body: RetrieveBody, searcher: SearcherDep,
                   settings: SettingsDep) -> RetrieveResponse:
    """Answer passages (several per article when that is where the answer is), optional
    neighbours, within ``max_chars`` / ``max_tokens``; README "POST /retrieve"."""
    req = body.to_request()
    try:
        retrieval = await asyncio.wait_for(run_in_threadpool(rag_retrieve, searcher, req),
                                           timeout=settings.request_timeout_s)
    except TimeoutError:
        raise SearchTimeoutError(
            f"search took longer than {settings.request_timeout_s} s") from None
    note_search(str(req.search.get("mode") or "hybrid"), len(retrieval.passages))
    return answer(RetrieveResponse, retrieval)
