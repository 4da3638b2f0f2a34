"""``vnsearch backup``: a consistent copy of a live index, itself a valid index directory.

Copying the directory with ``cp`` is not a backup: the store may be copied mid-transaction
(its WAL and main file at different moments), and the FAISS and lexical files of one
generation next to a store of another. A backup here is one generation, whole:

1. a read-only connection opens a SQLite read transaction and reads the store's
   generation ``G``: from then on it sees ``G`` however many batches writers commit;
2. the derived files of ``G`` are pinned the way a searcher pins them — the FAISS file
   opened (a writer may unlink it; the open file stays readable) and the lexical directory
   ``flock``ed shared (a writer removes none a reader holds);
3. SQLite's online backup API copies the store inside that transaction, so the copy is
   ``G``; then the pinned files are copied, the transaction already over.

No lock is taken: writers and searches go on throughout. The derived files of the newest
generation may not be written yet (a ``vnsearch index`` run writes them every 30 s or so,
an API write before it answers): the backup then starts again at the then newest
generation, and after :data:`BACKUP_WAIT_S` copies the store alone and builds ``G``'s
derived files from the copy (what recovery does; the search results are the same, an HNSW
graph aside, which is rebuilt rather than copied). Either way the copy is written to a
hidden staging directory beside ``--out``, passes ``vnsearch check``, is fsynced and only
then renamed to ``--out``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..check import CheckReport, check_index
from ..db import IndexDB
from ..derived import roll_forward
from ..errors import IndexFormatError, InputError
from ..layout import DATABASE, fsync_dir, vector_path
from ..lexical.files import LexicalFiles, lexical_dir, open_lexical
from ..lock import WriteLock
from ..manifest import Manifest
from ..vector_files import VectorRecord, record_path
from .files import copy_durably, directory_bytes, fsync_tree, new_path, remove_tree, staging_path

#: Longest a backup waits for a generation whose derived files are written before it
#: builds them from the copied store instead.
BACKUP_WAIT_S = 60.0
_POLL_S = 0.05


@dataclass
class BackupReport:
    """What ``vnsearch backup`` wrote."""

    source: Path
    target: Path
    generation: int
    articles: int
    passages: int
    bytes: int
    #: 'copied': the derived files of the generation were copied; 'rebuilt': built from
    #: the copied store (none were written yet for any generation seen in time).
    derived: str
    seconds: float


class _Pinned:
    """The derived files of one generation, held as a searcher holds them until
    :meth:`close`: the vector files (record, base, segments, tombstones) open, the lexical
    directory ``flock``ed shared."""

    def __init__(self, generation: int, vectors: list[BinaryIO], lexical: LexicalFiles) -> None:
        self.generation = generation
        self.vectors = vectors
        self.lexical = lexical

    @classmethod
    def take(cls, directory: Path, generation: int) -> _Pinned | None:
        """Pin ``generation``'s files; None when one is not written (or being removed)."""
        vectors = _open_vector_files(directory, generation)
        if vectors is None:
            return None
        lexical = open_lexical(directory, generation, shared_lock=True)
        if lexical is None:
            for handle in vectors:
                handle.close()
            return None
        return cls(generation, vectors, lexical)

    def copy_to(self, target: Path) -> None:
        """Copy the pinned files into the index directory ``target``."""
        for handle in self.vectors:
            copy_durably(handle, target / Path(handle.name).name)
        lexical = lexical_dir(target, self.generation)
        lexical.mkdir()
        for path in sorted(self.lexical.path.iterdir()):
            copy_durably(path, lexical / path.name)
        fsync_dir(lexical)

    def close(self) -> None:
        """Let the writer remove these files again."""
        for handle in self.vectors:
            handle.close()
        self.lexical.close()


def _open_vector_files(directory: Path, generation: int) -> list[BinaryIO] | None:
    """The vector files of ``generation``, opened (closed by the caller); None when one is
    not there (not written yet, or removed meanwhile)."""
    handles: list[BinaryIO] = []
    try:
        # the record first, parsed from the open file: a fold may replace it meanwhile
        handles.append(open(record_path(directory, generation), "rb"))  # noqa: SIM115
        try:
            record = VectorRecord.from_json(handles[0].read().decode("utf-8"))
        except (ValueError, TypeError, KeyError):
            raise FileNotFoundError from None
        for path in record.files(directory):
            handles.append(open(path, "rb"))  # noqa: SIM115 - closed by _Pinned.close()
    except FileNotFoundError:
        for handle in handles:
            handle.close()
        if handles or not vector_path(directory, generation).exists():
            return None
        try:  # an index from before records: its one FAISS file
            return [open(vector_path(directory, generation), "rb")]  # noqa: SIM115
        except FileNotFoundError:
            return None
    return handles


def backup_index(directory: Path, out: Path, wait_s: float | None = None) -> BackupReport:
    """Write a consistent copy of the index at ``directory`` (live or not) to the new
    directory ``out``, which is itself an index; ``wait_s`` (default
    :data:`BACKUP_WAIT_S`): how long to look for a generation whose derived files are
    written. See the module docstring."""
    started = time.perf_counter()
    directory, out = Path(directory), Path(out)
    Manifest.load(directory)  # a one-line error for a missing index before anything is made
    _refuse_inside(directory, out)
    new_path(out, "backup")
    staging = staging_path(out, "backup")
    remove_tree(staging)
    staging.mkdir()
    try:
        generation, derived = _copy_generation(
            directory, staging, BACKUP_WAIT_S if wait_s is None else wait_s)
        checked = _finish(staging)
        fsync_tree(staging)
        os.rename(staging, out)
        fsync_dir(out.parent)
    except BaseException:
        remove_tree(staging)
        raise
    return BackupReport(directory, out, generation, checked.articles, checked.passages,
                        directory_bytes(out), derived, time.perf_counter() - started)


def _refuse_inside(directory: Path, out: Path) -> None:
    if out.resolve().is_relative_to(directory.resolve()):
        raise InputError(f"{out}: inside the index directory {directory}; write the backup "
                         "elsewhere")


def _copy_generation(directory: Path, staging: Path, wait_s: float) -> tuple[int, str]:
    """Copy one generation's store and derived files (or its store alone, past
    ``wait_s``) into ``staging``; returns the generation and how its derived files came."""
    deadline = time.monotonic() + wait_s
    while True:
        last_try = time.monotonic() >= deadline
        with IndexDB(directory, readonly=True) as db:
            db.check_schema()
            with db.read_transaction():
                generation = db.generation()
                pinned = _Pinned.take(directory, generation)
                if pinned is not None or last_try:
                    db.backup_to(staging / DATABASE)
        if pinned is None and not last_try:
            time.sleep(_POLL_S)
            continue
        try:
            # The model, chunking and vector kind; its generation and counts are set to the
            # copy's by _finish when a writer has moved the live manifest on since.
            manifest = Manifest.load(directory)
            if pinned is not None:
                pinned.copy_to(staging)
        finally:
            if pinned is not None:
                pinned.close()
        manifest.save(staging)
        return generation, "copied" if pinned is not None else "rebuilt"


def _finish(staging: Path) -> CheckReport:
    """Bring the copy's manifest (and any derived file not copied) to its store, then
    check the whole copy; IndexFormatError when it fails the check."""
    manifest = Manifest.load(staging)
    with WriteLock(staging).held():
        with IndexDB(staging) as db:
            roll_forward(staging, manifest, db)
    checked = check_index(staging)
    if not checked.ok:
        raise IndexFormatError(f"the copy failed its check ({'; '.join(checked.problems)}); "
                               "nothing was written")
    return checked
