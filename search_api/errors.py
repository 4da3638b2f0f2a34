"""The API's one error shape and the exception handlers that produce it.

Every 4xx/5xx answer is ``{"error": {"status", "error", "message", "field"}}``. A domain
exception (:class:`~indexer.errors.VnsearchError`) carries its own ``http_status`` and
``error_kind``, so the handler needs no table; FastAPI's validation errors, Starlette's HTTP
errors (unknown route, wrong method) and unexpected exceptions are mapped here.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from indexer.errors import VnsearchError


class AuthError(VnsearchError):
    """A write without a valid admin token: the header is missing (401)."""

    http_status = 401
    error_kind = "unauthorized"


class ForbiddenError(AuthError):
    """A write with a wrong admin token, or writes disabled on this server (403)."""

    http_status = 403
    error_kind = "forbidden"


class SearchTimeoutError(VnsearchError):
    """A search ran past ``Settings.request_timeout_s`` (503: the service is busy)."""

    http_status = 503
    error_kind = "timeout"


def error_response(status: int, kind: str, message: str, field: str | None = None) -> JSONResponse:
    """The one JSON error answer: ``{"error": {"status", "error", "message", "field"}}``."""
    return JSONResponse(status_code=status,
                        content={"error": {"status": status, "error": kind, "message": message,
                                           "field": field}})


async def vnsearch_error(request: Request, exc: VnsearchError) -> JSONResponse:
    """A domain error: its own status and kind; ``field`` when it names a parameter."""
    return error_response(exc.http_status, exc.error_kind, str(exc), getattr(exc, "field", None))


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """The first validation error, as ``"<field>: <pydantic message>"`` with its field."""
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


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Routing errors (unknown path, wrong method) in the same shape."""
    kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, kind, str(exc.detail))


async def unexpected(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - a bug
    """A bug: a 500 in the error shape, naming the exception type but not its details."""
    return error_response(500, "internal_error", f"{type(exc).__name__}: internal error")


def register_error_handlers(app: FastAPI) -> None:
    """Install the handlers above on ``app``."""
    app.add_exception_handler(VnsearchError, vnsearch_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
