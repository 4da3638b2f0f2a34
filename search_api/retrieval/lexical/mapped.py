"""BM25 over the writer's lexical matrix files, memory-mapped: no build at start-up.

The files (:mod:`indexer.lexical.files`) hold term frequencies per segment and a live mask
per generation; a query weighs only the postings of its own terms, with the generation's N
and average length and each term's df counted over live postings, exactly as FTS5's
``bm25()`` does (see :mod:`.matrix` for the formula and the column weights), in the same
float32 steps as :class:`~.matrix.LexicalMatrix`, so both give the same scores. Opening one
maps a few arrays and computes each row's length norm (milliseconds at 200k passages).

Weighing postings costs more than reading stored weights (the in-memory matrix), so each
reader keeps the weighed postings of the terms it was asked for, per generation, in a
bounded LRU (:data:`CACHE_BYTES`): frequent terms cost what they cost in memory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.lexical.counting import K1, B
from indexer.lexical.counting import idf_of as _idf
from indexer.lexical.files import LexicalFiles, open_lexical
from indexer.lexical.segments import term_key

from .base import COLUMNS, LexicalQuery
from .matrix import _reweigh

#: Bytes of weighed postings a reader keeps per generation (rows int32 + weights float64).
CACHE_BYTES = 64 << 20


@dataclass
class _Weighed:
    """One (column, term, column weight)'s live postings in one segment, weighed."""

    segment: int
    rows: np.ndarray     # segment rows
    weights: np.ndarray  # BM25 weight of each (float64)


class MappedLexicalMatrix:
    """BM25 scores of one generation from its mapped files (same interface as
    :class:`~.matrix.LexicalMatrix`: ``generation``, ``len``, ``top``, ``doc_freq``)."""

    def __init__(self, files: LexicalFiles) -> None:
        self.files = files
        self.generation = files.generation
        header = files.header
        self._n = header.passages
        average = header.total_length / header.passages if header.passages else 1.0
        self._norms = [(K1 * (1.0 - B + B * np.asarray(s.lengths, np.float64) / average))
                       .astype(np.float32) for s in files.segments]
        self._live = [np.asarray(live, dtype=bool) for live in files.live]
        self._all_live = [bool(live.all()) for live in self._live]  # skip the mask then
        self._cache: OrderedDict[tuple[int, str, float], list[_Weighed]] = OrderedDict()
        self._cached_bytes = 0
        self._budget = CACHE_BYTES
        self._lock = threading.Lock()

    @classmethod
    def open(cls, directory: Path, generation: int) -> MappedLexicalMatrix | None:
        """The matrix of ``generation`` if its files are there (shared-locked until
        :meth:`close`), else None."""
        files = open_lexical(directory, generation)
        return None if files is None else cls(files)

    def close(self) -> None:
        """Let the writer remove the files (mapped arrays stay readable until dropped)."""
        self.files.close()

    def __len__(self) -> int:
        return self._n

    @property
    def segments(self) -> int:
        """Segments a query visits."""
        return len(self.files.segments)

    def _postings(self, c: int, term: str) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """(segment, live rows, their tf) of ``term`` in column ``c``, per segment."""
        key, text = term_key(c, term), f"{c}:{term}".encode()
        found = []
        for k, segment in enumerate(self.files.segments):
            j = segment.column(key, text)
            if j < 0:
                continue
            start, end = segment.indptr[j], segment.indptr[j + 1]
            rows, tf = segment.indices[start:end], segment.tf[start:end]
            if not self._all_live[k]:
                keep = self._live[k][rows]
                rows, tf = rows[keep], tf[keep]
            if len(rows):
                found.append((k, rows, tf))
        return found

    def doc_freq(self, column: str, term: str) -> int:
        """Live passages that hold ``term`` in ``column``."""
        return sum(len(rows) for _, rows, _ in self._postings(COLUMNS.index(column), term))

    def _weighed(self, c: int, term: str, w: float) -> list[_Weighed]:
        """The weighed postings of (column, term) with column weight ``w``, cached: the
        float32 steps of ``LexicalMatrix.build`` and the same reweighing, so the scores
        equal the in-memory matrix's bit for bit (and FTS5's to 1e-6)."""
        key = (c, term, w)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        found = self._postings(c, term)
        df = sum(len(rows) for _, rows, _ in found)
        idf = _idf(np.array([df], np.float64), self._n)[0] if df else np.float32(0)
        out = []
        for k, rows, tf in found:
            weight = idf * tf * np.float32(K1 + 1.0) / (tf + self._norms[k][rows])
            out.append(_Weighed(k, rows, weight.astype(np.float64) if w == 1.0
                                else _reweigh(weight, idf, w)))
        self._remember(key, out)
        return out

    def _remember(self, key: tuple[int, str, float], value: list[_Weighed]) -> None:
        size = sum(v.rows.nbytes + v.weights.nbytes for v in value) + 100
        with self._lock:
            if key in self._cache or size > self._budget // 4:
                return
            self._cache[key] = value
            self._cached_bytes += size
            while self._cached_bytes > self._budget:
                _, old = self._cache.popitem(last=False)
                self._cached_bytes -= sum(v.rows.nbytes + v.weights.nbytes for v in old) + 100

    def top(self, query: LexicalQuery, n: int,
            allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Best ``n`` (passage id, BM25 score), score descending then id ascending; only
        passages in ``allowed`` when given (see :meth:`.matrix.LexicalMatrix.top`)."""
        if n <= 0 or not self._n:
            return []
        rows: list[list[np.ndarray]] = [[] for _ in self.files.segments]
        weights: list[list[np.ndarray]] = [[] for _ in self.files.segments]
        for column, term in query.phrases():
            for part in self._weighed(COLUMNS.index(column), term, query.weight(column)):
                rows[part.segment].append(part.rows)
                weights[part.segment].append(part.weights)
        ids: list[np.ndarray] = [np.zeros(0, np.int64)]
        scores: list[np.ndarray] = [np.zeros(0, np.float64)]
        for k, segment in enumerate(self.files.segments):
            if rows[k]:
                summed = np.bincount(np.concatenate(rows[k]), weights=np.concatenate(weights[k]),
                                     minlength=len(segment))
                hit = np.flatnonzero(summed > 0)
                ids.append(segment.rowids[hit])
                scores.append(summed[hit])
        return _best(np.concatenate(ids), np.concatenate(scores), n, allowed)


def _best(ids: np.ndarray, scores: np.ndarray, n: int,
          allowed: np.ndarray | None) -> list[tuple[int, float]]:
    """Best ``n`` of (ids, scores) among ``allowed``: score descending then id ascending."""
    if allowed is not None and len(ids):
        keep = np.isin(ids, np.asarray(allowed))
        ids, scores = ids[keep], scores[keep]
    if len(ids) > n:
        threshold = scores[np.argpartition(-scores, n - 1)[:n]].min()
        keep = scores >= threshold  # ties at the cut stay: the sort decides
        ids, scores = ids[keep], scores[keep]
    order = np.lexsort((ids, -scores))[:n]
    return [(int(ids[i]), float(scores[i])) for i in order]
