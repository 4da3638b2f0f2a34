"""Folding: a new vector base built from the store, replacing the base, segments and
tombstones of :mod:`indexer.vector_files` (it drops every removed vector).

Two ways, one policy (:class:`~indexer.vector_files.VectorPolicy`):

* **inline**, inside the write that finds the segments too large: small indexes (at most
  ``inline_fold_rows`` passages), every bulk writer (``vnsearch index``: its derived writes
  are spaced to stay ≤ 5 % of the run, as the whole-file rewrite was) and ``vnsearch
  compact``;
* **in the background**, for API writes on a large index: the write starts
  ``python -m indexer.vector_fold DIR`` and answers at once. That process (one at a time:
  ``vectors-fold.lock``) reads the store at a generation G that has a record, builds and
  saves the base without any lock — writes go on, appending segments, meanwhile — then
  takes the write lock for a moment to publish: it renames the base into place and
  rewrites the *current* generation's record as base G + the segments written after G +
  the tombstones of ids removed after G. Same generation, same live vectors: readers that
  opened the old composition keep it until the next write. It gives up, leaving nothing
  named, when something changed the base or merged segments meanwhile (the next write
  starts another); writers skip segment merges while it runs.

A process rather than a thread: an API write's writer lives for one request, and the
HNSW build at 1M passages takes minutes of CPU the serving process should not hold.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .db import IndexDB
from .layout import fsync_dir, temp_path, vector_path
from .lock import WriteLock
from .manifest import Manifest
from .vector_files import (
    FOLD_LOCK,
    VectorPolicy,
    VectorRecord,
    load_removed,
    read_record,
    remove_unnamed,
    write_file_durably,
    write_removed,
)
from .vector_index import VectorIndex, build_vector_index

#: How long a background fold waits for the write lock to publish (a bulk run holds it).
FOLD_PUBLISH_WAIT_S = 3600.0
#: Tries (0.1 s apart) to find the store at a generation with a record.
SNAPSHOT_TRIES = 50


def _build(db: IndexDB, dimension: int,
           policy: VectorPolicy) -> tuple[int, np.ndarray, VectorIndex]:
    """The store's generation, passage ids, and a base index over all its vectors."""
    with db.read_transaction():
        generation = db.generation()
        ids, vectors = db.load_all_vectors(dimension)
    return generation, ids, _base(ids, vectors, dimension, policy)


def _base(ids: np.ndarray, vectors: np.ndarray, dimension: int,
          policy: VectorPolicy) -> VectorIndex:
    return build_vector_index(policy.kind_for(len(ids)), dimension, ids, vectors)


def fold_inline(directory: Path, db: IndexDB, dimension: int,
                policy: VectorPolicy) -> VectorRecord:
    """Write a base of every stored vector as the store's generation's (the caller holds
    the write lock and saves the returned record)."""
    generation, ids, index = _build(db, dimension, policy)
    path = vector_path(directory, generation)
    crc = write_file_durably(path, index.save)
    max_id = int(ids[-1]) if len(ids) else 0
    return VectorRecord(generation, index.kind, generation, len(ids), max_id, [], None, 0,
                        len(ids), max_id, {path.name: crc})


def _try_lock(directory: Path, create: bool = True) -> int | None:
    """The fold lock's descriptor, held; None when another process holds it (or, unless
    ``create``, when there is no lock file: no fold ever ran)."""
    try:
        fd = os.open(Path(directory) / FOLD_LOCK, os.O_RDWR | (os.O_CREAT if create else 0),
                     0o644)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def fold_running(directory: Path) -> bool:
    """True while a background fold holds ``vectors-fold.lock``."""
    if not (Path(directory) / FOLD_LOCK).exists():
        return False
    fd = _try_lock(directory, create=False)
    if fd is None:
        return True
    os.close(fd)
    return False


def start_background_fold(directory: Path, policy: VectorPolicy) -> bool:
    """Start ``python -m indexer.vector_fold`` on ``directory`` unless one runs; True if
    started. It outlives the caller (its own session) and writes nothing on failure."""
    if fold_running(directory):
        return False
    subprocess.Popen([sys.executable, "-m", "indexer.vector_fold", str(directory),
                      json.dumps(asdict(policy))], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, close_fds=True)
    return True


def fold_in_background(directory: Path, policy: VectorPolicy) -> str:
    """The background fold (see the module docstring); returns what happened: 'busy',
    'not needed', 'no record', 'published' or 'stale'."""
    directory = Path(directory)
    fd = _try_lock(directory)
    if fd is None:
        return "busy"
    tmp: Path | None = None
    try:
        dimension = Manifest.load(directory).dimension
        with IndexDB(directory, readonly=True) as db:
            found = _snapshot(directory, db, dimension, policy)
        if isinstance(found, str):
            return found
        record, ids, index = found
        tmp = temp_path(vector_path(directory, record.generation))
        crc = write_file_durably(tmp, index.save)  # renamed over itself: durable, not named
        lock = WriteLock(directory)
        lock.acquire(FOLD_PUBLISH_WAIT_S)
        try:
            with IndexDB(directory) as db:
                return _publish(directory, db, record, tmp, crc, ids, index.kind)
        finally:
            lock.release()
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        os.close(fd)


def _snapshot(directory: Path, db: IndexDB, dimension: int, policy: VectorPolicy
              ) -> tuple[VectorRecord, np.ndarray, VectorIndex] | str:
    """The record of a generation G the store is at, its ids and a base built at G."""
    for _ in range(SNAPSHOT_TRIES):
        with db.read_transaction():
            record = read_record(directory, db.generation())
            if record is not None and policy.wants_fold(record):
                ids, vectors = db.load_all_vectors(dimension)
        if record is not None and not policy.wants_fold(record):
            return "not needed"
        if record is not None:
            return record, ids, _base(ids, vectors, dimension, policy)
        time.sleep(0.1)  # a writer between its commit and its record
    return "no record"


def _publish(directory: Path, db: IndexDB, at: VectorRecord, tmp: Path, crc: int,
             ids: np.ndarray, kind: str) -> str:
    """Under the write lock: make the base built at ``at.generation`` the current
    generation's, with the segments and tombstones that came after it."""
    current = read_record(directory, db.generation())
    if current is None or current.base != at.base:
        return "stale"  # no record yet, or another fold or a compaction came first
    kept = [s for s in current.segments if s.generation > at.generation]
    if any(s.min_id <= at.max_id for s in kept):
        return "stale"  # segments merged meanwhile: some rows are in the new base too
    after = np.setdiff1d(load_removed(directory, current), load_removed(directory, at))
    base = vector_path(directory, at.generation)
    os.replace(tmp, base)
    fsync_dir(directory)
    checksums = {base.name: crc}
    checksums.update({k: v for k, v in current.checksums.items()
                      if k.endswith(".seg") and int(k.split(".")[1]) > at.generation})
    removed = None
    if len(after):
        removed = f"vectors.{current.generation}.f{at.generation}.removed.npy"
        checksums[removed] = write_removed(directory, removed, after)
    record = VectorRecord(current.generation, kind, at.generation, len(ids), at.max_id, kept,
                          removed, len(after), current.passages, current.max_id, checksums)
    record.save(directory)
    remove_unnamed(directory, current.generation)
    manifest = Manifest.load(directory)
    if manifest.vector_index != kind:
        manifest.vector_index = kind
        manifest.save(directory)
    return "published"


if __name__ == "__main__":  # started by start_background_fold
    fold_in_background(Path(sys.argv[1]), VectorPolicy(**json.loads(sys.argv[2])))
