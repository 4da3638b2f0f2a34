"""Dense retrieval: query vectors (cached, batched across concurrent queries) and the
vector index search.

The query vector is the encoder's embedding of the query (E5 ``query:`` prompt);
passages are ranked by inner product in the snapshot's FAISS index, restricted to the
passage ids a filter admits (a FAISS id selector), so a filtered query still fills its
page when enough passages match.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from indexer.encoders import QueryEncoder
    from indexer.vector_index import VectorIndex


def limit_faiss_threads() -> None:
    """Run FAISS single-threaded.

    A single query over a flat index is a few ms of work; OpenMP thread start-up cost more
    than that (24 ms vs 0.1 ms at 2,000 vectors, measured).
    """
    import faiss

    faiss.omp_set_num_threads(1)


class QueryVectorCache:
    """A small thread-safe LRU of query vectors (repeated queries skip the encoder)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> np.ndarray | None:
        """The cached vector of ``key`` (now the most recently used), or None."""
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: str, value: np.ndarray) -> None:
        """Cache ``value`` for ``key``, evicting the least recently used beyond ``size``."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


class QueryBatcher:
    """Query vectors: from the cache, else encoded together with every other query waiting
    at that moment (one encoder call for a burst of concurrent requests).

    ``encoder`` and ``cache`` may be replaced at any time (the evaluation swaps in a
    larger cache); the next query uses the new ones.
    """

    def __init__(self, encoder: QueryEncoder, cache: QueryVectorCache) -> None:
        self.encoder = encoder
        self.cache = cache
        # One encode at a time: concurrent encodes each spin up torch's threads and thrash
        # the cores (bench/query.py: 32 clients got 2x the throughput of 1, at 16x latency).
        self._encode_lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending: dict[str, Future] = {}

    def vector(self, query: str) -> np.ndarray:
        """The vector of ``query``; blocks while another caller's batch is being encoded."""
        vector = self.cache.get(query)
        if vector is not None:
            return vector
        with self._pending_lock:
            future = self._pending.get(query)
            if future is None:
                future = self._pending[query] = Future()
        with self._encode_lock:
            if not future.done():
                # Whoever takes the lock first encodes every query pending so far, its own
                # included; the others find their future already resolved.
                with self._pending_lock:
                    batch, self._pending = self._pending, {}
                try:
                    vectors = self.encoder.encode_queries(list(batch))
                except BaseException as exc:
                    for waiting in batch.values():
                        waiting.set_exception(exc)
                    raise
                for (text, waiting), vec in zip(batch.items(), vectors, strict=False):
                    self.cache.put(text, vec)
                    waiting.set_result(vec)
        return future.result()


def dense_search(vectors: VectorIndex, query_vector: np.ndarray, n: int,
                 allowed: np.ndarray | None) -> list[tuple[int, float]]:
    """Best ``n`` (passage id, inner product) among ``allowed`` ids (None: all)."""
    hits = vectors.search(query_vector, n, allowed)
    return [(int(i), float(s)) for i, s in zip(hits.ids, hits.scores, strict=False)]
