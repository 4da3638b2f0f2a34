"""Input formats, the file name endings that select them, and finding input files."""

from __future__ import annotations

import os
import stat
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
    """Regular files under a folder (recursively) whose names end in ``suffixes``, sorted."""
    return [file for file, problem in walk_inputs(path, suffixes) if problem is None]


def walk_inputs(path: Path, suffixes: tuple[str, ...]) -> list[tuple[Path, str | None]]:
    """Every entry under a folder whose name ends in ``suffixes``, sorted, with its problem.

    The problem is None for a regular file (or a link to one); otherwise it says why the
    entry cannot be read: a broken link, a pipe/socket/device (reading a pipe would hang
    the run), a folder that cannot be listed. Never raises: a folder that vanishes or
    cannot be read mid-walk becomes an entry with its problem. Folder links are not
    followed (as before: no cycles).
    """
    found: list[tuple[Path, str | None]] = []

    def folder_error(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else path
        found.append((where, f"cannot read folder: {exc.strerror or exc}"))

    for root, dirs, names in os.walk(path, onerror=folder_error):
        dirs.sort()
        for name in names:
            if name.lower().endswith(suffixes):
                file = Path(root) / name
                found.append((file, entry_problem(file, explicit=False)))
    return sorted(found, key=lambda item: item[0])


def entry_problem(path: Path, *, explicit: bool) -> str | None:
    """Why ``path`` cannot be read as an input file, or None when it can.

    ``explicit``: the user named it, so a pipe or device is allowed (``<(zcat x.gz)``);
    one found in a folder is not, since reading it could block forever.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "broken symbolic link" if path.is_symlink() else "file not found"
    except (OSError, ValueError) as exc:
        return f"cannot read file: {getattr(exc, 'strerror', None) or exc}"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if explicit and (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
        return None
    return "not a regular file (a pipe, socket or device)"


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
    if path.suffix.lower() != ".json":
        return False
    try:
        return path.with_suffix(".txt").is_file()
    except (OSError, ValueError):  # an unreadable folder: then it is no sidecar we can use
        return False
