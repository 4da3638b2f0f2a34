"""Create, choose, build and load vector indexes by kind ('flat', 'hnsw', 'hnsw-fp16').

``flat`` is exact; ``hnsw`` is the approximate choice above
``Settings.vector_index_threshold`` passages and ``hnsw-fp16`` (vectors stored as 16-bit
floats, :mod:`.compressed`) the one above ``Settings.vector_index_compressed_threshold``;
``Settings.vector_index`` forces one. FAISS itself, and the compressed module, are
imported only when an index is made or read (see
:func:`~indexer.vector_index.base.faiss_module`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from indexer.errors import IndexFormatError
from indexer.vector_index.base import VectorIndex, faiss_module
from indexer.vector_index.flat import FlatIndex
from indexer.vector_index.hnsw import HnswIndex

#: Every kind a manifest may name (the strings are stored in manifests: never rename one).
KINDS = ("flat", "hnsw", "hnsw-fp16")


def _make(kind: str, dimension: int, index: Any = None,
          tombstones: set[int] | None = None) -> VectorIndex | None:
    if kind == "flat":
        return FlatIndex(dimension, index)
    if kind == "hnsw":
        return HnswIndex(dimension, index, tombstones)
    if kind == "hnsw-fp16":
        from indexer.vector_index.compressed import HnswFp16Index

        return HnswFp16Index(dimension, index, tombstones)
    return None


def create_vector_index(kind: str, dimension: int) -> VectorIndex:
    """Empty index of ``kind`` (one of :data:`KINDS`)."""
    index = _make(kind, dimension)
    if index is None:
        raise IndexFormatError(f"unknown vector index type {kind!r}")
    return index


def choose_kind(n_passages: int, threshold: int, compressed_threshold: int | None = None,
                force: str = "auto") -> str:
    """The kind for ``n_passages``: exact while small, HNSW above ``threshold``, compressed
    HNSW (``hnsw-fp16``) above ``compressed_threshold``; ``force`` (not 'auto') wins."""
    if force != "auto":
        return force
    if compressed_threshold is not None and n_passages > compressed_threshold:
        return "hnsw-fp16"
    return "hnsw" if n_passages > threshold else "flat"


def build_vector_index(kind: str, dimension: int, ids: np.ndarray,
                       vectors: np.ndarray) -> VectorIndex:
    """Build an index of ``kind`` holding ``vectors`` under ``ids``."""
    index = create_vector_index(kind, dimension)
    index.add(ids, vectors)
    return index


def load_vector_index(path: Path, kind: str, dimension: int,
                      tombstones: set[int] | None = None, *, mapped: bool = False) -> VectorIndex:
    """Read an index written by :meth:`VectorIndex.save`; damage → IndexFormatError.

    ``mapped``: memory-map the vectors (FAISS ``IO_FLAG_MMAP_IFC``; flat, HNSW and
    HNSW-fp16 alike) instead of reading them into this process, so that every reader
    process of one generation shares one copy through the page cache. Only for readers: a
    mapped index must not be added to. The writer replaces a generation's file by rename,
    never in place, so a mapping stays valid (an unlinked file stays readable while mapped).
    """
    if kind not in KINDS:
        raise IndexFormatError(f"{path}: unknown vector index type {kind!r}")
    faiss = faiss_module()
    try:
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC if mapped else 0)
    except Exception as exc:  # faiss raises RuntimeError with a C++ trace
        raise IndexFormatError(
            f"{path}: damaged or truncated vector file ({str(exc).splitlines()[0][:120]}); "
            "move it away and run `vnsearch check --index DIR`, which rebuilds it from "
            "the SQLite store") from None
    if index.d != dimension:
        raise IndexFormatError(f"{path}: dimension {index.d}, manifest says {dimension}")
    loaded = _make(kind, dimension, index, tombstones)
    assert loaded is not None  # kind checked above
    return loaded
