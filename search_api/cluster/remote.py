"""``RemoteShard``: a shard served by a Ray Serve deployment, seen through
:class:`~.shard.ShardReader`'s interface so :class:`~.searcher.ClusterSearcher` uses it
unchanged (the ingress of ``vnsearch cluster serve``).

Every call goes to the shard's deployment handle and waits at most ``timeout_s``; a shard
that does not answer in time, whose replica died, or that Ray cannot reach raises
:class:`~.shard.ShardUnavailable`, which the searcher turns into ``partial: true`` and
``missing_shards``. A domain error raised inside the shard (a bad full-text query, say) is
re-raised as itself, so the API answers it as one index would.

After a failure the shard is reported missing without asking for ``retry_after_s``: one
search reads a shard several times (rankings, rows, metadata) and should not wait the
timeout at every read of a shard that is down. A replica that died is retried once at
once, because Serve then routes to another replica of the shard if there is one.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from indexer.db import MetadataFilter
from indexer.errors import VnsearchError
from indexer.lexical.stats import CorpusStats
from indexer.manifest import Manifest

from ..retrieval.lexical.base import LexicalQuery
from .shard import ShardUnavailable

Ranking = list[tuple[int, float]]

#: The read methods of a shard's database the search pipeline uses (see
#: :class:`~.store.ClusterDB`); only these may be called remotely.
READ_METHODS = frozenset({
    "article_ids", "passage_rows", "relevance_rows", "toned_texts", "passages_matching",
    "fts_doc_freq", "fts_doc_freqs", "articles_matching", "article_meta", "has_undated", "article",
    "counts", "facet_counts", "article_regions", "story_members"})
#: How long the first call (the shard's state, when the ingress starts) may wait: replicas
#: open their snapshot and build their BM25 matrix while the ingress loads its model.
START_TIMEOUT_S = 120.0
#: Document frequencies kept per shard (a few MB at most).
DOC_FREQ_CACHE = 100_000


@dataclass
class ShardState:
    """What a shard replica tells the ingress about itself."""

    number: int
    directory: str
    manifest: Manifest
    generation: int
    pid: int


@dataclass
class RemoteSnapshot:
    """The part of a snapshot the cluster searcher reads of a shard."""

    manifest: Manifest
    generation: int


class RemoteDB:
    """A shard's database seen from the ingress: ``db.<read method>(*args)`` is asked of the
    shard's deployment (``read``)."""

    def __init__(self, shard: RemoteShard) -> None:
        self._shard = shard

    def __getattr__(self, name: str) -> Any:
        if name not in READ_METHODS:
            raise AttributeError(f"a remote shard's database has no read method {name!r}")
        if name == "fts_doc_freq":
            return self._shard.fts_doc_freq
        if name == "fts_doc_freqs":
            return self._shard.fts_doc_freqs

        def call(*args: Any) -> Any:
            return self._shard.call("read", name, *args)

        return call


