"""The read side of an index directory: recover after a crash, open a consistent snapshot.

A :class:`Snapshot` is one consistent view: the manifest, a read-only :class:`IndexDB` and
the vector index of the store's current generation. Readers reload when the store's
generation moves (``Snapshot.stale``), so a server picks up new articles without a restart.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .db import IndexDB
from .derived import derived_missing, load_current_vectors, rebuild_vectors, roll_forward
from .errors import IndexFormatError, IndexLockedError
from .lock import WriteLock
from .manifest import Manifest
from .vector_index import VectorIndex


def recover(directory: Path) -> Manifest:
    """Roll derived files (vector file, lexical matrix, manifest) forward to the store, if
    nobody writes.

    Like SQLite rolling back a hot journal on open: the store is the truth, the FAISS file
    and the manifest are rebuilt from it when a writer died before writing them.
    """
    manifest = Manifest.load(directory)
    if not _needs_recovery(directory, manifest):
        return manifest  # the common case: no lock taken, so no writer is ever refused
    lock = WriteLock(directory)
    try:
        lock.acquire()
    except IndexLockedError:
        return manifest  # a live writer will write them itself
    try:
        with IndexDB(directory) as db:
            roll_forward(directory, manifest, db)
    finally:
        lock.release()
    return Manifest.load(directory)


def _needs_recovery(directory: Path, manifest: Manifest) -> bool:
    """True when the derived files lag behind the store (a writer died after a commit)."""
    try:
        db = IndexDB(directory, readonly=True)
    except IndexFormatError:
        return True
    try:
        generation = db.generation()
    except sqlite3.DatabaseError:
        return True
    finally:
        db.close()
    return generation != manifest.generation or derived_missing(directory, generation)


@dataclass
class Snapshot:
    """A consistent read-only view of an index."""

    directory: Path
    manifest: Manifest
    db: IndexDB
    vectors: VectorIndex
    generation: int

    @property
    def stale(self) -> bool:
        """True when a writer committed since this snapshot was taken."""
        try:
            return self.db.generation() != self.generation
        except sqlite3.Error:
            return False

    def close(self) -> None:
        """Close the snapshot's database connection."""
        self.db.close()


def open_snapshot(directory: Path, model_id: str | None = None) -> Snapshot:
    """Open ``directory`` for reading; ``model_id`` (when given) must match the manifest."""
    directory = Path(directory)
    manifest = recover(directory)
    if model_id is not None:
        manifest.check_model(model_id, directory)
    db = IndexDB(directory, readonly=True)
    db.check_schema()
    # One read transaction so the vectors and the rows come from the same generation.
    with db.read_transaction():
        generation = db.generation()
        # Mapped: every reader process (serve --workers N) shares one copy of the vectors.
        vectors = load_current_vectors(directory, db, manifest, generation,
                                       db.counts()["passages"], mapped=True)
        if vectors is None:
            vectors = rebuild_vectors(db, "flat", manifest.dimension)
    return Snapshot(directory, manifest, db, vectors, generation)
