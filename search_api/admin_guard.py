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
from collections.abc import Callable
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
    """Answer 401/403 for a route that depends on ``check`` before its body is read."""

    def __init__(self, app: ASGIApp, check: Callable[..., Any]) -> None:
        self.app = app
        self.check = check
        self._guarded: dict[int, bool] = {}  # id(route) -> whether it depends on check

    def _is_guarded(self, route: BaseRoute) -> bool:
        key = id(route)
        if key not in self._guarded:
            self._guarded[key] = _depends_on(getattr(route, "dependant", None), self.check)
        return self._guarded[key]

    def _route(self, scope: Scope) -> BaseRoute | None:
        """The route the router will hand the request to (its first full match)."""
        for route in scope["app"].router.routes:
            if route.matches(scope)[0] == Match.FULL:
                return route
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = self._route(scope)
            if route is not None and self._is_guarded(route):
                try:
                    check_admin_token(scope["app"].state.settings,
                                      Headers(scope=scope).get("authorization", ""))
                except AuthError as exc:
                    response = error_response(http_status(exc), exc.error_kind, str(exc))
                    response.headers["Connection"] = "close"  # its body is not read
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)
