"""The ASGI middleware at the service's network edge: trusted ``Host`` names, security
headers on every answer, and ``HEAD`` on every ``GET`` route.

They are plain ASGI wrappers (no ``BaseHTTPMiddleware``), added by
:func:`search_api.app.create_app`; what ``vnsearch serve`` sets and why is in
docs/service.md ("Running on a network").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_response

#: Content-Security-Policy of the page and the API: scripts, styles, fetches only from this
#: origin (the page has no inline script, style or handler), never framed.
STRICT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
              "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
              "frame-ancestors 'none'")
#: ``/docs`` and ``/redoc`` (fastapi-offline) start Swagger UI and ReDoc with an inline
#: script, ReDoc injects styles and runs a worker from a blob: still this origin only.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
DOCS_PATHS = ("/docs", "/redoc")
#: Set on every answer (a header the app set itself is kept).
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}

# A Host header: a name or IPv4 address, or a bracketed IPv6 address; an optional port.
_HOST = re.compile(r"^(?:\[(?P<v6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9_.-]+))(?::[0-9]{1,5})?$")


def host_name(header: str | None) -> str | None:
    """The host of a ``Host`` header, lowercased, without port, brackets or a final dot;
    None when malformed (userinfo, a path, spaces…) or missing."""
    if not header:
        return None
    match = _HOST.match(header.strip().lower())
    if match is None:
        return None
    return match["v6"] or match["name"].rstrip(".")


def host_allowed(host: str, patterns: Iterable[str]) -> bool:
    """Whether ``host`` matches one of ``patterns``: a name or address, ``*.domain`` (any
    subdomain of it) or ``*`` (any)."""
    for pattern in patterns:
        pattern = pattern.strip().lower().strip("[]")
        if pattern == "*" or host == pattern:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False


class TrustedHosts:
    """Answer 400 (the one JSON error shape) to a request whose ``Host`` is not allowed.

    Starlette's ``TrustedHostMiddleware`` answers in plain text, hence this one: a browser
    tricked by DNS rebinding into sending a page's requests here sends the attacker's name.
    """

    def __init__(self, app: ASGIApp, allowed: list[str]) -> None:
        self.app = app
        self.allowed = list(allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = host_name(Headers(scope=scope).get("host"))
            if host is None or not host_allowed(host, self.allowed):
                response = error_response(400, "invalid_host",
                                          "Host header not allowed on this server "
                                          "(VNSEARCH_ALLOWED_HOSTS)", "host")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Add the Content-Security-Policy (per path, see :data:`DOCS_PATHS`) and
    :data:`SECURITY_HEADERS` to every HTTP answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        docs = any(path == p or path.startswith(p + "/") for p in DOCS_PATHS)
        policy = DOCS_CSP if docs else STRICT_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-security-policy", policy)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HeadAsGet:
    """Answer ``HEAD`` as the same ``GET`` would, without its body (FastAPI routes declare
    GET only; RFC 9110 asks a server to support HEAD wherever it supports GET)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] != "http.response.body":
                await send(message)
            elif not message.get("more_body", False):
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


def add_edge_middleware(app: Any, allowed: list[str] | None) -> None:
    """Add the three to ``app`` (after its other middleware, so they run first): security
    headers outermost (a refused Host gets them too), then the Host check (only when
    ``allowed`` is given and not ``["*"]``), then HEAD."""
    app.add_middleware(HeadAsGet)
    if allowed and "*" not in allowed:
        app.add_middleware(TrustedHosts, allowed=allowed)
    app.add_middleware(SecurityHeaders)
