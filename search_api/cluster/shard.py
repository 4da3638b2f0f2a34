"""One shard of a cluster, opened for searching: its snapshot, a read-only database per
thread, and its BM25 matrix weighted with the cluster's global statistics.

Passage ids are per shard; outside this module they travel as global ids
(:func:`to_gid`): ``shard << 40 | passage id``, unique in the cluster, below 2**53 so they
survive JSON and JavaScript.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from indexer.db import IndexDB, MetadataFilter
from indexer.lexical.stats import CorpusStats
from indexer.snapshot import Snapshot, open_snapshot

from ..retrieval.dense import dense_search
from ..retrieval.lexical.base import LexicalQuery
from ..retrieval.lexical.matrix import LexicalMatrix

SHIFT = 40
_LOCAL = (1 << SHIFT) - 1

Ranking = list[tuple[int, float]]


def to_gid(shard: int, pid: int) -> int:
    """The cluster-wide id of passage ``pid`` of shard ``shard``."""
    return (shard << SHIFT) | int(pid)


def split_gid(gid: int) -> tuple[int, int]:
    """``(shard, passage id)`` of a cluster-wide passage id."""
    return int(gid) >> SHIFT, int(gid) & _LOCAL


class ShardUnavailable(Exception):
    """A shard did not answer in time (a remote shard: see the Ray Serve deployment)."""

    def __init__(self, shard: int, why: str = "no answer in time") -> None:
        super().__init__(f"shard {shard}: {why}")
        self.shard = shard


class ShardReader:
    """Searches one shard directory with the cluster's statistics."""

    def __init__(self, number: int, directory: Path, corpus: CorpusStats,
                 model_id: str) -> None:
        self.number = number
        self.directory = Path(directory)
        self.model_id = model_id
        self._local = threading.local()
        self._lock = threading.Lock()
        self.snapshot: Snapshot = open_snapshot(self.directory, model_id)
        self.matrix = self._build(corpus)

    def _build(self, corpus: CorpusStats) -> LexicalMatrix:
        with IndexDB(self.directory, readonly=True) as db, db.read_transaction():
            return LexicalMatrix.build(db, self.snapshot.generation, corpus)

    def db(self) -> IndexDB:
        """The calling thread's read-only database of this shard."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = IndexDB(self.directory, readonly=True)
        return db

    def reload(self, corpus: CorpusStats, force: bool = False) -> bool:
        """Reopen when a writer committed (or ``force``: new global statistics)."""
        with self._lock:
            if not (force or self.snapshot.stale):
                return False
            old = self.snapshot
            self.snapshot = open_snapshot(self.directory, self.model_id)
            self.matrix = self._build(corpus)
        old.close()
        return True

    def close(self) -> None:
        """Close the snapshot."""
        self.snapshot.close()

    # -- searches (global ids out) ------------------------------------------------------
    def _allowed(self, filt: MetadataFilter) -> np.ndarray | None:
        return self.db().filtered_passage_ids(filt)

    def dense(self, vector: np.ndarray, n: int, filt: MetadataFilter) -> Ranking:
        """Best ``n`` passages of this shard by inner product with ``vector``."""
        hits = dense_search(self.snapshot.vectors, vector, n, self._allowed(filt))
        return [(to_gid(self.number, pid), score) for pid, score in hits]

    def lexical(self, query: LexicalQuery, n: int, filt: MetadataFilter) -> Ranking:
        """Best ``n`` passages of this shard by BM25 with the global statistics."""
        hits = self.matrix.top(query, n, self._allowed(filt))
        return [(to_gid(self.number, pid), score) for pid, score in hits]
