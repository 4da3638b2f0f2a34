"""What ``vnsearch serve`` decides about the network before it listens: which ``Host``
names it answers, what it warns about or refuses at start, and uvicorn's options.

The rules (docs/service.md, "Running on a network"):

* ``VNSEARCH_ALLOWED_HOSTS`` unset: bound to a loopback address, only the loopback names
  (:data:`LOOPBACK_HOSTS`, any port) are answered, which stops DNS rebinding (a web page
  whose name resolves to 127.0.0.1 reading the results); bound beyond loopback, the names
  clients use cannot be guessed, so any is answered and a warning says to set the list.
* Bound beyond loopback without ``VNSEARCH_ADMIN_TOKEN``: a warning (every article is
  readable by whoever reaches the port; writes are off).
* An admin token that is not ASCII is refused at start: HTTP headers reach the app
  decoded as latin-1, so such a token could never match and writes would be silently
  unusable.
"""

from __future__ import annotations

import ipaddress
from functools import partial
from typing import Any

from indexer.errors import InputError
from indexer.settings import Settings

from .header_timeout import HeaderTimeoutProtocol

#: The ``Host`` names answered by default on a loopback address.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` listens on this machine only."""
    if host.strip("[]").lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def allowed_hosts(settings: Settings) -> list[str]:
    """The ``Host`` patterns to answer (``["*"]``: any), see the module docstring."""
    if settings.allowed_hosts:
        return list(settings.allowed_hosts)
    if is_loopback(settings.host):
        return [*LOOPBACK_HOSTS, settings.host.strip("[]").lower()]
    return ["*"]


def admin_token(settings: Settings) -> str:
    """The admin token ('' when unset)."""
    secret = settings.admin_token
    return secret.get_secret_value() if secret is not None else ""


def check_serving(settings: Settings) -> tuple[Settings, list[str]]:
    """``settings`` with the allowed hosts resolved, and the warning lines to print at
    start; raises :class:`InputError` (one line, non-zero exit) for a non-ASCII token."""
    token = admin_token(settings)
    if token and not token.isascii():
        raise InputError("VNSEARCH_ADMIN_TOKEN must be ASCII: HTTP headers are read as "
                         "latin-1, so a token with other characters could never match")
    warnings = []
    if not is_loopback(settings.host):
        if not token:
            warnings.append(f"vnsearch: warning: listening on {settings.host} (beyond this "
                            "machine) without VNSEARCH_ADMIN_TOKEN: whoever reaches the port "
                            "can search and read every article (writes are off)")
        if not settings.allowed_hosts:
            warnings.append("vnsearch: warning: VNSEARCH_ALLOWED_HOSTS is not set: any Host "
                            "header is answered; set it to the names clients use "
                            "(VNSEARCH_ALLOWED_HOSTS=search.example.vn) to refuse "
                            "DNS-rebinding requests")
    return settings.model_copy(update={"allowed_hosts": allowed_hosts(settings)}), warnings


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.run`` / ``uvicorn.Config`` every serve path uses:
    the header-read deadline (:mod:`.header_timeout`), a 5 s keep-alive, no WebSocket
    upgrades (the app has no WebSocket route), no ``Server: uvicorn`` header, no access log
    (each request is one JSON line already: :mod:`.request_log`)."""
    return {"http": partial(HeaderTimeoutProtocol, header_timeout_s=settings.header_timeout_s),
            "ws": "none", "timeout_keep_alive": 5, "log_level": "info", "server_header": False,
            "access_log": False}
