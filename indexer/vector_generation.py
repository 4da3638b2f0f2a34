"""Load and append one generation's vectors (:mod:`indexer.vector_files` describes the files).

:func:`write_vector_generation` is the writer's (and recovery's) one call after a commit:
it costs what the batch added and removed, not what the index holds, unless the policy
asks for a fold (:mod:`indexer.vector_fold`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .db import IndexDB
from .errors import IndexFormatError
from .layout import vector_path
from .vector_files import (
    SegmentInfo,
    VectorPolicy,
    VectorRecord,
    legacy_record,
    load_removed,
    read_record,
    record_generations,
    remove_unnamed,
    segment_path,
    vectors_written,
    write_file_durably,
    write_removed,
)
from .vector_index import FlatIndex, VectorIndex, load_vector_index
from .vector_index.segmented import SegmentedIndex

#: A reader re-reads the record this many times when a file it names vanished meanwhile.
LOAD_TRIES = 3


def current_record(directory: Path, generation: int, kind: str) -> VectorRecord | None:
    """The record of ``generation``, or the pre-record base file as one (rows unknown: -1)."""
    record = read_record(directory, generation)
    if record is None and not record_generations(directory) \
            and vector_path(directory, generation).exists():
        record = legacy_record(directory, generation, kind, -1)
    return record


def open_record(directory: Path, record: VectorRecord, dimension: int,
                mapped: bool) -> SegmentedIndex:
    """Open the files of ``record`` (IndexFormatError when one is missing or damaged)."""
    removed = load_removed(directory, record)
    base = None
    if record.base is not None:
        base = load_vector_index(vector_path(directory, record.base), record.kind, dimension,
                                 {int(i) for i in removed} if record.kind == "hnsw" else None,
                                 mapped=mapped)
    segments: list[VectorIndex] = [
        load_vector_index(segment_path(directory, s.generation), "flat", dimension,
                          mapped=mapped) for s in record.segments]
    live = record.passages
    if record.base is not None and record.base_rows < 0:  # a pre-record file
        live = len(base) if base is not None else 0
    return SegmentedIndex(dimension, base, segments, removed, live)


def load_generation(directory: Path, generation: int, kind: str, dimension: int,
                    passages: int, *, mapped: bool = False) -> VectorIndex | None:
    """The vectors of ``generation`` if written and holding ``passages`` live vectors, else
    None. A base alone is returned as itself (no composition to pay for)."""
    damaged: IndexFormatError | None = None
    for _ in range(LOAD_TRIES):
        record = current_record(directory, generation, kind)
        if record is None:
            return None
        try:
            index = open_record(directory, record, dimension, mapped)
        except IndexFormatError as exc:
            damaged = exc  # or a fold replaced the record meanwhile: read it again
            continue
        except (OSError, ValueError):
            continue
        if len(index) != passages:
            return None
        if index.base is not None and not index.segments and not len(index.removed):
            return index.base
        return index
    if damaged is not None:
        raise damaged  # still damaged on every read: refuse, never rebuild silently over it
    return None


@dataclass
class VectorWrite:
    """What :func:`write_vector_generation` did: 'current', 'append', 'merge' (the
    segments rebuilt as one), 'fold' (a new base) or 'fold-started' (in the background)."""

    generation: int
    mode: str
    added: int
    removed: int
    segments: int
    seconds: float
    kind: str  # the base's


def write_vector_generation(directory: Path, db: IndexDB, kind: str, dimension: int,
                            policy: VectorPolicy, removed: np.ndarray | None,
                            since: int | None = None, *, background: bool = False,
                            rebuild: bool = False) -> VectorWrite:
    """Write the vectors of the store's generation (the caller holds the write lock).

    ``removed``: the passage ids the caller removed since generation ``since``'s record
    (the writer keeps them); None, or another newest record: found by comparing with the
    store (recovery). ``background``: a fold too large to run inline starts in a process
    of its own. ``rebuild`` (``vnsearch compact``): always fold, inline.
    """
    from .vector_fold import fold_inline, fold_running, start_background_fold

    started = time.perf_counter()
    generation = db.generation()
    if not rebuild and read_record(directory, generation) is not None \
            and vectors_written(directory, generation):
        return VectorWrite(generation, "current", 0, 0, 0, 0.0, kind)
    previous = None if rebuild else _newest_before(directory, generation, kind, dimension)
    if previous is None:
        record = fold_inline(directory, db, dimension, policy)
        return _done(directory, record, "fold", record.passages, 0, started)
    with db.read_transaction():
        ids, vectors = db.load_all_vectors(dimension, after=previous.max_id)
        dead = _newly_removed(directory, db, previous, dimension,
                              removed if since == previous.generation else None)
    # exact without counting the store (a cost that grows with it): ``dead`` were live
    passages = previous.passages + len(ids) - len(dead)
    record = _appended(directory, previous, generation, ids, dead, passages)
    mode = "append"
    if policy.wants_fold(record):
        if not background or passages <= policy.inline_fold_rows:
            record = fold_inline(directory, db, dimension, policy)
            return _done(directory, record, "fold", record.passages, len(dead), started)
        mode = "fold-started" if start_background_fold(directory, policy) else mode
    if len(record.segments) + bool(len(ids)) > policy.max_segments \
            and not fold_running(directory):
        return _merge_segments(directory, db, record, dimension, dead, len(ids), started)
    record = _write_append(directory, record, ids, vectors, previous, dead)
    return _done(directory, record, mode, len(ids), len(dead), started)


def _done(directory: Path, record: VectorRecord, mode: str, added: int, removed: int,
          started: float) -> VectorWrite:
    record.save(directory)
    remove_unnamed(directory, record.generation)
    return VectorWrite(record.generation, mode, added, removed, len(record.segments),
                       time.perf_counter() - started, record.kind)


def _newest_before(directory: Path, generation: int, kind: str,
                   dimension: int) -> VectorRecord | None:
    """The newest earlier record whose files are all there, else an index's pre-record
    FAISS file as a record (None: fold)."""
    generations = record_generations(directory)
    for g in sorted(generations, reverse=True):
        if g < generation:
            record = read_record(directory, g)
            if record is not None and all(p.exists() for p in record.files(directory)):
                return record
    if generations:
        return None
    files = [(int(p.name.split(".")[1]), p) for p in Path(directory).glob("vectors.*.faiss")
             if p.name.split(".")[1].isdigit()]
    for g, path in sorted(files, reverse=True):
        if g <= generation:
            try:
                ids = load_vector_index(path, kind, dimension, mapped=True).ids()
            except IndexFormatError:
                return None
            max_id = int(ids.max()) if len(ids) else 0
            return VectorRecord(g, kind, g, len(ids), max_id, [], None, 0, len(ids), max_id)
    return None


def _newly_removed(directory: Path, db: IndexDB, previous: VectorRecord, dimension: int,
                   removed: np.ndarray | None) -> np.ndarray:
    """Passage ids that ``previous`` holds live and the store no longer has (sorted)."""
    if removed is not None:
        ids = np.unique(np.asarray(removed, np.int64))
        # ids above max_id were added and removed between two records: in no file.
        return np.setdiff1d(ids[ids <= previous.max_id], load_removed(directory, previous))
    covered = open_record(directory, previous, dimension, mapped=True).ids()
    return np.setdiff1d(covered, db.passage_id_array(), assume_unique=True)


def _appended(directory: Path, previous: VectorRecord, generation: int, ids: np.ndarray,
              dead: np.ndarray, passages: int) -> VectorRecord:
    """``previous`` plus a segment of ``ids`` and the tombstones ``dead`` (not yet written)."""
    segments = list(previous.segments)
    if len(ids):
        segments.append(SegmentInfo(generation, len(ids), int(ids[0]), int(ids[-1])))
    return VectorRecord(generation, previous.kind, previous.base, previous.base_rows,
                        previous.base_max_id, segments, previous.removed,
                        previous.removed_count + len(dead), passages,
                        max(previous.max_id, int(ids[-1]) if len(ids) else 0),
                        dict(previous.checksums))


def _write_append(directory: Path, record: VectorRecord, ids: np.ndarray, vectors: np.ndarray,
                  previous: VectorRecord, dead: np.ndarray) -> VectorRecord:
    """Write the new segment file and the grown tombstone file of ``record``."""
    dimension = vectors.shape[1] if vectors.ndim == 2 else 0
    if len(ids):
        segment = FlatIndex(dimension)
        segment.add(ids, vectors)
        path = segment_path(directory, record.generation)
        record.checksums[path.name] = write_file_durably(path, segment.save)
    if len(dead):
        all_dead = np.union1d(load_removed(directory, previous), dead)
        name = f"vectors.{record.generation}.removed.npy"
        record.checksums.pop(record.removed or "", None)
        record.checksums[name] = write_removed(directory, name, all_dead)
        record.removed, record.removed_count = name, len(all_dead)
    return record


def _merge_segments(directory: Path, db: IndexDB, record: VectorRecord, dimension: int,
                    dead: np.ndarray, added: int, started: float) -> VectorWrite:
    """Past ``max_segments``: the segments become one, read from the store (the passages
    above the base's ``base_max_id``), which also drops their tombstones: cost ∝ their rows."""
    with db.read_transaction():
        ids, vectors = db.load_all_vectors(dimension, after=record.base_max_id)
    every_dead = np.union1d(load_removed(directory, record), dead)
    base_dead = every_dead[every_dead <= record.base_max_id]
    merged = VectorRecord(record.generation, record.kind, record.base, record.base_rows,
                          record.base_max_id, [], None, 0, record.passages,
                          max(record.max_id, int(ids[-1]) if len(ids) else 0), {})
    if record.base is not None and record.checksums.get(vector_path(directory, record.base).name):
        name = vector_path(directory, record.base).name
        merged.checksums[name] = record.checksums[name]
    empty = VectorRecord(0, "", None, 0, 0, [], None, 0, 0, 0)
    merged = _write_append(directory, merged, ids, vectors, empty, base_dead)
    if len(ids):
        merged.segments = [SegmentInfo(record.generation, len(ids), int(ids[0]), int(ids[-1]))]
    return _done(directory, merged, "merge", added, len(dead), started)
