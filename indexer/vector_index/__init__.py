"""Vector indexes: one interface, FAISS backends, and a factory that picks by size.

Vectors are L2-normalised, so inner product = cosine. ``base`` holds the interface
(:class:`VectorIndex`, :class:`VectorHits`); ``flat`` (exact) and ``hnsw`` (approximate,
with tombstones for removals) implement it and import only ``base``; ``compressed``
(``hnsw-fp16``, HNSW over 16-bit vectors for large indexes) extends ``hnsw`` and is
imported only when that kind is made or read; ``factory`` creates, chooses, builds and
loads them. FAISS is imported lazily, inside the functions that use
it. This package only re-exports; callers import from ``indexer.vector_index``.
"""

from __future__ import annotations

from indexer.vector_index.base import VectorHits, VectorIndex
from indexer.vector_index.factory import (
    build_vector_index,
    choose_kind,
    create_vector_index,
    load_vector_index,
)
from indexer.vector_index.flat import FlatIndex
from indexer.vector_index.hnsw import HnswIndex

__all__ = [
    "VectorHits",
    "VectorIndex",
    "FlatIndex",
    "HnswIndex",
    "create_vector_index",
    "choose_kind",
    "build_vector_index",
    "load_vector_index",
]
