"""Vector indexes: one interface, FAISS backends, and a factory that picks by size.

Vectors are L2-normalised, so inner product = cosine. Every backend maps FAISS ids to
passage ids (``IndexIDMap2``) and supports removal, so deletes and updates never need a
full rebuild. ``flat`` is exact; ``hnsw`` (``IndexHNSWFlat``, M=32) is the
approximate choice above ``Settings.vector_index_threshold`` passages; FAISS HNSW cannot
remove ids, so the HNSW backend keeps a tombstone set and filters it at search time; the
writer rebuilds the graph from the store's vectors before saving it when it has any.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import IndexFormatError


@dataclass
class VectorHits:
    """Search result: passage ids and scores, best first (unfilled slots removed)."""

    ids: np.ndarray
    scores: np.ndarray


class VectorIndex(ABC):
    """A searchable set of (passage id, vector) pairs."""

    kind: str

    @abstractmethod
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under the given passage ids."""

    @abstractmethod
    def remove(self, ids: np.ndarray) -> None:
        """Remove passage ids (unknown ids are ignored)."""

    @abstractmethod
    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> VectorHits:
        """Top-k by inner product; ``allowed`` restricts the search to those passage ids."""

    @abstractmethod
    def ids(self) -> np.ndarray:
        """All live passage ids."""

    @abstractmethod
    def save(self, path: Path) -> None:
        """Write the index to ``path`` (the caller makes it atomic)."""

    def __len__(self) -> int:
        return int(len(self.ids()))


def _faiss():
    import faiss

    return faiss


class FlatIndex(VectorIndex):
    """Exact search (``IndexIDMap2`` over ``IndexFlatIP``)."""

    kind = "flat"

    def __init__(self, dimension: int, index=None) -> None:
        faiss = _faiss()
        self.dimension = dimension
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                                     np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> None:
        if len(ids):
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> VectorHits:
        faiss = _faiss()
        n = self._index.ntotal
        if n == 0 or k <= 0 or (allowed is not None and len(allowed) == 0):
            return VectorHits(np.zeros(0, np.int64), np.zeros(0, np.float32))
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.asarray(allowed, np.int64)))
        scores, ids = self._index.search(q, min(k, n), params=params)
        keep = ids[0] >= 0
        return VectorHits(ids[0][keep], scores[0][keep])

    def ids(self) -> np.ndarray:
        return _faiss().vector_to_array(self._index.id_map).astype(np.int64)

    def save(self, path: Path) -> None:
        _faiss().write_index(self._index, str(path))


class HnswIndex(VectorIndex):
    """Approximate search: HNSW graph; deletions are tombstones until the next rebuild."""

    kind = "hnsw"

    def __init__(self, dimension: int, index=None, tombstones: set[int] | None = None,
                 m: int = 32, ef_search: int = 128) -> None:
        faiss = _faiss()
        self.dimension = dimension
        if index is None:
            base = faiss.IndexHNSWFlat(dimension, m, faiss.METRIC_INNER_PRODUCT)
            base.hnsw.efConstruction = 80
            index = faiss.IndexIDMap2(base)
        self._index = index
        faiss.downcast_index(self._index.index).hnsw.efSearch = ef_search
        self.tombstones: set[int] = set(tombstones or ())

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self.tombstones.difference_update(int(i) for i in ids)
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                                     np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> None:
        self.tombstones.update(int(i) for i in ids)

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> VectorHits:
        faiss = _faiss()
        if self._index.ntotal == 0 or k <= 0 or (allowed is not None and len(allowed) == 0):
            return VectorHits(np.zeros(0, np.int64), np.zeros(0, np.float32))
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        sel = None
        if allowed is not None:
            live = np.setdiff1d(np.asarray(allowed, np.int64), np.fromiter(self.tombstones, np.int64))
            sel = faiss.IDSelectorBatch(live)
        elif self.tombstones:
            sel = faiss.IDSelectorNot(faiss.IDSelectorBatch(np.fromiter(self.tombstones, np.int64)))
        params = faiss.SearchParametersHNSW(sel=sel, efSearch=max(128, k)) if sel is not None \
            else faiss.SearchParametersHNSW(efSearch=max(128, k))
        scores, ids = self._index.search(q, k, params=params)
        keep = ids[0] >= 0
        return VectorHits(ids[0][keep], scores[0][keep])

    def ids(self) -> np.ndarray:
        all_ids = _faiss().vector_to_array(self._index.id_map).astype(np.int64)
        if not self.tombstones:
            return all_ids
        return np.setdiff1d(all_ids, np.fromiter(self.tombstones, np.int64))

    def save(self, path: Path) -> None:
        _faiss().write_index(self._index, str(path))


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


def build_vector_index(kind: str, dimension: int, ids: np.ndarray, vectors: np.ndarray) -> VectorIndex:
    """Build an index of ``kind`` holding ``vectors`` under ``ids``."""
    index = create_vector_index(kind, dimension)
    index.add(ids, vectors)
    return index


def load_vector_index(path: Path, kind: str, dimension: int,
                      tombstones: set[int] | None = None) -> VectorIndex:
    """Read an index written by :meth:`VectorIndex.save`; damage → IndexFormatError."""
    faiss = _faiss()
    try:
        index = faiss.read_index(str(path))
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
