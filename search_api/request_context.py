"""What the service knows about the request being answered: its id, and for a search its mode
and how many results it found.

The request-log middleware (:mod:`search_api.request_log`) opens a :class:`RequestInfo` per
request in a context variable; the search routes fill in the search's part
(:func:`note_search`) and the error handlers read the id (:func:`current_request_id`), so
neither needs the request object passed down. A context variable is copied into the tasks
and threads the request's work runs in, and the object in it is shared, so what a route
notes is what the middleware logs.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

#: An ``X-Request-ID`` sent by a client is kept when it matches this (a proxy's or a
#: client's id ties its logs to ours); anything else is replaced, so no header can inject
#: text into a log line or grow it without bound.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass
class RequestInfo:
    """One request: its id; once answered its method, route template, status and duration;
    for a search, its mode and number of results (None otherwise)."""

    request_id: str
    method: str = ""
    route: str = ""
    status: int | None = None
    duration_s: float = 0.0
    mode: str | None = None
    results: int | None = None


_current: ContextVar[RequestInfo | None] = ContextVar("vnsearch_request", default=None)


def request_id_from(header: str | None) -> str:
    """The request's id: the client's ``X-Request-ID`` when sane, else a new random one."""
    if header is not None and SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


@contextmanager
def request_scope(request_id: str) -> Iterator[RequestInfo]:
    """The record of a new request, current in this context while the block runs."""
    info = RequestInfo(request_id)
    token = _current.set(info)
    try:
        yield info
    finally:
        _current.reset(token)


def current_request_id() -> str | None:
    """The id of the request being answered; None outside a request."""
    info = _current.get()
    return None if info is None else info.request_id


def note_search(mode: str, results: int) -> None:
    """Record the current request's search: its mode and its number of results."""
    info = _current.get()
    if info is not None:
        info.mode = mode
        info.results = results
