"""``ClusterSearcher``: a set of index shards searched as one index, in one process.

The pipeline is :class:`~search_api.retrieval.Searcher`'s, unchanged: a ``ClusterSearcher``
is a ``Searcher`` handed :class:`ShardParts` — the parts protocol of
:class:`~search_api.retrieval.parts.IndexParts`, fanned out over the shards — in place of
one index directory's (it neither subclasses the searcher nor overrides any of its
methods). Each shard answers the dense and the lexical
search for its passages (lexical BM25 with the cluster's global statistics, so scores equal
one index's); the two lists are merged across shards (best ``n`` of all), then fused,
scored for relevance, cut, grouped, sorted and paged exactly as one index does, with rows
read through :class:`~.store.ClusterDB`. The reference for the Ray Serve deployment, and
useful alone on one big machine (``vnsearch serve --cluster cluster.json``).

Lexical search always uses the in-memory matrix here (FTS5's ``bm25()`` cannot take global
statistics); it is built per shard when the cluster is opened and after a shard changes.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from indexer.cluster.stats import ClusterFile, load_cluster
from indexer.db import MetadataFilter
from indexer.manifest import Manifest
from indexer.settings import Settings

from ..retrieval.lexical.base import LexicalIndex, LexicalQuery
from ..retrieval.searcher import Searcher
from .shard import ShardReader, ShardUnavailable
from .store import ClusterDB, ask_shards

if TYPE_CHECKING:
    from indexer.encoders import QueryEncoder

Ranking = list[tuple[int, float]]


def merge_rankings(lists: list[Ranking], n: int) -> Ranking:
    """The best ``n`` of several rankings: score descending, then id ascending (as one
    index's lexical ranking breaks ties)."""
    return heapq.nsmallest(n, (hit for ranking in lists for hit in ranking),
                           key=lambda hit: (-hit[1], hit[0]))


class _Count:
    """Stands in for a vector index where only its length is read (global passages)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n


@dataclass
class ClusterView:
    """What ``/health`` reads of a snapshot, for the whole cluster."""

    manifest: Manifest
    generation: int
    vectors: Any


class ClusterLexicalIndex(LexicalIndex):
    """BM25 over every shard with global statistics; rankings merged."""

    def __init__(self, parts: ShardParts) -> None:
        self._parts = parts

    def top(self, query: LexicalQuery, n: int, filt: MetadataFilter) -> Ranking:
        """Best ``n`` (cluster passage id, BM25 score) among the passages ``filt`` admits."""
        return merge_rankings(self._parts.each(lambda s: s.lexical(query, n, filt)), n)

    def doc_freq(self, column: str, term: str) -> int:
        """Passages holding ``term`` in ``column`` in the whole cluster."""
        return self._parts.cluster.stats.doc_freq(column, term)


class ShardParts:
    """The :class:`~search_api.retrieval.parts.IndexParts` of a ``cluster.json``'s shards:
    rows through :class:`~.store.ClusterDB`, dense and lexical rankings merged across the
    shards, lexical always the shards' matrices with the global statistics."""

    def __init__(self, cluster_file: Path, model_id: str,
                 shards: list[Any] | None = None) -> None:
        """Open the shards of ``cluster_file`` in this process, or use ``shards``: objects
        with :class:`~.shard.ShardReader`'s interface (the Ray Serve ingress passes proxies
        of remote shard replicas; they raise :class:`~.shard.ShardUnavailable` on timeout,
        and are then asked in parallel)."""
        self.path = Path(cluster_file)
        self.cluster: ClusterFile = load_cluster(self.path)
        self._cluster_mtime = self.cluster.mtime
        self._parallel = shards is not None
        self.shards = shards if shards is not None else [
            ShardReader(i, d, self.cluster.stats, model_id)
            for i, d in enumerate(self.cluster.shards)]
        self._pool = ThreadPoolExecutor(len(self.shards)) if self._parallel else None
        self._db_facade = ClusterDB(self.shards, pool=self._pool)
        self._swap_lock = threading.Lock()
        self._lexical_facade = ClusterLexicalIndex(self)
        self._snapshot = self._view()

    def _view(self) -> ClusterView:
        return ClusterView(self.shards[0].snapshot.manifest,
                           sum(s.snapshot.generation for s in self.shards),
                           _Count(self.cluster.stats.passages))

    # -- the parts the pipeline reads -------------------------------------------------------
    @property
    def snapshot(self) -> ClusterView:
        """The cluster's view: the first shard's manifest, the generations summed, and the
        global passage count."""
        return self._snapshot

    def rows(self) -> ClusterDB:
        """The shards' rows, read as one index's."""
        return self._db_facade

    def dense_filter(self, filt: MetadataFilter) -> MetadataFilter:
        """The filter itself: each shard turns it into its own passage ids (see dense())."""
        return filt

    def dense(self, vector: np.ndarray, n: int, allowed: Any) -> Ranking:
        """Best ``n`` passages of all shards by similarity to ``vector`` (``allowed``: the
        request's filter, applied inside each shard)."""
        filt = allowed if isinstance(allowed, MetadataFilter) else MetadataFilter()
        return merge_rankings(self.each(lambda s: s.dense(vector, n, filt)), n)

    def lexical_index(self) -> LexicalIndex:
        """BM25 over every shard with the global statistics."""
        return self._lexical_facade

    def doc_freqs(self) -> None:
        """Cluster-wide counts, asked of the shards at each search (no shared generation)."""
        return None

    def lexical_matrix(self) -> None:
        """Per-shard matrices (see :attr:`shards`); there is no single one."""
        return None

    @property
    def lexical_backend(self) -> str:
        """Always the in-memory matrix (with global statistics)."""
        return "memory"

    def wait_for_lexical(self, timeout: float | None = None) -> bool:
        """The shard matrices are built on open: always ready."""
        return True

    def each(self, ask: Callable[[Any], Ranking]) -> list[Ranking]:
        """``ask(shard)`` of every shard (in parallel for remote shards); a shard that does
        not answer is left out and noted for the response (``missing_shards``)."""
        answers = ask_shards([(shard, ask) for shard in self.shards], self._pool,
                             self._db_facade.missing)
        return [a.value if a.ok else [] for a in answers]

    # -- one request ------------------------------------------------------------------------
    def begin_request(self) -> None:
        """Forget the shards missed by this thread's previous request."""
        self._db_facade.missing.reset()

    def missing_shards(self) -> list[int]:
        """The shards that did not answer during this request, ascending."""
        return self._db_facade.missing.current()

    # -- state ----------------------------------------------------------------------------
    def reload(self) -> bool:
        """Reopen shards a writer changed and re-read ``cluster.json`` when it changed."""
        with self._swap_lock:
            fresh = self._stat_mtime() != self._cluster_mtime
            if fresh:
                self.cluster = load_cluster(self.path)
                self._cluster_mtime = self.cluster.mtime
            changed = [s.reload(self.cluster.stats, force=fresh) for s in self.shards]
            self._snapshot = self._view()
        return fresh or any(changed)

    def _stat_mtime(self) -> float:
        try:
            return self.path.stat().st_mtime
        except OSError:
            return self._cluster_mtime  # gone for a moment (replaced): keep what we have

    def shard_health(self) -> list[dict]:
        """Number, directory, counts and generation of every shard (``/health``); a shard
        that does not answer is listed with ``ok: false``."""
        out = []
        for shard, path in zip(self.shards, self.cluster.shards, strict=False):
            try:
                counts = shard.db().counts()
                out.append({"number": shard.number, "path": str(path), **counts,
                            "generation": shard.snapshot.generation})
            except ShardUnavailable:
                out.append({"number": shard.number, "path": str(path), "articles": 0,
                            "passages": 0, "generation": -1, "ok": False})
        return out

    def close(self) -> None:
        """Close every shard."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
        for shard in self.shards:
            shard.close()


class ClusterSearcher:
    """Answers searches on a ``cluster.json``'s shards as one index: a
    :class:`~search_api.retrieval.Searcher` composed with :class:`ShardParts`.

    Every searcher method and attribute is the composed searcher's (``search``, ``article``,
    ``snapshot``, ``close``…), so one added to ``Searcher`` works here unchanged; this class
    adds the shards (``shards``, ``cluster``) and ``shard_health`` for ``/health``.
    """

    def __init__(self, cluster_file: Path, settings: Settings, encoder: QueryEncoder,
                 shards: list[Any] | None = None) -> None:
        """Open the shards of ``cluster_file`` in this process, or search ``shards`` (see
        :class:`ShardParts`)."""
        self.parts = ShardParts(Path(cluster_file), encoder.info.model_id, shards)
        self.searcher = Searcher(Path(cluster_file), settings, encoder, parts=self.parts)

    def __getattr__(self, name: str) -> Any:
        # Only called for names not found here: the composed searcher's.
        if name in ("parts", "searcher"):  # not set yet (half-built or unpickled)
            raise AttributeError(name)
        return getattr(self.searcher, name)

    @property
    def shards(self) -> list[Any]:
        """The shard readers (or remote proxies), in shard order."""
        return self.parts.shards

    @property
    def cluster(self) -> ClusterFile:
        """The parsed ``cluster.json`` (re-read when it changes)."""
        return self.parts.cluster

    def shard_health(self) -> list[dict]:
        """Per-shard state for ``/health`` (see :meth:`ShardParts.shard_health`)."""
        return self.parts.shard_health()