class RemoteShard:
    """Shard ``number`` served by the Ray Serve deployment behind ``handle``."""

    def __init__(self, number: int, handle: Any, timeout_s: float,
                 retry_after_s: float | None = None) -> None:
        self.number = number
        self.timeout_s = float(timeout_s)
        self.retry_after_s = max(2.0, self.timeout_s) if retry_after_s is None else retry_after_s
        self._handle = handle
        self._down_until = 0.0
        self._lock = threading.Lock()
        self._db = RemoteDB(self)
        self._doc_freq: dict[tuple[int, str, str], int] = {}
        state: ShardState = self.call("state", timeout_s=max(START_TIMEOUT_S, self.timeout_s))
        self.directory = state.directory
        self.snapshot = RemoteSnapshot(state.manifest, state.generation)

    # -- calls ----------------------------------------------------------------------------
    def call(self, method: str, *args: Any, timeout_s: float | None = None) -> Any:
        """``method(*args)`` on a replica of this shard; ShardUnavailable when none answers
        within the timeout (or the shard failed within the last ``retry_after_s``)."""
        if time.monotonic() < self._down_until:
            raise ShardUnavailable(self.number, "did not answer a moment ago")
        timeout = self.timeout_s if timeout_s is None else timeout_s
        try:
            return self._ask(method, args, timeout)
        except ShardUnavailable:
            self._down_until = time.monotonic() + self.retry_after_s
            raise

    def _ask(self, method: str, args: tuple, timeout: float) -> Any:
        from ray.exceptions import ActorDiedError, ActorUnavailableError, RayError, RayTaskError
        from ray.serve.exceptions import RayServeException

        started = time.monotonic()
        for attempt in (1, 2):
            response = getattr(self._handle, method).remote(*args)
            left = max(0.0, timeout - (time.monotonic() - started))
            try:
                return response.result(timeout_s=left)
            except (ActorDiedError, ActorUnavailableError) as exc:
                # The replica that had the request died: another may answer (Serve stops
                # routing to a dead replica), within what is left of the timeout.
                if attempt == 2 or left <= 0:
                    raise ShardUnavailable(self.number, f"replica died ({exc})") from None
            except RayTaskError as exc:
                cause = getattr(exc, "cause", None)
                if isinstance(cause, VnsearchError):
                    raise cause from None
                raise ShardUnavailable(self.number, f"failed: {cause or exc}") from None
            except TimeoutError:
                response.cancel()  # do not leave the request queued for the replica
                raise ShardUnavailable(self.number, f"no answer in {timeout:g} s") from None
            except (RayError, RayServeException) as exc:
                raise ShardUnavailable(self.number, f"unreachable ({exc})") from None
        raise ShardUnavailable(self.number)  # not reached: the loop returns or raises

    def fts_doc_freq(self, column: str, term: str) -> int:
        """FTS5's document frequency of ``term`` in ``column``, cached until the shard's
        generation moves: a search asks it per query term and column (tens of calls), and
        the same syllables recur across queries."""
        return self.fts_doc_freqs(column, [term])[0]

    def fts_doc_freqs(self, column: str, terms: list[str]) -> list[int]:
        """:meth:`fts_doc_freq` of each of ``terms``: the uncached ones in one call."""
        generation = self.snapshot.generation
        todo = [t for t in dict.fromkeys(terms) if (generation, column, t) not in self._doc_freq]
        if todo:
            found = self.call("read", "fts_doc_freqs", column, todo)
            if len(self._doc_freq) + len(todo) >= DOC_FREQ_CACHE:
                self._doc_freq.clear()  # crude bound; refilled by the next queries
            self._doc_freq.update({(generation, column, t): n
                                   for t, n in zip(todo, found, strict=False)})
        return [self._doc_freq[(generation, column, t)] for t in terms]

    # -- ShardReader's interface ------------------------------------------------------------
    def db(self) -> RemoteDB:
        """This shard's database reads, asked of its replicas."""
        return self._db

    def dense(self, vector: np.ndarray, n: int, filt: MetadataFilter) -> Ranking:
        """Best ``n`` passages of this shard by inner product with ``vector`` (global ids)."""
        return self.call("dense", vector, n, filt)

    def lexical(self, query: LexicalQuery, n: int, filt: MetadataFilter) -> Ranking:
        """Best ``n`` passages of this shard by BM25 with the global statistics."""
        return self.call("lexical", query, n, filt)

    def reload(self, corpus: CorpusStats, force: bool = False) -> bool:
        """Refresh what the ingress knows of the shard (its generation); True when it moved.

        The replicas reopen by themselves when their shard or ``cluster.json`` changes (every
        replica of a shard must, and a call reaches only one), so ``corpus`` and ``force``
        are not sent. A shard that does not answer keeps its last known state.
        """
        try:
            state: ShardState = self.call("reload")
        except ShardUnavailable:
            return False
        with self._lock:
            moved = state.generation != self.snapshot.generation
            self.snapshot = RemoteSnapshot(state.manifest, state.generation)
            if moved:
                self._doc_freq.clear()  # keyed by generation: the old entries are dead
        return moved

    def close(self) -> None:
        """Nothing to close here: the replicas belong to the Serve application."""

