"""``GET /health``: the model, the index's counts and generation, uptime."""

from __future__ import annotations

import time

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from ..deps import SearcherDep
from ..schemas import HealthResponse

router = APIRouter()


@router.get("/health", response_model=HealthResponse, summary="Model, index counts, uptime")
async def health(searcher: SearcherDep) -> HealthResponse:
    await run_in_threadpool(searcher.maybe_reload, 0.0)  # report the latest committed generation
    snap = searcher.snapshot
    n = await run_in_threadpool(searcher.counts)
    return HealthResponse(status="ok", model=snap.manifest.model_name,
                          model_id=snap.manifest.model_id, dimension=snap.manifest.dimension,
                          articles=n["articles"], passages=n["passages"],
                          index_format=snap.manifest.format_version,
                          vector_index=snap.manifest.vector_index,
                          lexical_index=searcher.lexical_backend,
                          generation=snap.generation,
                          uptime_s=round(time.time() - searcher.started, 1))
