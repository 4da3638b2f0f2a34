"""File helpers of the maintenance commands: sizes on disk, durable copies, staging paths."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError
from ..layout import fsync_dir


def directory_bytes(directory: Path) -> int:
    """Bytes of the files under ``directory``, each file once: the lexical generations
    share segment files by hard link, which ``du`` also counts once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for path in _files(directory):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue  # removed meanwhile (a writer dropping an old generation)
        if (stat.st_dev, stat.st_ino) not in seen:
            seen.add((stat.st_dev, stat.st_ino))
            total += stat.st_size
    return total


def _files(directory: Path) -> Iterator[Path]:
    for root, _, names in os.walk(directory):
        for name in names:
            yield Path(root) / name


def copy_durably(source: Path | BinaryIO, target: Path) -> None:
    """Copy a file (a path, or a file already open: it may have been unlinked since) to
    ``target`` and fsync it."""
    with open(target, "wb") as out:
        if isinstance(source, Path):
            with open(source, "rb") as handle:
                shutil.copyfileobj(handle, out, 1 << 20)
        else:
            source.seek(0)
            shutil.copyfileobj(source, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())


def fsync_tree(directory: Path) -> None:
    """fsync every file and folder under ``directory`` (before renaming it into place)."""
    for root, dirs, names in os.walk(directory):
        for name in names:
            with open(Path(root) / name, "rb") as handle:
                os.fsync(handle.fileno())
        for name in dirs:
            fsync_dir(Path(root) / name)
    fsync_dir(directory)


def staging_path(final: Path, purpose: str) -> Path:
    """A hidden sibling of ``final`` to build in before one rename puts it in place: a
    killed run leaves no half-written directory under the final name."""
    return final.with_name(f".{final.name}.{purpose}.{os.getpid()}.tmp")


def new_path(path: Path, what: str) -> Path:
    """``path`` as the destination of a new directory: refused when something is there;
    its parent folders are created."""
    if path.exists() or path.is_symlink():
        raise InputError(f"{path}: already exists; give a new path for the {what} "
                         "(vnsearch never writes over one)")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def remove_tree(path: Path) -> None:
    """Remove a staging directory (what a failed run leaves)."""
    shutil.rmtree(path, ignore_errors=True)
