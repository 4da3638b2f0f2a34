"""One stdio frame of ``vnsearch mcp``: a well-formed JSON-RPC message for the SDK, or the
error that answers it.

The SDK's stdio transport drops a frame it cannot validate without a word, so a host
waiting on that request's id waits forever. :func:`screen` decides every frame first:

* not UTF-8, not JSON (a NUL byte, a truncated line, ``NaN``): ``-32700`` parse error, id
  null (JSON-RPC 2.0: the id of an unparsable frame is unknown);
* nested deeper than :data:`MAX_DEPTH` (a 100k-deep argument cannot exhaust the stack:
  :func:`json.loads` stops at the interpreter's recursion limit and the id is read from the
  frame's top level without parsing the rest): ``-32602`` for a request, id kept;
* a batch (an array): MCP 2025-06-18 removed JSON-RPC batching, so the array is answered
  with an array of ``-32600`` errors, one per request in it, each with its id;
* an object that is not a JSON-RPC message: ``-32602`` when ``params`` is not an object,
  otherwise ``-32600``; the id is kept when it is a string or an integer;
* otherwise the message goes to the SDK, its lone surrogates (``"\\ud800"`` escapes, which
  no UTF-8 answer could echo) replaced by U+FFFD, as the readers do.

A malformed notification or response gets no answer (JSON-RPC never answers those); it is
logged on stderr.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from mcp_types import INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR, jsonrpc_message_adapter
from pydantic import ValidationError

log = logging.getLogger("vnsearch.mcp")

#: Deepest nesting of a message accepted (the message object is depth 1; a tool argument's
#: value starts at depth 4). vnsearch's arguments are flat; 64 leaves room for any host.
MAX_DEPTH = 64

Id = str | int

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")
# A JSON string or one bracket: enough to follow the nesting of a frame too deep to parse.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_COLON = re.compile(r"\s*:\s*")


@dataclass(frozen=True)
class Screened:
    """What to do with one frame: pass ``message`` (JSON text) to the SDK, write ``reply``
    (JSON text) to the client, or neither (a blank line, a malformed notification)."""

    message: str | None = None
    reply: str | None = None


def error(id_: Id | None, code: int, message: str) -> dict[str, Any]:
    """A JSON-RPC 2.0 error response."""
    return {"jsonrpc": "2.0", "id": id_, "error": {"code": code, "message": message}}


def _reply(payload: dict[str, Any] | list[dict[str, Any]]) -> Screened:
    return Screened(reply=json.dumps(payload, ensure_ascii=False, separators=(",", ":")))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def valid_id(value: Any) -> Id | None:
    """``value`` if it can be a request id (MCP: a string or an integer), else None."""
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return None


def top_level(text: str, wanted: set[str]) -> dict[str, Any]:
    """The scalar values of the ``wanted`` keys of the frame's top-level object, read
    without parsing the rest (the frame may be too deep to parse, or cut off)."""
    found: dict[str, Any] = {}
    depth = 0
    decoder = json.JSONDecoder()
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
        elif token in "]}":
            depth -= 1
        elif depth == 1 and (colon := _COLON.match(text, match.end())):
            try:
                key = json.loads(token)
                if key in wanted and key not in found:
                    found[key] = decoder.raw_decode(text, colon.end())[0]
            except (ValueError, RecursionError):
                continue
            if len(found) == len(wanted):
                break
    return found


def _depth(value: Any) -> int:
    """How deep ``value`` nests (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item \
            if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children)
    return deepest


def _without_surrogates(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings (keys too) replaced by U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    return value


def too_deep(text: str) -> Screened:
    """The answer to a frame nested deeper than :data:`MAX_DEPTH`."""
    why = f"Invalid params: the message nests deeper than {MAX_DEPTH} levels"
    return _unreadable(text, why, INVALID_PARAMS)


def oversized(head: bytes, limit: int) -> Screened:
    """The answer to a frame longer than ``limit`` bytes, of which ``head`` was read."""
    why = f"Invalid Request: the message is longer than {limit} bytes (mcp_max_frame_bytes)"
    return _unreadable(head.decode("utf-8", "replace"), why, INVALID_REQUEST)


def _unreadable(text: str, why: str, code: int) -> Screened:
    """The answer to a frame that is not parsed: ``code`` for a request (its id read from
    the frame's top level), -32600 with id null when no id is found, nothing for a
    notification."""
    head = top_level(text, {"id", "method"})
    if "id" not in head and isinstance(head.get("method"), str):
        log.info("dropped a notification: %s", why)
        return Screened()
    id_ = valid_id(head.get("id"))
    return _reply(error(id_, code if id_ is not None else INVALID_REQUEST, why))


def invalid(obj: Any) -> dict[str, Any] | None:
    """The error answering ``obj``, a parsed frame that is not a JSON-RPC message, or None
    when nothing may answer it (a notification or a response)."""
    if not isinstance(obj, dict):
        return error(None, INVALID_REQUEST, "Invalid Request: a message is a JSON object")
    id_ = valid_id(obj.get("id"))
    if "method" not in obj and ("result" in obj or "error" in obj):
        return None  # a malformed response: nobody waits for an answer to it
    if "id" not in obj and isinstance(obj.get("method"), str):
        return None  # a malformed notification
    if id_ is not None and "params" in obj and not isinstance(obj["params"], dict):
        return error(id_, INVALID_PARAMS, "Invalid params: `params` must be an object")
    return error(id_, INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 request "
                                       "(`jsonrpc` \"2.0\", an integer or string `id`, a "
                                       "string `method`, an object `params`)")


def batch(items: list[Any]) -> Screened:
    """The answer to a JSON-RPC batch: one ``-32600`` per request in it (batching was
    removed in MCP 2025-06-18)."""
    why = "Invalid Request: batches are not supported (MCP 2025-06-18); send one message a line"
    if not items:
        return _reply(error(None, INVALID_REQUEST, "Invalid Request: an empty batch"))
    replies = [error(valid_id(item.get("id")) if isinstance(item, dict) else None,
                     INVALID_REQUEST, why)
               for item in items
               if not (isinstance(item, dict) and "id" not in item)]
    return _reply(replies) if replies else Screened()


def screen(frame: bytes) -> Screened:
    """Decide one frame (a line of stdin, without its end of line)."""
    if not frame.strip():
        return Screened()
    try:
        text = frame.decode("utf-8")
        obj = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        return too_deep(text)
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return _reply(error(None, PARSE_ERROR, f"Parse error: {exc}"))
    if _depth(obj) > MAX_DEPTH:
        return too_deep(text)
    if isinstance(obj, list):
        return batch(obj)
    if isinstance(obj, dict) and "method" in obj and "id" in obj and valid_id(obj["id"]) is None:
        # The SDK would read it as a notification (no answer) and the host would wait.
        return _reply(error(None, INVALID_REQUEST,
                            "Invalid Request: `id` must be a string or an integer"))
    if _SURROGATE_ESCAPE.search(text):
        obj = _without_surrogates(obj)
    message = json.dumps(obj, ensure_ascii=False)
    try:
        jsonrpc_message_adapter.validate_json(message, by_name=False)
    except ValidationError:
        answer = invalid(obj)
        if answer is None:
            log.info("dropped a malformed notification or response")
            return Screened()
        return _reply(answer)
    return Screened(message=message)
