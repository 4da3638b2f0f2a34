"""Create, choose, build and load vector indexes by kind ('flat' or 'hnsw').

``flat`` is exact; ``hnsw`` is the approximate choice above
``Settings.vector_index_threshold`` passages. FAISS itself is imported only when an
index is made or read (see :func:`~indexer.vector_index.base.faiss_module`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from indexer.errors import IndexFormatError
from indexer.vector_index.base import VectorIndex, faiss_module
from indexer.vector_index.flat import FlatIndex
from indexer.vector_index.hnsw import HnswIndex


def create_vector_index(kind: str, dimension: int) -> VectorIndex:
    """Empty index of ``kind`` ('flat' or 'hnsw')."""
    if kind == "flat":
        return FlatIndex(dimension)
    if kind == "hnsw":
        return HnswIndex(dimension)
    raise IndexFormatError(f"unknown vector index type {kind!r}")


def choose_kind(n_passages: int, threshold: int) -> str:
    """Exact while small; HNSW above ``threshold`` passages."""
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

    ``mapped``: memory-map the vectors (FAISS ``IO_FLAG_MMAP_IFC``, flat and HNSW alike)
    instead of reading them into this process, so that every reader process of one
    generation shares one copy through the page cache. Only for readers: a mapped index
    must not be added to. The writer replaces a generation's file by rename, never in
    place, so a mapping stays valid (an unlinked file stays readable while mapped).
    """
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
    if kind == "flat":
        return FlatIndex(dimension, index)
    if kind == "hnsw":
        return HnswIndex(dimension, index, tombstones)
    raise IndexFormatError(f"{path}: unknown vector index type {kind!r}")
