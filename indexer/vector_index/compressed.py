"""Compressed approximate search for large indexes, kind ``hnsw-sq8``: an HNSW graph
(M=32) over 8-bit scalar-quantised vectors (``IndexHNSWSQ``, ``QT_8bit``) whose best
candidates are re-scored with the exact float32 vectors (``IndexRefineFlat``), all in one
FAISS file that readers memory-map.

What a search reads: the graph and the 8-bit codes (384 + 256 bytes a passage: ~660 B
against ~1,830 B for ``hnsw``), which must stay in memory for speed, plus the exact
vectors of 40 candidates (top 10; ``k + 30`` for larger k), which the page cache serves
and may evict. The file is larger than ``hnsw``'s (~2,200 B/passage: codes + exact
vectors); the memory that must stay resident is about a third. Why this one
(``bench/vector_recall.py``, real passage vectors and real questions; docs/performance.md
"Compressed vectors"):

* the 8-bit codes alone (no re-scoring) lose too much: top-10 scores are often within
  0.0005 of each other, so quantisation reorders them; recall@10 against exact search is
  0.985 even exhaustively (48k real vectors) and 0.957-0.980 at 100k through the graph;
* re-scoring 40 candidates exactly restores it to ``hnsw``'s level or above at every
  measured size, for a fraction of a millisecond;
* IVF over the same codes (~460 B/passage) needs k-means training, a probe count tuned to
  the size, and its recall is no better; fp16 (``QT_fp16``, ~1,050 B) keeps recall
  without re-scoring but saves less than half.

efSearch is 256 (``hnsw`` keeps 128): at 100k passages and more, the graph walk itself
misses neighbours at 128. Removals are tombstones as in
:class:`~indexer.vector_index.hnsw.HnswIndex` (FAISS HNSW cannot remove); ``ids()`` and the
tombstone/``allowed`` selector are inherited. FAISS reads this index type with
``IO_FLAG_MMAP_IFC`` (codes, graph and exact vectors mapped), so reader processes share
one copy through the page cache.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from indexer.vector_index.base import VectorHits, faiss_module
from indexer.vector_index.hnsw import HnswIndex

#: Below this many vectors, the first batch is too small to learn each component's range
#: from; train on it and its negation (symmetric ranges) so that later additions are not
#: clipped. The writer builds this kind from every stored vector, far above this.
MIN_TRAIN = 10_000
#: Re-scored candidates: the graph's best ``max(RERANK_MIN, k + RERANK_MARGIN)`` by the
#: 8-bit codes are re-scored with the exact vectors (top 10: 40 rows; top 100: 130).
RERANK_MIN, RERANK_MARGIN = 40, 30


class HnswSq8Index(HnswIndex):
    """HNSW graph over 8-bit scalar-quantised vectors, best candidates re-scored exactly;
    deletions are tombstones."""

    kind = "hnsw-sq8"

    def __init__(self, dimension: int, index: Any = None, tombstones: set[int] | None = None,
                 m: int = 32, ef_search: int = 256) -> None:
        faiss = faiss_module()
        if index is None:
            graph = faiss.IndexHNSWSQ(dimension, faiss.ScalarQuantizer.QT_8bit, m,
                                      faiss.METRIC_INNER_PRODUCT)
            graph.hnsw.efConstruction = 80
            index = faiss.IndexIDMap2(faiss.IndexRefineFlat(graph))
        self.dimension = dimension
        self._index = index
        self._refine = faiss.downcast_index(index.index)  # IndexRefineFlat
        self.ef_search = ef_search
        self.tombstones: set[int] = set(tombstones or ())

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) and not self._index.is_trained:
            sample = np.ascontiguousarray(vectors, dtype=np.float32)
            if len(sample) < MIN_TRAIN:
                sample = np.vstack([sample, -sample])
            self._index.train(sample)
        super().add(ids, vectors)

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> VectorHits:
        # IndexIDMap2 would hand IndexRefine plain SearchParameters, which it refuses: search
        # the refine index directly, with the id selector translated to its positions.
        faiss = faiss_module()
        if self._index.ntotal == 0 or k <= 0 or (allowed is not None and len(allowed) == 0):
            return VectorHits(np.zeros(0, np.int64), np.zeros(0, np.float32))
        sel = self._selector(allowed)
        rows = max(RERANK_MIN, k + RERANK_MARGIN)
        graph = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, rows))
        if sel is not None:
            translated = faiss.IDSelectorTranslated(self._index.id_map, sel)
            graph.sel = translated
        params = faiss.IndexRefineSearchParameters(k_factor=rows / k, base_index_params=graph)
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        scores, rows_found = self._refine.search(q, k, params=params)
        keep = rows_found[0] >= 0
        id_map = faiss.rev_swig_ptr(self._index.id_map.data(), self._index.id_map.size())
        return VectorHits(np.asarray(id_map[rows_found[0][keep]], np.int64), scores[0][keep])
