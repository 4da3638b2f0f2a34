"""Read many input paths: walk folders, pick each file's format, dispatch to its reader."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from indexer.article import Article, SkippedRecord
from indexer.errors import InputError
from indexer.readers.csv_reader import read_csv
from indexer.readers.decoding import SNIFF_BYTES, looks_binary
from indexer.readers.formats import (
    FORMATS,
    entry_problem,
    format_of,
    is_sidecar,
    suffixes_for,
    walk_inputs,
)
from indexer.readers.html_reader import read_html
from indexer.readers.jsonl_reader import open_binary, read_jsonl
from indexer.readers.records import ReadItem
from indexer.readers.txt_reader import read_txt


def _read_file(path: Path, fmt: str, mapping: dict[str, str] | None) -> Iterator[ReadItem]:
    """One file's records; a reader failure ends that file with one SkippedRecord."""
    if fmt == "jsonl":
        reader = read_jsonl(path, mapping)
    elif fmt == "csv":
        reader = read_csv(path, mapping)
    elif fmt == "txt":
        reader = read_txt(path)
    else:
        reader = read_html(path)
    # Where each article came from, for ``index --sync`` (absolute: the index outlives cwd).
    origin = str(path.absolute())
    multi = fmt in ("jsonl", "csv")
    record = 0
    try:
        for item in reader:
            if isinstance(item, Article):
                record += 1
                item.origin = origin
                item.file_key = _file_key(item, origin, record if multi else None)
            elif item.line is not None:
                record += 1  # a bad record keeps its number: the ones after it do not shift
            yield item
    except Exception as exc:  # noqa: BLE001 - the readers report what they expect; a surprise must not stop the run either
        yield SkippedRecord(str(path), None, f"cannot read file: {type(exc).__name__}: {exc}")


def _file_key(article: Article, origin: str, record: int | None) -> str | None:
    """Where an article without input id or URL was read: its identity (see Article).

    The absolute path, not the path relative to the folder given: two scraper folders
    indexed separately often both hold ``001.txt``, and a relative key would make one
    replace the other. A moved folder's unchanged files still match by content.
    """
    if article.id or article.url:
        return None
    return origin if record is None else f"{origin}#{record}"


def _is_folder(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


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
    ``mapping`` applies to JSONL and CSV.

    Never raises for an input problem: a missing path, an unsupported, unreadable,
    corrupt or binary file, a broken link, a pipe found in a folder, a folder that cannot
    be listed (or vanishes mid-walk) each become one SkippedRecord naming it (line None),
    and bad records inside a readable file one SkippedRecord each with its line; the run
    goes on. Raises InputError only for an unknown ``fmt``.
    """
    if fmt is not None and fmt not in FORMATS:
        raise InputError(f"unknown input format {fmt!r} (expected one of: {', '.join(FORMATS)})")
    for raw_path in paths:
        path = Path(raw_path)
        problem = entry_problem(path, explicit=True)
        if problem is not None:
            yield SkippedRecord(str(path), None, problem)
        elif _is_folder(path):
            yield from _read_folder(path, fmt, mapping)
        else:
            file_fmt = fmt or format_of(path)
            if file_fmt is None:
                yield SkippedRecord(str(path), None, "unsupported file type (use --format)")
                continue
            yield from _read_file(path, file_fmt, mapping)


def _read_folder(path: Path, fmt: str | None, mapping: dict[str, str] | None) -> Iterator[ReadItem]:
    """The records of every input file under a folder, and one SkippedRecord per bad entry."""
    suffixes = suffixes_for(fmt)
    entries = walk_inputs(path, suffixes)
    if not entries:
        # Said once, so a mistyped folder or a missing --format is not a silent no-op.
        yield SkippedRecord(str(path), None,
                            f"no input files in this folder ({', '.join(suffixes)})")
    for file, problem in entries:
        if problem is not None:
            yield SkippedRecord(str(file), None, problem)
            continue
        if is_sidecar(file):
            continue
        file_fmt = fmt or format_of(file)
        if file_fmt:
            yield from _read_file(file, file_fmt, mapping)


def estimate_records(paths: Iterable[str | Path], *, fmt: str | None = None) -> int:
    """A quick count of the records ``iter_inputs`` will yield (for a progress bar's ETA).

    JSONL: non-empty lines; CSV: lines minus the header (multi-line fields make it an
    overestimate); txt/html: one per file. Best effort, never raises: what cannot be
    read counts as far as it could be read (a bad file as one record); pipes and
    devices are not read (that would consume their data).
    """
    total = 0
    for raw_path in paths:
        path = Path(raw_path)
        if entry_problem(path, explicit=False) is not None:
            total += 1
            continue
        if _is_folder(path):
            entries = walk_inputs(path, suffixes_for(fmt))
        else:
            entries = [(path, None)]
        for file, problem in entries:
            kind = fmt or format_of(file)
            if problem is not None or kind is None:
                total += 1
            elif not is_sidecar(file):
                total += _estimate_file(file, kind)
    return total


def _estimate_file(file: Path, kind: str) -> int:
    if kind in ("txt", "html"):
        return 1
    lines = 0
    limit = 1 << 20
    try:
        with open_binary(file) as handle:
            if kind == "jsonl" and looks_binary(handle.peek(SNIFF_BYTES)[:SNIFF_BYTES]):
                return 1
            while piece := handle.readline(limit):
                # A piece of an over-long line (no newline yet) is not a line of its own.
                if (piece.endswith(b"\n") or len(piece) < limit) and piece.strip():
                    lines += 1
    except Exception:  # noqa: BLE001 - a count is only an estimate; the read reports the problem
        lines += 1
    return max(lines - 1, 0) if kind == "csv" else lines
