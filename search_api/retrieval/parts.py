"""The parts a :class:`~.searcher.Searcher` is built from, and those of one index directory.

A ``Searcher`` runs one pipeline (validate, retrieve, fuse, score relevance, cut, group,
sort, page, hydrate) over whatever it is handed as :class:`IndexParts`: where the passage
rows come from, the dense and lexical retrievers, the document frequencies of the
relevance features, the current view of the index and how it is reloaded. One index
directory is :class:`LocalIndex`; a set of shards searched as one index is
``search_api.cluster.searcher.ShardParts``, the same protocol fanned out over the shards —
so the pipeline has one implementation and the cluster overrides nothing in it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from indexer.db import IndexDB, MetadataFilter
from indexer.derived import derived_missing
from indexer.snapshot import Snapshot, open_snapshot

from .dense import dense_search
from .docfreq import DocFreqCache
from .lexical.base import LexicalIndex
from .lexical.fts5 import Fts5LexicalIndex
from .lexical.matrix import LexicalMatrix, MatrixLexicalIndex
from .lexical.service import LexicalMatrixService
from .relevance import DocFreqs

if TYPE_CHECKING:  # the mapped matrix module is loaded only when an index has one
    from .lexical.mapped import MappedLexicalMatrix

#: Longest a reader waits for a committed generation's derived files before swapping anyway.
DERIVED_WAIT_S = 120.0

Ranking = list[tuple[int, float]]


class IndexParts(Protocol):
    """What a searcher searches: rows, retrievers, document frequencies and the index view.

    ``rows()`` answers the pipeline's reads (an :class:`~indexer.db.IndexDB`, or an object
    with the same read methods); ``snapshot`` needs ``manifest``, ``generation`` and a
    ``vectors`` whose ``len`` is the passage count.
    """

    @property
    def snapshot(self) -> Any:
        """The current view of the index (manifest, generation, vectors)."""

    @property
    def lexical_backend(self) -> str:
        """'memory' when lexical search uses an in-memory matrix, else 'fts5'."""

    def rows(self) -> Any:
        """The calling thread's reader of passage and article rows."""

    def dense_filter(self, filt: MetadataFilter) -> Any:
        """What :meth:`dense` takes as ``allowed`` for a request's filter."""

    def dense(self, vector: np.ndarray, n: int, allowed: Any) -> Ranking:
        """Best ``n`` passages by inner product with ``vector`` among ``allowed``."""

    def lexical_index(self) -> LexicalIndex:
        """The BM25 index lexical search uses now."""

    def doc_freqs(self) -> DocFreqs | None:
        """Document frequencies for the relevance features (None: the rows' own)."""

    def lexical_matrix(self) -> LexicalMatrix | MappedLexicalMatrix | None:
        """The one in-memory BM25 matrix, if there is one and it is built."""

    def wait_for_lexical(self, timeout: float | None = None) -> bool:
        """Block until lexical search is in its final state; True if so within ``timeout``."""

    def reload(self) -> bool:
        """Pick up what writers committed; True when the view changed."""

    def begin_request(self) -> None:
        """A search starts (parts that may answer partially reset their record)."""

    def missing_shards(self) -> list[int]:
        """The parts that did not answer during this request (empty: a whole answer)."""

    def close(self) -> None:
        """Release files, threads and connections."""


