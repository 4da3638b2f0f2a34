"""``vnsearch restore``: put a backup (or any index directory) in place as an index.

A backup directory is already an index, so copying it back by hand works too; the command
adds what a hand copy forgets: the copy is consistent even if the source is served, it is
checked before it is put in place, it lands by one rename (a killed restore leaves the
old index or the new one, never a mixture), and a non-empty ``--index`` is refused unless
``--force`` — which replaces only an index (a folder with a ``manifest.json``), under its
write lock so that no writer is mid-batch. Servers of the replaced index keep their open
files: restart them after a ``--force`` restore.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..layout import MANIFEST, fsync_dir
from ..lock import WriteLock
from ..manifest import Manifest
from .backup import BackupReport, backup_index
from .files import remove_tree, staging_path

#: How long ``--force`` waits for a writer's batch on the index it replaces.
RESTORE_WAIT_S = 5.0


@dataclass
class RestoreReport:
    """What ``vnsearch restore`` did: the copy made, and whether an index was replaced."""

    copy: BackupReport
    replaced: bool


def restore_index(source: Path, directory: Path, force: bool = False) -> RestoreReport:
    """Make ``directory`` a checked copy of the index at ``source`` (a backup directory);
    a non-empty ``directory`` only with ``force``, and only when it is an index."""
    source, directory = Path(source), Path(directory)
    Manifest.load(source)
    if directory.resolve() == source.resolve():
        raise InputError(f"{directory}: the backup itself; restore it into another folder")
    occupied = _occupied(directory, force)
    staging = staging_path(directory, "restore")
    remove_tree(staging)
    copy = backup_index(source, staging)
    try:
        if occupied:
            _replace(directory, staging)
        else:
            os.replace(staging, directory)  # directory absent, or an empty folder
            fsync_dir(directory.parent)
    except BaseException:
        remove_tree(staging)
        raise
    copy.target = directory
    return RestoreReport(copy, occupied)


def _occupied(directory: Path, force: bool) -> bool:
    """True when ``directory`` holds an index that ``force`` allows replacing."""
    if not directory.exists():
        return False
    if not directory.is_dir():
        raise InputError(f"{directory}: not a folder")
    if not any(directory.iterdir()):
        return False
    if not (directory / MANIFEST).exists():
        raise InputError(f"{directory}: not empty and not a vnsearch index; restore into a "
                         "new or empty folder (--force replaces only an index)")
    if not force:
        raise InputError(f"{directory}: an index is already there; add --force to replace "
                         "it (stop its servers first), or restore into a new folder")
    return True


def _replace(directory: Path, staging: Path) -> None:
    """Swap ``staging`` in for the index at ``directory`` under that index's write lock."""
    lock = WriteLock(directory)
    lock.acquire(RESTORE_WAIT_S)
    old = staging_path(directory, "replaced")
    try:
        os.rename(directory, old)
        try:
            os.rename(staging, directory)
        except OSError:
            os.rename(old, directory)  # put the old index back
            raise
        fsync_dir(directory.parent)
    finally:
        lock.release()
    remove_tree(old)
