"""``GET /metrics``: the Prometheus scrape (:mod:`search_api.metrics`).

Open by default, like ``/health`` (it publishes counts and timings, no article or query);
with ``VNSEARCH_METRICS_TOKEN`` set it needs ``Authorization: Bearer <token>``. A token of
its own, not the admin token: a scraper's credentials must not allow writes.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Request, Response
from pydantic import SecretStr
from starlette.concurrency import run_in_threadpool

from ..deps import SearcherDep, SettingsDep
from ..errors import AuthError, ForbiddenError, error_doc

router = APIRouter()

TEXT_EXAMPLE = ("# HELP vnsearch_http_requests_total HTTP requests answered, by method, "
                "route template and status.\n"
                "# TYPE vnsearch_http_requests_total counter\n"
                'vnsearch_http_requests_total{method="GET",route="/search",status="200"} 42.0\n')
METRICS_RESPONSES: dict[int | str, dict] = {
    200: {"description": "Prometheus text format (version 0.0.4)",
          "content": {"text/plain": {"example": TEXT_EXAMPLE}}},
    401: error_doc(401, "`VNSEARCH_METRICS_TOKEN` is set and no bearer token was sent",
                   "unauthorized", "missing 'Authorization: Bearer <token>' header", None),
    403: error_doc(403, "Wrong metrics token", "forbidden", "wrong metrics token", None),
}


def require_metrics_token(request: Request, settings: SettingsDep) -> None:
    """Nothing to check unless ``metrics_token`` is set; then a bearer token equal to it
    (compared in constant time)."""
    secret = settings.metrics_token
    token = secret.get_secret_value() if isinstance(secret, SecretStr) else str(secret or "")
    if not token:
        return
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        raise AuthError("missing 'Authorization: Bearer <token>' header")
    if not hmac.compare_digest(header[7:].strip().encode(), token.encode()):
        raise ForbiddenError("wrong metrics token")


@router.get("/metrics", response_class=Response, responses=METRICS_RESPONSES,
            dependencies=[Depends(require_metrics_token)],
            summary="Prometheus metrics (all workers): requests, latency, searches, index")
async def metrics(request: Request, searcher: SearcherDep) -> Response:
    """The Prometheus text format: requests by route and status, latency by route and mode,
    searches and empty searches, write durations, the index's articles, passages and
    generation, worker restarts; counted over every worker. Open unless
    `VNSEARCH_METRICS_TOKEN` is set (then `Authorization: Bearer <token>`)."""
    await run_in_threadpool(searcher.maybe_reload, 0.0)  # the latest committed generation
    body, content_type = await run_in_threadpool(request.app.state.metrics.exposition, searcher)
    return Response(body, media_type=content_type)
