"""The admin token, checked before a write route reads its body (pure ASGI).

FastAPI reads and parses a request body *before* it runs the route's dependencies, so a
token check done only as a dependency let anyone make the server read (and parse) a
body as large as the body limit, or a chunked one for as long as it lasted, before the
401. :class:`AdminGuardMiddleware` finds the route a request will reach, as the router
does (the first route that matches path and method), and when that route depends on the
admin check (:func:`search_api.routers.admin.require_admin`, any route that declares it)
runs :func:`check_admin_token` first: a refusal is sent without receiving any of the body.
The dependency stays on the routes (the OpenAPI document, and code that mounts the routers
without this middleware).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import SecretStr
from starlette.datastructures import Headers
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from indexer.settings import Settings

from .errors import AuthError, ForbiddenError, error_response, http_status


def check_admin_token(settings: Settings, authorization: str) -> None:
    """Writes are off unless VNSEARCH_ADMIN_TOKEN is set; ``authorization`` (the header's
    value) must be ``Bearer <token>``, compared in constant time. Raises AuthError (401)
    or ForbiddenError (403)."""
    secret = settings.admin_token
    token = secret.get_secret_value() if isinstance(secret, SecretStr) else str(secret or "")
    if not token:
        raise ForbiddenError("writes are disabled (set VNSEARCH_ADMIN_TOKEN to enable them)")
    if not authorization.lower().startswith("bearer "):
        raise AuthError("missing 'Authorization: Bearer <token>' header")
    if not hmac.compare_digest(authorization[7:].strip().encode(), token.encode()):
        raise ForbiddenError("wrong admin token")


def _depends_on(dependant: Any, check: Callable[..., Any]) -> bool:
    """Whether ``check`` is among a FastAPI dependant's dependencies, at any depth."""
    return any(dep.call is check or _depends_on(dep, check)
               for dep in getattr(dependant, "dependencies", ()))


class AdminGuardMiddleware:
    """Answer 401/403 for a route that depends on ``check`` before its body is read.

    ``routes``: the app's routes as mounted at its root, in the router's order (FastAPI
    keeps an included router as one opaque entry of ``app.router.routes``, so the app
    passes its routers' own routes). The request goes to the first one whose path and
    method match, as in the router; the guard acts when that one depends on ``check``.
    """

    def __init__(self, app: ASGIApp, check: Callable[..., Any],
                 routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = list(routes)
        self.guarded = {id(r) for r in self.routes
                        if _depends_on(getattr(r, "dependant", None), check)}

    def _route(self, scope: Scope) -> BaseRoute | None:
        """The route the request goes to (the first full match), if one of ``routes``."""
        for route in self.routes:
            if route.matches(scope)[0] == Match.FULL:
                return route
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = self._route(scope)
            if route is not None and id(route) in self.guarded:
                try:
                    check_admin_token(scope["app"].state.settings,
                                      Headers(scope=scope).get("authorization", ""))
                except AuthError as exc:
                    response = error_response(http_status(exc), exc.error_kind, str(exc))
                    response.headers["Connection"] = "close"  # its body is not read
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)
