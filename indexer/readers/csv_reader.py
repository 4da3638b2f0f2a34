"""CSV reader: one article per row of a file with a header row.

Named ``csv_reader`` (not ``csv``) so it can never be mistaken for the standard library's
``csv`` module, which it uses.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from indexer.article import SkippedRecord
from indexer.readers.decoding import is_utf8_file, read_file_text
from indexer.readers.records import MAX_TEXT_CHARS, ReadItem, record_to_item


def _raise_csv_field_limit() -> None:
    # The default limit (128 KiB) is below real article sizes; the size policy is
    # enforced by MAX_TEXT_CHARS instead. csv's limit is process-global.
    if csv.field_size_limit() < 2 * MAX_TEXT_CHARS:
        csv.field_size_limit(2**31 - 1)


def read_csv(path: str | Path, mapping: dict[str, str] | None = None) -> Iterator[ReadItem]:
    """Yield one Article per row of a CSV file with a header row.

    Same fields, ``mapping`` and skipping rules as :func:`read_jsonl`; line numbers
    are the physical line where the row ends. A header without the text column (after
    ``mapping``) makes the whole file one SkippedRecord (line None) naming the fix. UTF-8
    (BOM tolerated) is streamed;
    legacy encodings follow the policy of :mod:`indexer.readers.decoding`.
    """
    path = Path(path)
    name = str(path)
    _raise_csv_field_limit()
    try:
        if is_utf8_file(path):
            with path.open("r", encoding="utf-8-sig", newline="") as f:
                yield from _csv_rows(f, mapping, name)
            return
    except OSError as exc:
        yield SkippedRecord(name, None, f"cannot read file: {exc.strerror or exc}")
        return
    text, reason = read_file_text(path)
    if text is None:
        yield SkippedRecord(name, None, reason or "undecodable")
        return
    yield from _csv_rows(text.splitlines(keepends=True), mapping, name)


#: Article fields a CSV must have a column for (the others are optional metadata).
REQUIRED_FIELDS = ("text",)


def missing_column(fieldnames: Sequence[str] | None, mapping: dict[str, str] | None) -> str | None:
    """Why a header cannot give articles (a required column is absent), or None when it can.

    Said once for the file, not once per row: the fix (``--map``) is the same for all.
    """
    if not fieldnames:
        return None  # an empty file: no rows, nothing to say
    for field in REQUIRED_FIELDS:
        column = (mapping or {}).get(field, field)
        if column not in fieldnames:
            shown = ", ".join(repr(f) for f in fieldnames[:12])
            more = ", ..." if len(fieldnames) > 12 else ""
            return (f"no column {column!r} in the header; map one with --map {field}=COLUMN "
                    f"(columns: {shown}{more})")
    return None


def _csv_rows(lines: Iterable[str], mapping: dict[str, str] | None,
              name: str) -> Iterator[ReadItem]:
    reader = csv.DictReader(lines)
    try:
        problem = missing_column(reader.fieldnames, mapping)
    except csv.Error as exc:
        yield SkippedRecord(name, reader.line_num, f"malformed CSV header: {exc}")
        return
    if problem:
        yield SkippedRecord(name, None, problem)
        return
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield SkippedRecord(name, reader.line_num, f"malformed CSV: {exc}")
            continue
        yield record_to_item(row, mapping, name, reader.line_num)
