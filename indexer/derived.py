"""The derived files of an index: the vector files (:mod:`.vector_files`) and the lexical
matrix files (:mod:`.lexical.files`) of each generation, and the manifest.

The SQLite store is the truth; these files are rebuilt from it. One module loads and
writes them, for both the writer (after each committed batch) and recovery (after a writer
died between its commit and these writes).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from .db import IndexDB
from .layout import utc_now
from .lexical.files import FORMAT as LEXICAL_FORMAT
from .lexical.files import LexicalWrite, lexical_dir, write_lexical
from .manifest import Manifest
from .vector_files import VectorPolicy, vectors_written
from .vector_fold import fold_running
from .vector_generation import VectorWrite, load_generation, write_vector_generation
from .vector_index import VectorIndex, build_vector_index


def rebuild_vectors(db: IndexDB, kind: str, dimension: int) -> VectorIndex:
    """A vector index of ``kind`` over every vector stored in ``db``."""
    ids, vectors = db.load_all_vectors(dimension)
    return build_vector_index(kind, dimension, ids, vectors)


def load_current_vectors(directory: Path, db: IndexDB, manifest: Manifest, generation: int,
                         passages: int, *, mapped: bool = False) -> VectorIndex | None:
    """The vectors of ``generation`` (base + segments − tombstones, :mod:`.vector_files`) if
    written and holding ``passages`` vectors, else None; ``mapped`` (readers only):
    memory-mapped, shared between reader processes."""
    return load_generation(directory, generation, manifest.vector_index, manifest.dimension,
                           passages, mapped=mapped)


def write_vectors(directory: Path, db: IndexDB, manifest: Manifest, policy: VectorPolicy,
                  removed: np.ndarray | None = None, since: int | None = None, *,
                  background: bool = False, rebuild: bool = False) -> VectorWrite:
    """Write the store's generation's vectors (append a segment, or fold: see
    :func:`.vector_generation.write_vector_generation`) and note the base's kind."""
    done = write_vector_generation(directory, db, manifest.vector_index, manifest.dimension,
                                   policy, removed, since, background=background,
                                   rebuild=rebuild)
    manifest.vector_index = done.kind
    return done


def write_manifest(directory: Path, manifest: Manifest, db: IndexDB,
                   lexical: LexicalWrite | None = None) -> None:
    """Bring the manifest's generation and counts to the store's (and its record of the
    lexical files to ``lexical``, when given) and save it atomically."""
    manifest.generation = db.generation()
    manifest.counts = db.counts()
    if lexical is not None:
        manifest.lexical = {"directory": lexical_dir(directory, lexical.generation).name,
                            "generation": lexical.generation, "format": LEXICAL_FORMAT,
                            "segments": lexical.segments, "masked": lexical.masked}
    manifest.updated = utc_now()
    manifest.save(directory)


def roll_forward(directory: Path, manifest: Manifest, db: IndexDB,
                 policy: VectorPolicy | None = None) -> None:
    """Recovery: write whatever derived file lags behind the store (the caller holds the lock)."""
    db.check_schema()
    generation = db.generation()
    if not vectors_written(directory, generation):
        # compared with the store: what a dead writer removed is not known otherwise
        write_vectors(directory, db, manifest, policy or VectorPolicy())
    lexical = write_lexical(directory, db)  # incremental from an older generation's files
    if manifest.generation != generation or manifest.counts != db.counts() \
            or manifest.lexical.get("generation") != generation:
        write_manifest(directory, manifest, db, lexical)
    fold_busy = fold_running(directory)  # its temporary base is being written
    for tmp in directory.glob(".*.tmp"):
        if fold_busy and tmp.name.startswith(".vectors."):
            continue
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)  # a lexical directory being written
        else:
            tmp.unlink(missing_ok=True)


def derived_missing(directory: Path, generation: int) -> bool:
    """True when a derived file of ``generation`` (vectors, lexical matrix) is absent."""
    return not (vectors_written(directory, generation)
                and (lexical_dir(directory, generation) / "header.json").exists())