class LocalIndex:
    """The parts of one index directory: its snapshot (swapped when a writer commits), a
    read-only :class:`~indexer.db.IndexDB` per thread, FAISS, and FTS5 or the in-memory
    BM25 matrix kept by :class:`~.lexical.service.LexicalMatrixService`."""

    def __init__(self, directory: Path, model_id: Callable[[], str], matrix_min_passages: int,
                 lexical_matrix: bool = True) -> None:
        """Open ``directory``; ``model_id()`` is the encoder's (checked on every open)."""
        self.directory = Path(directory)
        self._model_id = model_id
        self._snapshot = open_snapshot(self.directory, model_id())
        self._swap_lock = threading.Lock()
        self._local = threading.local()  # per-thread IndexDB: a connection per thread
        self._waiting_for: tuple[int, float] | None = None  # (generation, since)
        self._df_cache = DocFreqCache()
        self._fts = Fts5LexicalIndex(self.rows)
        self._lexical = LexicalMatrixService(self.directory, matrix_min_passages,
                                             lambda: self._snapshot, enabled=lexical_matrix)

    @property
    def snapshot(self) -> Snapshot:
        """The current consistent view of the index (vectors, manifest, generation)."""
        return self._snapshot

    def rows(self) -> IndexDB:
        """The calling thread's read-only index database."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = IndexDB(self.directory, readonly=True)
        return db

    # -- retrievers -------------------------------------------------------------------------
    def dense_filter(self, filt: MetadataFilter) -> np.ndarray | None:
        """The passage ids the filter admits (None: all), for FAISS's id selector."""
        return self.rows().filtered_passage_ids(filt)

    def dense(self, vector: np.ndarray, n: int, allowed: np.ndarray | None) -> Ranking:
        """Best ``n`` passages of the snapshot's vectors among ``allowed`` ids."""
        return dense_search(self._snapshot.vectors, vector, n, allowed)

    def lexical_index(self) -> LexicalIndex:
        """The matrix when it is built for the current snapshot, else FTS5."""
        matrix = self.lexical_matrix()
        return self._fts if matrix is None else MatrixLexicalIndex(matrix, self.rows)

    def doc_freqs(self) -> DocFreqs:
        """FTS5's document frequencies of query terms, cached for the snapshot's generation
        (:mod:`.docfreq`: 1-2 ms a common term at 200k passages otherwise)."""
        snapshot, db = self._snapshot, self.rows()
        return lambda column, terms: self._df_cache.lookup(snapshot.generation, db, column,
                                                           terms)

    # -- in-memory lexical index ------------------------------------------------------------
    def lexical_matrix(self) -> LexicalMatrix | MappedLexicalMatrix | None:
        """The in-memory BM25 matrix of the current snapshot, if it is built."""
        return self._lexical.current()

    @property
    def lexical_backend(self) -> str:
        """'memory' when lexical search uses the matrix, else 'fts5'."""
        return self._lexical.backend

    def wait_for_lexical(self, timeout: float | None = None) -> bool:
        """Block until the matrix is built, or the index is too small for one, or its build
        failed (FTS5 then); True if so within ``timeout``."""
        return self._lexical.wait(timeout)

    # -- snapshot management ----------------------------------------------------------------
    def reload(self) -> bool:
        """Swap in a new snapshot when the store's generation moved and its derived files
        are written."""
        with self._swap_lock:
            current = self._snapshot
            if not current.stale or not self._successor_ready(current.db.generation()):
                return False
            fresh = open_snapshot(self.directory, self._model_id())
            self._snapshot = fresh
        self._lexical.refresh()
        current.close()
        return True

    def _successor_ready(self, generation: int) -> bool:
        """Swap to ``generation`` once its derived files (FAISS, lexical matrix) are written.

        A writer writes them right after its commit (an API write: before it answers; a long
        ``vnsearch index`` run: every ``DERIVED_INTERVAL_S`` or so). Swapping before would
        mean rebuilding the vectors from SQLite and answering lexical queries from FTS5 —
        seconds at 200k passages — so the complete snapshot keeps answering meanwhile (its
        rows are read live: deleted passages still drop out). Past :data:`DERIVED_WAIT_S`
        (a writer that died), the swap goes ahead and recovery rolls the files forward.
        """
        if not derived_missing(self.directory, generation):
            self._waiting_for = None
            return True
        now = time.monotonic()
        if self._waiting_for is None or self._waiting_for[0] != generation:
            self._waiting_for = (generation, now)
        return now - self._waiting_for[1] >= DERIVED_WAIT_S

    # -- one request ------------------------------------------------------------------------
    def begin_request(self) -> None:
        """Nothing to reset: one index answers whole or raises."""

    def missing_shards(self) -> list[int]:
        """Always empty: one index has no shards to miss."""
        return []

    def close(self) -> None:
        """Stop the matrix thread and close the snapshot."""
        self._lexical.close()
        self._snapshot.close()
