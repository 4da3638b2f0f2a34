"""Compressed approximate search for large indexes, kind ``hnsw-fp16``: an HNSW graph
(M=32) over vectors stored as 16-bit floats (``IndexHNSWSQ``, ``QT_fp16``), in one FAISS
file that readers memory-map.

A 384-dimension passage costs 768 bytes instead of 1,536, plus the graph's 256 and the id
map: ~1,050 bytes/passage on disk and in memory against ~1,820 for ``hnsw`` (-42 %), with
the same recall. Why this one (``bench/vector_recall.py``, real passage vectors and real
questions; docs/performance.md "Compressed vectors"):

* 8-bit codes (``QT_8bit``, ~660 B/passage) lose too much: top-10 scores are often within
  0.0005 of each other, so 8-bit rounding reorders them; recall@10 against exact search
  is 0.985 even exhaustively (48k real vectors) and 0.957-0.980 through the graph at 100k;
* 8-bit codes whose best 40 candidates are re-scored with exact float32 vectors kept in
  the same file (``IndexRefineFlat``) recover the recall, but the file grows to ~2,200
  B/passage and, mapped, the re-scored rows (with the kernel's read-ahead) were already
  ~1,860 B/passage resident after 200 queries at 100k: no memory saved in practice;
* IVF over 8-bit codes (~420 B/passage) needs k-means training and a probe count tuned
  to the size, and reached 0.971 at 100k only at 35 ms a query;
* fp16's rounding (≈ 0.05 % of a component) is far below the score gaps: recall equals
  ``hnsw``'s at every measured size, and distances are cheaper to compute.

efSearch is 256 (``hnsw`` keeps 128): from 100k passages on, the graph walk itself misses
neighbours at 128 (recall 0.971 → 0.990). Removals are tombstones as in
:class:`~indexer.vector_index.hnsw.HnswIndex` (FAISS HNSW cannot remove); searches,
``allowed`` and ``ids()`` are inherited. FAISS reads this index type with
``IO_FLAG_MMAP_IFC``, so reader processes share one mapped copy through the page cache.
fp16 needs no training: vectors added later are stored as exactly as the first ones.
"""

from __future__ import annotations

from typing import Any

from indexer.vector_index.base import faiss_module
from indexer.vector_index.hnsw import HnswIndex


class HnswFp16Index(HnswIndex):
    """HNSW graph over 16-bit float vectors; deletions are tombstones until a rebuild."""

    kind = "hnsw-fp16"

    def __init__(self, dimension: int, index: Any = None, tombstones: set[int] | None = None,
                 m: int = 32, ef_search: int = 256) -> None:
        if index is None:
            faiss = faiss_module()
            graph = faiss.IndexHNSWSQ(dimension, faiss.ScalarQuantizer.QT_fp16, m,
                                      faiss.METRIC_INNER_PRODUCT)
            graph.hnsw.efConstruction = 80
            index = faiss.IndexIDMap2(graph)
        super().__init__(dimension, index, tombstones, m=m, ef_search=ef_search)
