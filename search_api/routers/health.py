"""``GET /health``: the model, the index's counts and generation, uptime."""

from __future__ import annotations

import os
import time

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from ..deps import SearcherDep
from ..schemas import HealthResponse, ShardHealth

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
                          uptime_s=round(time.time() - searcher.started, 1),
                          pid=os.getpid(),
                          shards=await run_in_threadpool(_shards, searcher))


def _shards(searcher: object) -> list[ShardHealth] | None:
    """Per-shard state when a set of shards is served (``serve --cluster``), else None."""
    health = getattr(searcher, "shard_health", None)
    return None if health is None else [ShardHealth(**shard) for shard in health()]
