"""Exact vector search: ``IndexIDMap2`` over ``IndexFlatIP``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from indexer.vector_index.base import VectorHits, VectorIndex, faiss_module


class FlatIndex(VectorIndex):
    """Exact search (``IndexIDMap2`` over ``IndexFlatIP``)."""

    kind = "flat"

    def __init__(self, dimension: int, index: Any = None) -> None:
        faiss = faiss_module()
        self.dimension = dimension
        self._index = (index if index is not None
                       else faiss.IndexIDMap2(faiss.IndexFlatIP(dimension)))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                                     np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> None:
        if len(ids):
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> VectorHits:
        faiss = faiss_module()
        n = self._index.ntotal
        if n == 0 or k <= 0 or (allowed is not None and len(allowed) == 0):
            return VectorHits(np.zeros(0, np.int64), np.zeros(0, np.float32))
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(
                sel=faiss.IDSelectorBatch(np.asarray(allowed, np.int64)))
        scores, ids = self._index.search(q, min(k, n), params=params)
        keep = ids[0] >= 0
        return VectorHits(ids[0][keep], scores[0][keep])

    def ids(self) -> np.ndarray:
        return faiss_module().vector_to_array(self._index.id_map).astype(np.int64)

    def save(self, path: Path) -> None:
        faiss_module().write_index(self._index, str(path))
