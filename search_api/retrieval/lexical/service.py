"""The service that keeps a BM25 matrix for the snapshot: mapped from the writer's files,
else built in memory.

The writer writes the matrix files of every generation (:mod:`indexer.lexical.files`), so
on open and whenever the searcher swaps in a new snapshot (:meth:`LexicalMatrixService.refresh`)
the files of that generation are mapped at once (:class:`.mapped.MappedLexicalMatrix`,
backend ``mmap``): no build, no FTS5 window. Files missing (an index written by an older
vnsearch, or a reader faster than the writer's close) are waited for briefly
(:data:`FILE_WAIT_S`), then one daemon thread builds the in-memory :class:`LexicalMatrix`
(backend ``memory``) as before. A matrix is only used for its own generation, so FTS5
answers while one is built, and keeps answering when a build fails (logged, retried on the
next write). Indexes below ``min_passages`` use FTS5: their queries are cheap anyway.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.db import IndexDB

from .mapped import MappedLexicalMatrix
from .matrix import LexicalMatrix

if TYPE_CHECKING:
    from indexer.snapshot import Snapshot

logger = logging.getLogger("vnsearch.search")

#: How long the builder thread waits for the writer to write a new generation's matrix
#: files (it writes them right after its commit) before building one in memory.
FILE_WAIT_S = 3.0
_POLL_S = 0.05


class LexicalMatrixService:
    """Owns the matrix-building thread and the matrix of the current snapshot.

    ``snapshot`` returns the searcher's current snapshot (it changes on reload);
    ``enabled`` False starts no thread (one-shot use such as the CLI's ``query``).
    """

    def __init__(self, directory: Path, min_passages: int, snapshot: Callable[[], Snapshot],
                 enabled: bool = True) -> None:
        self._directory = Path(directory)
        self._min_passages = min_passages
        self._snapshot = snapshot
        self._matrix: LexicalMatrix | MappedLexicalMatrix | None = None
        self._failed: int | None = None  # generation whose build raised
        self._ready = threading.Condition()
        self._wanted = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        if enabled:
            self._map_current()
            self._wanted.set()
            self._thread = threading.Thread(target=self._loop, daemon=True,
                                            name="vnsearch-lexical-matrix")
            self._thread.start()

    def refresh(self) -> None:
        """Ask for a matrix of the (new) current snapshot: mapped now if its files exist."""
        if self._thread is not None:
            self._map_current()
        self._wanted.set()

    def _map_current(self) -> bool:
        """Map the current snapshot's matrix files if there are any; True if in use."""
        snap = self._snapshot()
        if self.current() is not None or self._too_small(snap):
            return self.current() is not None
        mapped = MappedLexicalMatrix.open(self._directory, snap.generation)
        if mapped is None:
            return False
        with self._ready:
            old, self._matrix = self._matrix, mapped
            self._ready.notify_all()
        if isinstance(old, MappedLexicalMatrix):
            old.close()  # the writer may remove its files now; queries in flight keep the maps
        return True

    def _wait_for_files(self, generation: int) -> bool:
        """Poll for the writer's files of ``generation`` (True once mapped)."""
        deadline = time.monotonic() + FILE_WAIT_S
        while not self._closed and time.monotonic() < deadline:
            if self._snapshot().generation != generation:
                return False
            if self._map_current():
                return True
            time.sleep(_POLL_S)
        return False

    def close(self) -> None:
        """Stop the thread (it exits when it next wakes; a build in progress finishes) and
        release the mapped files."""
        self._closed = True
        self._wanted.set()
        if isinstance(self._matrix, MappedLexicalMatrix):
            self._matrix.close()

    def _too_small(self, snap: Snapshot) -> bool:
        return len(snap.vectors) < self._min_passages

    def _loop(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._closed:
                return
            snap = self._snapshot()
            if self._too_small(snap) or self._map_current() \
                    or self._wait_for_files(snap.generation):
                with self._ready:
                    self._ready.notify_all()
                continue
            self._drop_stale(snap.generation)
            try:
                matrix = self._build(snap.generation)
            except Exception:  # FTS5 keeps answering; logged, retried on the next write
                logger.exception("building the in-memory lexical index failed; using FTS5")
                with self._ready:
                    self._failed = snap.generation
                    self._ready.notify_all()
                continue
            with self._ready:
                self._matrix = matrix
                self._ready.notify_all()

    def _drop_stale(self, generation: int) -> None:
        """Forget a matrix of another generation: never used again, free it before building."""
        with self._ready:
            old = self._matrix
            if old is not None and old.generation != generation:
                self._matrix = None
        if isinstance(old, MappedLexicalMatrix) and old.generation != generation:
            old.close()

    def _build(self, generation: int) -> LexicalMatrix:
        db = IndexDB(self._directory, readonly=True)
        try:
            return LexicalMatrix.build(db, generation)
        finally:
            db.close()

    def current(self) -> LexicalMatrix | MappedLexicalMatrix | None:
        """The matrix of the current snapshot, if it is mapped or built."""
        matrix = self._matrix
        if matrix is not None and matrix.generation == self._snapshot().generation:
            return matrix
        return None

    @property
    def backend(self) -> str:
        """'mmap' when lexical search uses the writer's mapped files, 'memory' when it
        uses a matrix built here, else 'fts5'."""
        matrix = self.current()
        if matrix is None:
            return "fts5"
        return "mmap" if isinstance(matrix, MappedLexicalMatrix) else "memory"

    def wait(self, timeout: float | None = None) -> bool:
        """Block until lexical search is in its final state for the current snapshot: the
        matrix built, or the index too small for one, or its build failed (FTS5 then);
        True if so within ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout

        def ready() -> bool:
            snap = self._snapshot()
            return (self._thread is None or self.current() is not None
                    or self._failed == snap.generation or self._too_small(snap))

        with self._ready:
            while not ready():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._ready.wait(timeout=1.0 if left is None else min(left, 1.0))
        return True
