"""Input formats, the file name endings that select them, and finding input files."""

from __future__ import annotations

from pathlib import Path

#: Formats and the file name endings that select them.
FORMATS: dict[str, tuple[str, ...]] = {
    "jsonl": (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".ndjson"),
    "csv": (".csv",),
    "txt": (".txt",),
    "html": (".html", ".htm"),
}

#: The input format names (``--format`` choices): jsonl, csv, txt, html.
INPUT_FORMATS: tuple[str, ...] = tuple(FORMATS)


def suffixes_for(fmt: str | None) -> tuple[str, ...]:
    """The endings of ``fmt``, or of every format when ``fmt`` is None."""
    if fmt:
        return FORMATS[fmt]
    return tuple(s for group in FORMATS.values() for s in group)


def files_in(path: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Files under a folder (recursively) whose names end in ``suffixes``, sorted."""
    return sorted(
        p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(suffixes)
    )


def format_of(path: Path) -> str | None:
    """The format a file name's ending selects, or None when no format claims it."""
    lower = path.name.lower()
    for fmt, suffixes in FORMATS.items():
        if lower.endswith(suffixes):
            return fmt
    return None


def is_sidecar(path: Path) -> bool:
    """Whether ``path`` is the ``NAME.json`` metadata of a ``NAME.txt`` next to it."""
    # NAME.json next to NAME.txt is read_txt's metadata, not a JSONL input.
    return path.suffix.lower() == ".json" and path.with_suffix(".txt").is_file()
