"""JSONL reader (optionally gzipped): one article per JSON-object line, streamed."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from io import BufferedReader
from pathlib import Path

from indexer.article import SkippedRecord
from indexer.readers.decoding import SNIFF_BYTES, decode_bytes, looks_binary
from indexer.readers.records import MAX_TEXT_CHARS, ReadItem, record_to_item

# A JSONL line can use up to 6 bytes per character ("\\uXXXX"); beyond this a line is
# skipped without being held in memory.
_MAX_LINE_BYTES = 6 * MAX_TEXT_CHARS + 1_000_000


def open_binary(path: Path) -> BufferedReader | gzip.GzipFile:
    """Open ``path`` for binary reading, gunzipping a ``.gz`` file on the fly."""
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return path.open("rb")


def read_jsonl(path: str | Path, mapping: dict[str, str] | None = None) -> Iterator[ReadItem]:
    """Yield one Article per JSON-object line of a ``.jsonl`` / ``.jsonl.gz`` file.

    ``mapping`` maps our field names (id, title, text, url, source, published,
    category) to the input's keys, e.g. ``{"text": "content"}``. Blank lines are
    ignored; malformed JSON, non-object lines, records without text and undecodable
    lines become SkippedRecords with their 1-based line number. Never raises: a file
    that cannot be opened, is not gzip though named ``.gz``, is binary data or is text in
    a refused encoding (TCVN3, ...) is one SkippedRecord (line None); a gzip stream that
    breaks after N good lines yields those lines, then one SkippedRecord at line N+1 for the rest.
    """
    path = Path(path)
    name = str(path)
    line_no = 0
    try:
        with open_binary(path) as f:
            head = f.peek(SNIFF_BYTES)[:SNIFF_BYTES]
            if looks_binary(head):
                yield SkippedRecord(name, None, "binary data, not JSON Lines text")
                return
            if reason := legacy_encoded(head):
                # Said once for the file, not on each of its (maybe millions of) lines.
                yield SkippedRecord(name, None, reason)
                return
            while True:
                raw = f.readline(_MAX_LINE_BYTES)
                if not raw:
                    break
                line_no += 1
                if len(raw) >= _MAX_LINE_BYTES and not raw.endswith(b"\n"):
                    # Drain the rest of the oversized line without keeping it.
                    while (rest := f.readline(1 << 20)) and not rest.endswith(b"\n"):
                        pass
                    yield SkippedRecord(name, line_no, "too large (line over the size limit)")
                    continue
                if not raw.strip():
                    continue
                yield _line_to_item(raw, mapping, name, line_no)
    except (OSError, EOFError, zlib.error) as exc:
        # gzip.BadGzipFile is an OSError; EOFError/zlib.error: truncated/corrupt gzip.
        yield _broken_file(name, line_no, exc)


def _broken_file(name: str, lines_read: int, exc: BaseException) -> SkippedRecord:
    """The one SkippedRecord for a file that could not be (fully) read."""
    if isinstance(exc, gzip.BadGzipFile) and lines_read == 0:
        return SkippedRecord(name, None, "not a gzip file (named .gz but not gzip-compressed)")
    detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    if isinstance(exc, (EOFError, zlib.error, gzip.BadGzipFile)):
        return SkippedRecord(name, lines_read + 1,
                             f"truncated or corrupt gzip data ({detail}); "
                             "the rest of the file is lost")
    if lines_read == 0:
        return SkippedRecord(name, None, f"cannot read file: {detail}")
    return SkippedRecord(name, lines_read + 1, f"cannot read the rest of the file: {detail}")


def legacy_encoded(head: bytes) -> str | None:
    """The encoding policy's reason when a file's first lines are all in a refused encoding.

    Only when no non-ASCII line of ``head`` is valid UTF-8 (a UTF-8 file with one bad
    line keeps its other lines) and the lines together are refused by
    :func:`~indexer.readers.decoding.decode_bytes` (Windows-1258 is still read per line).
    """
    lines = head.split(b"\n")[:-1]  # the last piece may be cut mid-line
    bad = 0
    for line in lines:
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            return None
        except UnicodeDecodeError:
            bad += 1
    if not bad:
        return None
    text, reason = decode_bytes(b"\n".join(lines))
    return reason if text is None else None


def _line_to_item(raw: bytes, mapping: dict[str, str] | None, name: str, line_no: int) -> ReadItem:
    """One non-blank JSONL line → Article, or a SkippedRecord saying why not."""
    text, reason = decode_bytes(raw)
    if text is None:
        return SkippedRecord(name, line_no, reason or "undecodable")
    try:
        # strict=False: raw control characters inside strings are a
        # scraper accident, not a reason to lose the article.
        record = json.loads(text, strict=False)
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError and integers past Python's digit limit.
        return SkippedRecord(name, line_no, f"malformed JSON: {exc}")
    return record_to_item(record, mapping, name, line_no)
