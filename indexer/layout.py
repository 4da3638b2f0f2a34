"""The files of an index directory, and how they are written (atomically).

Layout of an index directory::

    manifest.json        format version, model, dimension, chunking, counts, generation
    store.sqlite         articles, article_urls, passages (with their vectors), passages_fts
    vectors.<b>.faiss    a vector base: every vector of generation <b>, any kind
    vectors.<s>.seg      a delta segment: the vectors the write of generation <s> added (flat)
    vectors.<g>[.f<b>].removed.npy  tombstones: passage ids gone since the base
    vectors.<gen>.json   the record of generation <gen>: which base, segments and tombstones
                         form its vectors (:mod:`indexer.vector_files`; a write appends a
                         segment, a fold rebuilds the base: :mod:`indexer.vector_fold`)
    vectors-fold.lock    flock()ed by a background fold while it runs
    lexical.<gen>/       the BM25 matrix files of generation <gen> (:mod:`indexer.lexical.files`;
                         the previous generation's stays while a reader may map it)
    write.lock           flock()ed by the one process allowed to write

Crash safety: every batch of articles is one SQLite transaction that also bumps the
``generation`` counter, so after a kill the store is at the state before or after the last
completed batch. The vector files, the lexical matrix files and the manifest are derived
from the store (:mod:`indexer.derived`): written after the commit (temporary file or
directory + fsync + rename; a vector record last) and rolled forward from the store by the
next process that finds them lagging behind it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

FORMAT_NAME = "vnsearch-index"
FORMAT_VERSION = 1
SCHEMA_VERSION = 3
MANIFEST = "manifest.json"
DATABASE = "store.sqlite"
LOCK = "write.lock"


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the second (stored in manifests and rows)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def vector_path(directory: Path, generation: int) -> Path:
    """The vector base file written at store generation ``generation`` (before vector
    records: the generation's only vector file)."""
    return directory / f"vectors.{generation}.faiss"


def temp_path(path: Path) -> Path:
    """A hidden per-process sibling of ``path`` to write before renaming over it."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def atomic_write(path: Path, text: str | bytes) -> None:
    """Write ``path`` via a temporary file, fsync and rename (never a half-written file)."""
    tmp = temp_path(path)
    data = text.encode("utf-8") if isinstance(text, str) else text
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename inside ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
