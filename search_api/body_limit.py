"""The request-body limit, enforced while the body is read (pure ASGI).

An HTTP middleware that only looks at ``Content-Length`` lets a *chunked* body through:
FastAPI then reads all of it into memory before anything can refuse it (a 200 MB body cost
a worker 500 MB). :class:`BodyLimitMiddleware` refuses a ``Content-Length`` over
``Settings.max_body_bytes`` up front (413; a malformed one is a 400, as before) and counts
the bytes of every ``http.request`` message as the app receives them: the message that
crosses the limit gets the 413 sent at once, and the read fails, so the rest of the body is
never read nor buffered (the server closes the connection after the answer).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_response


class BodyTooLargeError(Exception):
    """Raised into the app by ``receive`` once the body crosses the limit (the 413 is
    already sent; whatever the app answers to the failed read is dropped)."""


@dataclass
class _Progress:
    """One request's count of body bytes, and whether an answer has gone out."""

    received: int = 0
    started: bool = False  # the app began its answer
    refused: bool = False  # the 413 went out instead


class BodyLimitMiddleware:
    """Refuse an HTTP request body over ``max_bytes`` (413) without reading the rest."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        length = Headers(scope=scope).get("content-length")
        if length is not None:
            if not length.isdigit():
                await error_response(400, "invalid_request", "bad Content-Length header")(
                    scope, receive, send)
                return
            if int(length) > limit:
                await self._refuse(scope, receive, send)
                return
        state = _Progress()

        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state.received += len(message.get("body", b""))
                if state.received > limit:
                    if not state.started:
                        state.refused = True
                        await self._refuse(scope, receive, send)
                    raise BodyTooLargeError(f"request body over {limit} bytes")
            return message

        async def guarded_send(message: Message) -> None:
            if state.refused:
                return  # the 413 is the answer; the app's reply to the failed read is not
            if message["type"] == "http.response.start":
                state.started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLargeError:
            if not state.refused and not state.started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, "payload_too_large",
                                  f"request body over {self.max_bytes} bytes")
        response.headers["Connection"] = "close"  # the unread rest of the body is not wanted
        await response(scope, receive, send)
