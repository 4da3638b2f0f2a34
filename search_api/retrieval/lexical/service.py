"""The background service that keeps an in-memory :class:`LexicalMatrix` for the snapshot.

Built by one daemon thread when a searcher opens and again after every write (the
searcher calls :meth:`LexicalMatrixService.refresh` when it swaps in a new snapshot). A
matrix is only used for the generation it was built from, so FTS5 answers while a new
one is built, and keeps answering when a build fails (logged, retried on the next write).
Indexes below ``min_passages`` never get one: a build would cost more than it saves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.db import IndexDB

from .matrix import LexicalMatrix

if TYPE_CHECKING:
    from indexer.snapshot import Snapshot

logger = logging.getLogger("vnsearch.search")


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
        self._matrix: LexicalMatrix | None = None
        self._failed: int | None = None  # generation whose build raised
        self._ready = threading.Condition()
        self._wanted = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        if enabled:
            self._wanted.set()
            self._thread = threading.Thread(target=self._loop, daemon=True,
                                            name="vnsearch-lexical-matrix")
            self._thread.start()

    def refresh(self) -> None:
        """Ask for a matrix of the (new) current snapshot."""
        self._wanted.set()

    def close(self) -> None:
        """Stop the thread (it exits when it next wakes; a build in progress finishes)."""
        self._closed = True
        self._wanted.set()

    def _too_small(self, snap: Snapshot) -> bool:
        return len(snap.vectors) < self._min_passages

    def _loop(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._closed:
                return
            snap = self._snapshot()
            if self._matrix is not None and self._matrix.generation != snap.generation:
                self._matrix = None  # stale: never used again, free it before building
            if self._too_small(snap):
                with self._ready:
                    self._ready.notify_all()
                continue
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

    def _build(self, generation: int) -> LexicalMatrix:
        db = IndexDB(self._directory, readonly=True)
        try:
            return LexicalMatrix.build(db, generation)
        finally:
            db.close()

    def current(self) -> LexicalMatrix | None:
        """The matrix of the current snapshot, if it is built."""
        matrix = self._matrix
        if matrix is not None and matrix.generation == self._snapshot().generation:
            return matrix
        return None

    @property
    def backend(self) -> str:
        """'memory' when lexical search uses the matrix, else 'fts5'."""
        return "memory" if self.current() is not None else "fts5"

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
