"""JSONL reader (optionally gzipped): one article per JSON-object line, streamed."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from indexer.article import SkippedRecord
from indexer.readers.decoding import decode_bytes
from indexer.readers.records import MAX_TEXT_CHARS, ReadItem, record_to_item

# A JSONL line can use up to 6 bytes per character ("\\uXXXX"); beyond this a line is
# skipped without being held in memory.
_MAX_LINE_BYTES = 6 * MAX_TEXT_CHARS + 1_000_000


def open_binary(path: Path) -> BinaryIO:
    """Open ``path`` for binary reading, gunzipping a ``.gz`` file on the fly."""
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def read_jsonl(path: str | Path, mapping: dict[str, str] | None = None) -> Iterator[ReadItem]:
    """Yield one Article per JSON-object line of a ``.jsonl`` / ``.jsonl.gz`` file.

    ``mapping`` maps our field names (id, title, text, url, source, published,
    category) to the input's keys, e.g. ``{"text": "content"}``. Blank lines are
    ignored; malformed JSON, non-object lines, records without text and undecodable
    lines become SkippedRecords with their 1-based line number.
    """
    path = Path(path)
    name = str(path)
    line_no = 0
    try:
        with open_binary(path) as f:
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
        # Missing/unreadable file, or a truncated/corrupt gzip stream.
        yield SkippedRecord(name, line_no or None, f"cannot read file: {exc}")


def _line_to_item(raw: bytes, mapping: dict[str, str] | None, name: str, line_no: int) -> ReadItem:
    """One non-blank JSONL line → Article, or a SkippedRecord saying why not."""
    text, reason = decode_bytes(raw)
    if text is None:
        return SkippedRecord(name, line_no, reason or "undecodable")
    try:
        # strict=False: raw control characters inside strings are a
        # scraper accident, not a reason to lose the article.
        record = json.loads(text, strict=False)
    except (json.JSONDecodeError, RecursionError) as exc:
        return SkippedRecord(name, line_no, f"malformed JSON: {exc}")
    return record_to_item(record, mapping, name, line_no)
