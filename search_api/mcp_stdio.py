"""The stdio transport of ``vnsearch mcp``: every request gets exactly one answer.

The SDK's own stdio transport validates each line and silently drops what fails, so a
host waiting on that id hangs. This front reads stdin itself, one line a frame, bounds the
frame's size (setting ``mcp_max_frame_bytes``), has :func:`.mcp_frames.screen` decide it,
answers a malformed frame on stdout directly and hands well-formed messages to the SDK's
``stdio_server`` (given explicit streams, a documented use) and the server behind it.

stdout stays the protocol only: as the SDK does, the wire's descriptors are duplicated
privately and fds 0 and 1 pointed at /dev/null and stderr while serving, so a library
printing cannot corrupt the stream. One writer (:class:`Wire`) serialises the SDK's
answers and the front's, each a whole line in one write.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from .mcp_frames import oversized, screen

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

log = logging.getLogger("vnsearch.mcp")

#: How much of an oversized frame is kept to find its id (the rest is read and dropped).
HEAD_BYTES = 65_536


class Wire:
    """The protocol's output: whole lines, one writer at a time."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._lock = anyio.Lock()

    async def write(self, text: str) -> None:
        """Write ``text`` (a JSON message and its newline) in one piece."""
        # "replace": a character UTF-8 cannot carry must not end the server mid-session.
        data = text.encode("utf-8", "replace")
        async with self._lock:
            await anyio.to_thread.run_sync(self._write, data)

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._out.flush()

    async def flush(self) -> None:
        """Nothing to do: :meth:`write` flushes (the SDK calls this after each write)."""


class Frames:
    """stdin as the SDK's line source: only well-formed messages come out; a malformed
    frame is answered on ``wire`` and skipped."""

    def __init__(self, source: IO[bytes], wire: Wire, max_bytes: int) -> None:
        self._source = source
        self._wire = wire
        self._max = max_bytes

    def __aiter__(self) -> AsyncIterator[str]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[str]:
        while True:
            frame, complete = await anyio.to_thread.run_sync(self._read_frame)
            if frame is None:
                return
            decided = screen(frame) if complete else oversized(frame, self._max)
            if decided.reply is not None:
                await self._wire.write(decided.reply + "\n")
            if decided.message is not None:
                yield decided.message

    def _read_frame(self) -> tuple[bytes | None, bool]:
        """The next line without its end of line, and whether it was within the bound
        (a longer one is read to its end and dropped but its first bytes); None at EOF."""
        line = self._source.readline(self._max + 1)
        if not line:
            return None, True
        if line.endswith(b"\n") or len(line) <= self._max:
            return line.rstrip(b"\r\n"), True
        head = line[:HEAD_BYTES]
        while line and not line.endswith(b"\n"):
            line = self._source.readline(HEAD_BYTES)
        return head, False


@contextmanager
def claim_wire() -> Iterator[tuple[IO[bytes], IO[bytes]]]:
    """The wire (stdin, stdout) on private descriptors; fd 0 reads /dev/null and fd 1 writes
    to stderr meanwhile. Both restored on exit."""
    sys.stdout.flush()
    source, out = os.fdopen(os.dup(0), "rb"), os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    try:
        yield source, out
    finally:
        os.dup2(source.fileno(), 0)
        os.dup2(out.fileno(), 1)
        source.close()
        out.close()


async def serve_streams(server: MCPServer, source: IO[bytes], out: IO[bytes],
                        max_frame_bytes: int) -> None:
    """Serve MCP on ``source``/``out`` (binary, line-delimited JSON-RPC) until EOF."""
    from mcp.server.stdio import stdio_server

    wire = Wire(out)
    frames: Any = Frames(source, wire, max_frame_bytes)  # the SDK types it as an AsyncFile
    async with stdio_server(stdin=frames, stdout=wire) as (read, write):  # type: ignore[arg-type]
        # MCPServer.run_stdio_async, on our streams: the SDK has no public "serve these
        # streams" on MCPServer, only on the low-level server it wraps.
        lowlevel = server._lowlevel_server
        await lowlevel.run(read, write, lowlevel.create_initialization_options())


def serve(server: MCPServer, max_frame_bytes: int) -> None:
    """Serve ``server`` on this process's stdin/stdout until the client closes stdin."""
    with claim_wire() as (source, out):
        anyio.run(serve_streams, server, source, out, max_frame_bytes)
