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


@dataclass
class _Postings:
    """A query's live postings in one segment, in phrase order."""

    segment: int
    rows: np.ndarray    # segment row of each posting
    tf: np.ndarray      # its term frequency (float32)
    phrase: np.ndarray  # the query phrase it belongs to


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

    def _postings(self, phrases: list[tuple[int, str]]) -> list[_Postings]:
        """The live postings of ``phrases`` ((column index, term)), per segment, in phrase
        order: one vectorised lookup and gather per segment, not one per term."""
        keys = np.fromiter((term_key(c, t) for c, t in phrases), np.int64, count=len(phrases))
        texts = [f"{c}:{t}".encode() for c, t in phrases]
        found = []
        for k, segment in enumerate(self.files.segments):
            pos = np.searchsorted(segment.keys, keys)
            pos[pos >= len(segment.keys)] = 0
            hit = np.flatnonzero(segment.keys[pos] == keys) if len(segment.keys) else []
            phrase, cols = [], []
            offsets, terms = segment.offsets, segment.terms
            for i in hit:  # confirm the text: a 64-bit hash match is all but certain
                at = pos[i]
                if terms[offsets[at]:offsets[at + 1]].tobytes() == texts[i]:
                    j = int(segment.cols[at])
                else:  # a collision: look along the equal keys
                    j = segment.column(int(keys[i]), texts[i])
                if j >= 0:
                    phrase.append(i)
                    cols.append(j)
            if not cols:
                continue
            starts = segment.indptr[cols]
            lengths = segment.indptr[np.asarray(cols) + 1] - starts
            total = int(lengths.sum())
            # positions of every posting of every matched column, in phrase order
            first = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
            at = np.arange(total, dtype=np.int64) + first
            rows = segment.indices[at]
            keep = self._live[k][rows]
            found.append(_Postings(k, rows[keep], segment.tf[at][keep],
                                   np.repeat(np.asarray(phrase), lengths)[keep]))
        return found

    def doc_freq(self, column: str, term: str) -> int:
        """Live passages that hold ``term`` in ``column``."""
        return sum(len(p.rows) for p in self._postings([(COLUMNS.index(column), term)]))

    def top(self, query: LexicalQuery, n: int,
            allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Best ``n`` (passage id, BM25 score), score descending then id ascending; only
        passages in ``allowed`` when given (see :meth:`.matrix.LexicalMatrix.top`)."""
        phrases = [(COLUMNS.index(c), t) for c, t in query.phrases()]
        if n <= 0 or not self._n or not phrases:
            return []
        found = self._postings(phrases)
        df = np.zeros(len(phrases), np.float64)
        for p in found:
            df += np.bincount(p.phrase, minlength=len(phrases))
        idf = _idf(df, self._n)
        w = np.array([query.weight(COLUMNS[c]) for c, _ in phrases], np.float64)
        ids, scores = [np.zeros(0, np.int64)], [np.zeros(0, np.float64)]
        for p in found:
            segment = self.files.segments[p.segment]
            summed = np.bincount(p.rows, weights=self._weights(p, idf, w), minlength=len(segment))
            hit = np.flatnonzero(summed > 0)
            ids.append(segment.rowids[hit])
            scores.append(summed[hit])
        return _best(np.concatenate(ids), np.concatenate(scores), n, allowed)

    def _weights(self, p: _Postings, idf: np.ndarray, w: np.ndarray) -> np.ndarray:
        """BM25 weight of each posting: the float32 steps of ``LexicalMatrix.build``, then
        the same column reweighing (``_reweigh``), so the scores equal the in-memory
        matrix's bit for bit (and FTS5's to 1e-6)."""
        term_idf = idf[p.phrase]
        weight = term_idf * p.tf * np.float32(K1 + 1.0) / (p.tf + self._norms[p.segment][p.rows])
        out = weight.astype(np.float64)
        term_w = w[p.phrase]
        other = term_w != 1.0
        if other.any():
            base, ww = weight[other], term_w[other]
            share = base.astype(np.float64) / (term_idf[other].astype(np.float64) * (K1 + 1.0))
            out[other] = (ww.astype(np.float32) * base) / (1.0 + (ww - 1.0) * share)
        return out


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
