"""The API's one error shape and the exception handlers that produce it.

Every 4xx/5xx answer is ``{"error": {"status", "error", "message", "field", "request_id"}}``
(``request_id``: the answer's ``X-Request-ID``, :mod:`.request_context`). A domain
exception (:class:`~indexer.errors.VnsearchError`) carries its ``error_kind``; its status
comes from :data:`HTTP_STATUS` here, so the lower layer knows nothing of HTTP. FastAPI's
validation errors, Starlette's HTTP errors (unknown route, wrong method) and unexpected
exceptions are mapped here too.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from indexer.errors import (
    IndexFormatError,
    IndexLockedError,
    IndexNotFoundError,
    ModelError,
    ModelMismatchError,
    NotFoundError,
    QueryError,
    ReadOnlyError,
    VnsearchError,
)

from .request_context import current_request_id
from .schemas import ErrorResponse

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


class AuthError(VnsearchError):
    """A write without a valid admin token: the header is missing (401)."""

    error_kind = "unauthorized"


class ForbiddenError(AuthError):
    """A write with a wrong admin token, or writes disabled on this server (403)."""

    error_kind = "forbidden"


class SearchTimeoutError(VnsearchError):
    """A search ran past ``Settings.request_timeout_s`` (503: the service is busy)."""

    error_kind = "timeout"


#: The HTTP status of each domain error class; a class not listed takes its nearest listed
#: base class's (:func:`http_status`), and a plain ``VnsearchError`` (bad input) is a 400.
HTTP_STATUS: dict[type[VnsearchError], int] = {
    VnsearchError: 400,
    ModelError: 500,
    IndexNotFoundError: 404,
    IndexFormatError: 500,
    ModelMismatchError: 500,
    IndexLockedError: 409,
    QueryError: 422,
    NotFoundError: 404,
    ReadOnlyError: 409,
    AuthError: 401,
    ForbiddenError: 403,
    SearchTimeoutError: 503,
}


def http_status(exc: VnsearchError) -> int:
    """The status of ``exc``: its class's in :data:`HTTP_STATUS`, else its nearest base's."""
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return HTTP_STATUS[VnsearchError]


def error_response(status: int, kind: str, message: str, field: str | None = None) -> JSONResponse:
    """The one JSON error answer: ``{"error": {"status", "error", "message", "field",
    "request_id"}}``, with the id of the request being answered."""
    return JSONResponse(status_code=status,
                        content={"error": {"status": status, "error": kind, "message": message,
                                           "field": field, "request_id": current_request_id()}})


ERROR_EXAMPLES = {
    400: ("Bad request (a malformed Content-Length header)", "invalid_request",
          "bad Content-Length header", None),
    404: ("Unknown path, or no such article", "not_found", "article 'x' not found", None),
    413: ("Request body over the server's limit", "payload_too_large",
          "request body over 5000000 bytes", None),
    422: ("A parameter or body field is invalid; `field` names it", "invalid_request",
          "k: must be between 1 and 100", "k"),
    500: ("A bug in the server", "internal_error", "ValueError: internal error", None),
    503: ("The search took longer than the server's timeout", "timeout",
          "search took longer than 10.0 s", None),
}


EXAMPLE_REQUEST_ID = "3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b"


def error_doc(status: int, description: str, kind: str, message: str,
              field: str | None) -> dict:
    """One documented error answer: the one error shape, with an example."""
    example = {"error": {"status": status, "error": kind, "message": message, "field": field,
                         "request_id": EXAMPLE_REQUEST_ID}}
    return {"model": ErrorResponse, "description": description,
            "content": {"application/json": {"example": example}}}


# The error answers every operation may give (app-wide); the admin routes add 401 and 403.
ERROR_RESPONSES = {code: error_doc(code, *doc) for code, doc in ERROR_EXAMPLES.items()}
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: error_doc(401, "No `Authorization: Bearer <token>` header", "unauthorized",
                   "missing 'Authorization: Bearer <token>' header", None),
    403: error_doc(403, "Wrong admin token, or writes disabled on this server", "forbidden",
                   "wrong admin token", None),
}


async def vnsearch_error(request: Request, exc: VnsearchError) -> JSONResponse:
    """A domain error: its own status and kind; ``field`` when it names a parameter."""
    return error_response(http_status(exc), exc.error_kind, str(exc), getattr(exc, "field", None))


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


def allowed_methods(request: Request) -> str:
    """The ``Allow`` header of a 405: every method some route answers on the request's path.

    Starlette names only the first matching route's methods, but ``/search`` has a GET and a
    POST route; RFC 9110 wants them all. Asking the router for each method works whatever
    wraps the routes (FastAPI nests included routers).
    """
    allowed = []
    for method in HTTP_METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    if "GET" in allowed and "HEAD" not in allowed:  # answered by edge_middleware.HeadAsGet
        allowed.insert(allowed.index("GET") + 1, "HEAD")
    return ", ".join(allowed)


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Routing errors (unknown path, wrong method) in the same shape, with their headers."""
    kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    response = error_response(exc.status_code, kind, str(exc.detail))
    response.headers.update(exc.headers or {})
    if exc.status_code == 405:
        response.headers["Allow"] = allowed_methods(request)
    return response


async def unexpected(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - a bug
    """A bug: a 500 in the error shape, naming the exception type but not its details."""
    return error_response(500, "internal_error", f"{type(exc).__name__}: internal error")


def register_error_handlers(app: FastAPI) -> None:
    """Install the handlers above on ``app``."""
    # Starlette's types want handlers of any Exception; each is called with its own class.
    app.add_exception_handler(VnsearchError, vnsearch_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, unexpected)
