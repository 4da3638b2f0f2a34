"""Approximate vector search: an HNSW graph (``IndexHNSWFlat``, M=32).

FAISS HNSW cannot remove ids, so this backend keeps a tombstone set and filters it at
search time; the writer rebuilds the graph from the store's vectors before saving it
when it has any.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from indexer.vector_index.base import VectorHits, VectorIndex, faiss_module


class HnswIndex(VectorIndex):
    """Approximate search: HNSW graph; deletions are tombstones until the next rebuild."""

    kind = "hnsw"

    def __init__(self, dimension: int, index: Any = None, tombstones: set[int] | None = None,
                 m: int = 32, ef_search: int = 128) -> None:
        faiss = faiss_module()
        self.dimension = dimension
        if index is None:
            base = faiss.IndexHNSWFlat(dimension, m, faiss.METRIC_INNER_PRODUCT)
            base.hnsw.efConstruction = 80
            index = faiss.IndexIDMap2(base)
        self._index = index
        self.ef_search = ef_search
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
        faiss = faiss_module()
        if self._index.ntotal == 0 or k <= 0 or (allowed is not None and len(allowed) == 0):
            return VectorHits(np.zeros(0, np.int64), np.zeros(0, np.float32))
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        sel = self._selector(allowed)
        ef = max(self.ef_search, k)
        params = faiss.SearchParametersHNSW(sel=sel, efSearch=ef) if sel is not None \
            else faiss.SearchParametersHNSW(efSearch=ef)
        scores, ids = self._index.search(q, k, params=params)
        keep = ids[0] >= 0
        return VectorHits(ids[0][keep], scores[0][keep])

    def _selector(self, allowed: np.ndarray | None) -> Any:
        """The FAISS id selector for ``allowed`` less the tombstones (None: every id)."""
        faiss = faiss_module()
        if allowed is not None:
            live = np.setdiff1d(np.asarray(allowed, np.int64),
                                np.fromiter(self.tombstones, np.int64))
            return faiss.IDSelectorBatch(live)
        if self.tombstones:
            return faiss.IDSelectorNot(
                faiss.IDSelectorBatch(np.fromiter(self.tombstones, np.int64)))
        return None

    def ids(self) -> np.ndarray:
        all_ids = faiss_module().vector_to_array(self._index.id_map).astype(np.int64)
        if not self.tombstones:
            return all_ids
        return np.setdiff1d(all_ids, np.fromiter(self.tombstones, np.int64))

    def save(self, path: Path) -> None:
        faiss_module().write_index(self._index, str(path))
