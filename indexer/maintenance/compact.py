"""``vnsearch compact``: give the space of deleted articles back, while searches go on.

Deleting an article frees nothing on disk by itself: SQLite keeps the freed pages in the
file (and the WAL keeps its high-water size), FTS5 keeps entries of deleted rows until
its segments merge, and the lexical matrix masks deleted rows rather than rewrite its
segments. Under the write lock (writers wait or are refused; searches never), compaction:

1. rolls the derived files forward to the store, if a writer died before writing them;
2. merges the full-text index (FTS5 ``optimize``) and bumps the generation, one
   transaction: a new generation that searches the same rows;
3. publishes that generation's derived files: the vectors folded into one base built
   from the store (no segment, no tombstone: :mod:`indexer.vector_fold`) and the lexical
   matrix rebuilt as one segment without masked rows; searchers swap to it on their next
   reload, and those still on the old generation keep it (mapped files stay readable
   once unlinked; a lexical directory a reader holds is left for the next write to remove);
4. removes the older generations' files, then ``VACUUM``s the store and checkpoints the
   WAL with ``TRUNCATE`` (waiting up to SQLite's busy timeout for searches in flight).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ..db import IndexDB
from ..derived import roll_forward, write_manifest, write_vectors
from ..lexical.files import remove_old_lexical, write_lexical
from ..lock import WriteLock
from ..manifest import Manifest
from ..snapshot import recover
from ..vector_files import VectorPolicy, remove_unnamed
from .files import directory_bytes

#: How long compaction waits for a writer's batch to finish before it is refused.
COMPACT_WAIT_S = 10.0


@dataclass
class CompactReport:
    """What ``vnsearch compact`` did."""

    directory: Path
    bytes_before: int
    bytes_after: int
    generation_before: int
    generation_after: int
    #: False when searches kept SQLite from truncating the WAL (run compact again later).
    wal_truncated: bool
    #: Older lexical generations left in place because a searcher still maps them.
    lexical_kept: list[int]
    seconds: float

    @property
    def bytes_freed(self) -> int:
        """Bytes given back (negative if the directory grew meanwhile)."""
        return self.bytes_before - self.bytes_after


def compact_index(directory: Path, wait_s: float | None = None) -> CompactReport:
    """Compact the index at ``directory`` in place, waiting up to ``wait_s`` (default
    :data:`COMPACT_WAIT_S`) for a writer's batch; see the module docstring."""
    started = time.perf_counter()
    directory = Path(directory)
    recover(directory)
    before = directory_bytes(directory)
    lock = WriteLock(directory)
    lock.acquire(COMPACT_WAIT_S if wait_s is None else wait_s)
    try:
        with IndexDB(directory) as db:
            db.check_schema()
            old, new, truncated = _compact_locked(directory, db)
            kept = _old_lexical(directory, new)
    finally:
        lock.release()
    return CompactReport(directory, before, directory_bytes(directory), old, new, truncated,
                         kept, time.perf_counter() - started)


def _compact_locked(directory: Path, db: IndexDB) -> tuple[int, int, bool]:
    """Steps 1-4 (the caller holds the write lock); returns the generations before and
    after, and whether the WAL was truncated."""
    roll_forward(directory, Manifest.load(directory), db)
    manifest = Manifest.load(directory)
    old = db.generation()
    with db.transaction():
        db.optimize_fulltext()
        db.bump_generation()
    new = db.generation()
    write_vectors(directory, db, manifest, VectorPolicy(), rebuild=True)
    remove_unnamed(directory, new, keep=1)
    write_manifest(directory, manifest, db, write_lexical(directory, db, rebuild=True))
    remove_old_lexical(directory, new, keep=1)
    return old, new, db.vacuum()


def _old_lexical(directory: Path, current: int) -> list[int]:
    """The lexical generation directories other than ``current`` still present."""
    found = (path.name.split(".", 1)[1] for path in directory.glob("lexical.*") if path.is_dir())
    return sorted(int(g) for g in found if g.isdigit() and int(g) != current)
