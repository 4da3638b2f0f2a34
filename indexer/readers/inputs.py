"""Read many input paths: walk folders, pick each file's format, dispatch to its reader."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from indexer.article import SkippedRecord
from indexer.errors import InputError
from indexer.readers.csv_reader import read_csv
from indexer.readers.formats import FORMATS, files_in, format_of, is_sidecar, suffixes_for
from indexer.readers.html_reader import read_html
from indexer.readers.jsonl_reader import open_binary, read_jsonl
from indexer.readers.records import ReadItem
from indexer.readers.txt_reader import read_txt


def _read_file(path: Path, fmt: str, mapping: dict[str, str] | None) -> Iterator[ReadItem]:
    if fmt == "jsonl":
        return read_jsonl(path, mapping)
    if fmt == "csv":
        return read_csv(path, mapping)
    if fmt == "txt":
        return read_txt(path)
    return read_html(path)


def iter_inputs(
    paths: Iterable[str | Path],
    *,
    fmt: str | None = None,
    mapping: dict[str, str] | None = None,
) -> Iterator[ReadItem]:
    """Read every input path, dispatching on the file name ending or on ``fmt``.

    Endings: .jsonl/.jsonl.gz/.json/.ndjson (JSONL), .csv, .txt, .html/.htm.
    Folders are walked recursively (sorted) for those endings, skipping ``NAME.json``
    sidecars of ``NAME.txt``; with ``fmt`` only that format's endings are taken from
    folders, and explicitly named files are read as ``fmt`` whatever their ending.
    ``mapping`` applies to JSONL and CSV. Missing paths and unsupported files become
    SkippedRecords. Raises InputError only for an unknown ``fmt``.
    """
    if fmt is not None and fmt not in FORMATS:
        raise InputError(f"unknown input format {fmt!r} (expected one of: {', '.join(FORMATS)})")
    for raw_path in paths:
        path = Path(raw_path)
        if path.is_dir():
            try:
                files = files_in(path, suffixes_for(fmt))
            except OSError as exc:
                yield SkippedRecord(str(path), None, f"cannot read folder: {exc.strerror or exc}")
                continue
            for file in files:
                if is_sidecar(file):
                    continue
                file_fmt = fmt or format_of(file)
                if file_fmt:
                    yield from _read_file(file, file_fmt, mapping)
        elif path.exists():
            file_fmt = fmt or format_of(path)
            if file_fmt is None:
                yield SkippedRecord(str(path), None, "unsupported file type (use --format)")
                continue
            yield from _read_file(path, file_fmt, mapping)
        else:
            yield SkippedRecord(str(path), None, "file not found")


def estimate_records(paths: Iterable[str | Path], *, fmt: str | None = None) -> int | None:
    """A quick count of the records ``iter_inputs`` will yield (for a progress bar's ETA).

    JSONL: non-empty lines; CSV: lines minus the header (multi-line fields make it an
    overestimate); txt/html: one per file. None when a path cannot be read.
    """
    total = 0
    try:
        for raw_path in paths:
            path = Path(raw_path)
            files = files_in(path, suffixes_for(fmt)) if path.is_dir() else [path]
            for file in files:
                kind = fmt or format_of(file)
                if kind in ("txt", "html"):
                    total += 0 if is_sidecar(file) else 1
                elif kind in ("jsonl", "csv"):
                    if is_sidecar(file):
                        continue
                    with open_binary(file) as handle:
                        lines = sum(1 for line in handle if line.strip())
                    total += max(lines - 1, 0) if kind == "csv" else lines
    except OSError:
        return None
    return total
