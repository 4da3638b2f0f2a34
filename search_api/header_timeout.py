"""A deadline on reading request headers, which uvicorn does not have.

uvicorn times out an idle keep-alive connection but not one that sends its request headers
slowly (a byte every few seconds: "slowloris"), so a few hundred such clients hold as many
connections open for as long as they like. :class:`HeaderTimeoutProtocol` is uvicorn's own
HTTP protocol (httptools, or h11 where httptools is missing) with one timer per connection:
armed when the connection opens and again after each answer, it closes the connection when
it fires while no request is being answered — that is, when the next request's headers
are not complete ``header_timeout_s`` seconds later. A request whose headers arrived is
never cut by it (the app's own ``request_timeout_s`` bounds that).

``vnsearch serve`` passes it to uvicorn as ``http=`` (:func:`search_api.network.uvicorn_options`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _BaseProtocol
except ImportError:  # pragma: no cover - httptools is optional for uvicorn
    from uvicorn.protocols.http.h11_impl import (  # type: ignore[assignment]
        H11Protocol as _BaseProtocol,
    )

logger = logging.getLogger("vnsearch.serve")


class HeaderTimeoutProtocol(_BaseProtocol):
    """uvicorn's HTTP protocol with a header-read deadline (see the module docstring)."""

    def __init__(self, *args: Any, header_timeout_s: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout_s = header_timeout_s
        self.header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(cast(asyncio.Transport, transport))
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request's headers get as long as the first's

    def _arm(self) -> None:
        self._disarm()
        self.header_timer = self.loop.call_later(self.header_timeout_s, self._expire)

    def _disarm(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _expire(self) -> None:
        self.header_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being answered: its headers were complete in time
        if not self.transport.is_closing():
            logger.debug("closing %s: request headers not complete within %.1f s",
                         self.client, self.header_timeout_s)
            self.transport.close()
