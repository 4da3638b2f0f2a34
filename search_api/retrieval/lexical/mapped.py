"""BM25 over the writer's lexical matrix files, memory-mapped: no build at start-up.

The files (:mod:`indexer.lexical.files`) hold term frequencies per segment and a live mask
per generation; a query weighs only the postings of its own terms, with the generation's N
and average length and each term's df counted over live postings, exactly as FTS5's
``bm25()`` does (see :mod:`.matrix` for the formula and the column weights), in the same
float32 steps as :class:`~.matrix.LexicalMatrix`, so both give the same scores. Opening one
maps a few arrays and computes each row's length norm (milliseconds at 200k passages).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.lexical.counting import B, K1
from indexer.lexical.counting import idf_of as _idf
from indexer.lexical.files import LexicalFiles, open_lexical
from indexer.lexical.segments import term_key

from .base import COLUMNS, LexicalQuery
from .matrix import _reweigh


@dataclass
class _Postings:
    """One term's live postings in one segment."""

    segment: int
    rows: np.ndarray
    tf: np.ndarray


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

    def _postings(self, column: str, term: str) -> list[_Postings]:
        c = COLUMNS.index(column)
        key, text = term_key(c, term), f"{c}:{term}".encode()
        found = []
        for k, segment in enumerate(self.files.segments):
            j = segment.column(key, text)
            if j < 0:
                continue
            start, end = int(segment.indptr[j]), int(segment.indptr[j + 1])
            rows = np.asarray(segment.indices[start:end])
            keep = self._live[k][rows]
            if keep.any():
                found.append(_Postings(k, rows[keep], np.asarray(segment.tf[start:end])[keep]))
        return found

    def doc_freq(self, column: str, term: str) -> int:
        """Live passages that hold ``term`` in ``column``."""
        return sum(len(p.rows) for p in self._postings(column, term))

    def top(self, query: LexicalQuery, n: int,
            allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Best ``n`` (passage id, BM25 score), score descending then id ascending; only
        passages in ``allowed`` when given (see :meth:`.matrix.LexicalMatrix.top`)."""
        if n <= 0 or not self._n:
            return []
        rows: list[list[np.ndarray]] = [[] for _ in self.files.segments]
        weights: list[list[np.ndarray]] = [[] for _ in self.files.segments]
        for column, term in query.phrases():
            found = self._postings(column, term)
            df = sum(len(p.rows) for p in found)
            if not df:
                continue
            idf = _idf(np.array([df], np.float64), self._n)[0]
            w = query.weight(column)
            for p in found:
                # float32 in the order of LexicalMatrix.build, then the same reweighing:
                # the scores equal the in-memory matrix's bit for bit (and FTS5's to 1e-6).
                norm = self._norms[p.segment][p.rows]
                weight = idf * p.tf * np.float32(K1 + 1.0) / (p.tf + norm)
                rows[p.segment].append(p.rows)
                weights[p.segment].append(weight if w == 1.0 else _reweigh(weight, idf, w))
        ids, scores = self._scores(rows, weights)
        if allowed is not None and len(ids):
            keep = np.isin(ids, np.asarray(allowed))
            ids, scores = ids[keep], scores[keep]
        if len(ids) > n:
            threshold = scores[np.argpartition(-scores, n - 1)[:n]].min()
            keep = scores >= threshold  # ties at the cut stay: the sort decides
            ids, scores = ids[keep], scores[keep]
        order = np.lexsort((ids, -scores))[:n]
        return [(int(ids[i]), float(scores[i])) for i in order]

    def _scores(self, rows: list[list[np.ndarray]],
                weights: list[list[np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        """Passage ids and summed scores of the rows any phrase matched, over segments."""
        ids, scores = [np.zeros(0, np.int64)], [np.zeros(0, np.float64)]
        for k, segment in enumerate(self.files.segments):
            if not rows[k]:
                continue
            summed = np.bincount(np.concatenate(rows[k]), weights=np.concatenate(weights[k]),
                                 minlength=len(segment))
            hit = np.flatnonzero(summed > 0)
            ids.append(np.asarray(segment.rowids)[hit])
            scores.append(summed[hit])
        return np.concatenate(ids), np.concatenate(scores)
