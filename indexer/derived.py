"""The derived files of an index: the FAISS file and the lexical matrix files
(:mod:`.lexical.files`) of each generation, and the manifest.

The SQLite store is the truth; these files are rebuilt from it. One module loads and
writes them, for both the writer (after each committed batch) and recovery (after a writer
died between its commit and these writes).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .db import IndexDB
from .layout import temp_path, utc_now, vector_path
from .lexical.files import FORMAT as LEXICAL_FORMAT
from .lexical.files import LexicalWrite, lexical_dir, write_lexical
from .manifest import Manifest
from .vector_index import VectorIndex, build_vector_index, load_vector_index


def rebuild_vectors(db: IndexDB, kind: str, dimension: int) -> VectorIndex:
    """A vector index of ``kind`` over every vector stored in ``db``."""
    ids, vectors = db.load_all_vectors(dimension)
    return build_vector_index(kind, dimension, ids, vectors)


def load_current_vectors(directory: Path, db: IndexDB, manifest: Manifest, generation: int,
                         passages: int, *, mapped: bool = False) -> VectorIndex | None:
    """The FAISS file of ``generation`` if it exists and holds ``passages`` vectors, else
    None; ``mapped`` (readers only): memory-mapped, shared between reader processes."""
    path = vector_path(directory, generation)
    if not path.exists():
        return None
    index = load_vector_index(path, manifest.vector_index, manifest.dimension, mapped=mapped)
    return index if len(index) == passages else None


def write_vectors(directory: Path, generation: int, index: VectorIndex) -> Path:
    """Write the FAISS file of ``generation`` durably (temp, fsync, rename); drop older ones."""
    path = vector_path(directory, generation)
    tmp = temp_path(path)
    index.save(tmp)
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    remove_other_vector_files(directory, path)
    return path


def remove_other_vector_files(directory: Path, keep: Path) -> None:
    """Delete the FAISS files of every generation but ``keep``'s."""
    for old in directory.glob("vectors.*.faiss"):
        if old != keep:
            old.unlink(missing_ok=True)


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


def roll_forward(directory: Path, manifest: Manifest, db: IndexDB) -> None:
    """Recovery: write whatever derived file lags behind the store (the caller holds the lock)."""
    db.check_schema()
    generation = db.generation()
    path = vector_path(directory, generation)
    if not path.exists():
        write_vectors(directory, generation,
                      rebuild_vectors(db, manifest.vector_index, manifest.dimension))
    lexical = write_lexical(directory, db)  # incremental from an older generation's files
    if manifest.generation != generation or manifest.counts != db.counts() \
            or manifest.lexical.get("generation") != generation:
        write_manifest(directory, manifest, db, lexical)
    remove_other_vector_files(directory, path)
    for tmp in directory.glob(".*.tmp"):
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)  # a lexical directory being written
        else:
            tmp.unlink(missing_ok=True)


def derived_missing(directory: Path, generation: int) -> bool:
    """True when a derived file of ``generation`` (FAISS, lexical matrix) is absent."""
    return not (vector_path(directory, generation).exists()
                and (lexical_dir(directory, generation) / "header.json").exists())
