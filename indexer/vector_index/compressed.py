"""Compressed approximate search for large indexes: HNSW over 8-bit scalar-quantised
vectors (``IndexHNSWSQ``, ``QT_8bit``, M=32), kind ``hnsw-sq8``.

Each component is stored as one byte on a per-component range learnt from the vectors
the index is built from, so a 384-dimension passage costs 384 bytes instead of 1,536
(plus the graph's 256 bytes and the id map: ~660 bytes/passage on disk and in memory
against ~1,800 for ``hnsw``). Why this one (``bench/vector_recall.py``, real passage
vectors and real questions, docs/performance.md "Compressed vectors"):

* **recall**: the 8-bit rounding error (≈0.1 % of a component's range) is far below the
  score gaps of a top 10; recall@10 against exact search stays ≥ 0.98 at efSearch 128,
  within a point of ``hnsw`` at every measured size;
* against IVF over the same 8-bit codes (~410 bytes/passage, no graph), which needs
  k-means training, a probe count tuned to the size (recall drops at a fixed ``nprobe``
  as lists grow) and fixed centroids as the corpus drifts, HNSW-SQ8 keeps ``hnsw``'s
  behaviour (same graph, same tombstones, same ``efSearch`` knob) for ~250 more bytes;
* fp16 (``QT_fp16``) is near-lossless but saves only a third.

Removals are tombstones as in :class:`~indexer.vector_index.hnsw.HnswIndex` (FAISS
HNSW cannot remove); searches, ``allowed`` and ``ids()`` are inherited. FAISS reads
this index type with ``IO_FLAG_MMAP_IFC`` too, so readers share one mapped copy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from indexer.vector_index.base import faiss_module
from indexer.vector_index.hnsw import HnswIndex

#: Below this many vectors, the first batch is too small to learn each component's range
#: from; train on it and its negation (symmetric ranges) so that later additions are not
#: clipped. The writer builds this kind from every stored vector, far above this.
MIN_TRAIN = 10_000


class HnswSq8Index(HnswIndex):
    """HNSW graph over 8-bit scalar-quantised vectors; deletions are tombstones."""

    kind = "hnsw-sq8"

    def __init__(self, dimension: int, index: Any = None, tombstones: set[int] | None = None,
                 m: int = 32, ef_search: int = 128) -> None:
        if index is None:
            faiss = faiss_module()
            base = faiss.IndexHNSWSQ(dimension, faiss.ScalarQuantizer.QT_8bit, m,
                                     faiss.METRIC_INNER_PRODUCT)
            base.hnsw.efConstruction = 80
            index = faiss.IndexIDMap2(base)
        super().__init__(dimension, index, tombstones, m=m, ef_search=ef_search)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) and not self._index.is_trained:
            sample = np.ascontiguousarray(vectors, dtype=np.float32)
            if len(sample) < MIN_TRAIN:
                sample = np.vstack([sample, -sample])
            self._index.train(sample)
        super().add(ids, vectors)
