"""In-memory BM25 over the index's FTS5 columns: FTS5's own ``bm25()`` scores, without
its per-row cost.

FTS5 answers an OR query by walking every matching row and calling ``bm25()`` on it, so a
query costs in proportion to the rows that contain *any* of its terms (31 ms a query at
17k passages, growing linearly). Here every (column, term) is a column of a CSC sparse
matrix (scipy) whose entries are that term's precomputed BM25 weight in each passage, and
a query is the sum of a few columns: a gather plus ``np.bincount``.

The weights reproduce ``fts5_aux.c``'s ``bm25()`` exactly (k1 = 1.2, b = 0.75): for a
phrase restricted to one column, IDF = ln((N - n + 0.5) / (n + 0.5)) with n the rows that
hold the term *in that column* (IDF <= 0 becomes 1e-6), tf is the count in that column,
and the document length is the row's token count over *all* columns, over the average of
it. Column weights (``bm25(passages_fts, w_toned, w_folded, w_bigrams)``, used for toned
queries) scale tf inside the saturation; a weighted column's postings are rescaled at query
time from their stored weight and the term's IDF (:func:`_reweigh`), unweighted ones are
used as stored. ``tests/test_lexical_matrix.py`` checks rankings and scores against FTS5.

This matrix is built in memory from ``passages_fts`` (the columns hold space-joined
lower-case words) when the writer's matrix files (:mod:`.mapped`) are missing, and
for cluster shards scored with their cluster's statistics; FTS5 stays the source of truth and
answers while it is built. One known difference: FTS5 splits a number such as
"1.000" or "1,8" into two tokens (so the query term "8" matches "1,8" there); here it stays
one term, so queries with numbers can score a little differently.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from indexer.db import IndexDB, MetadataFilter
from indexer.lexical.counting import K1, TermCounts
from indexer.lexical.counting import idf_of as _idf
from indexer.lexical.counting import length_norm as _length_norm
from indexer.lexical.counting import local_df as _local_df
from indexer.lexical.stats import CorpusStats

from .base import COLUMNS, LexicalQuery

# The term counting (TermCounts, FTS5's token rule, IDF and length norm) lives in
# indexer.lexical.counting: the writer's matrix files are built from the same code.


class LexicalMatrix:
    """BM25 weights of every (column, term) in every passage, for one index generation."""

    def __init__(self, generation: int, rowids: np.ndarray, vocab: _Vocabulary,
                 indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray,
                 idf: np.ndarray) -> None:
        self.generation = generation
        self.rowids = rowids            # passage id of each matrix row, ascending
        self._vocab = vocab             # (column, term) -> matrix column
        self._indptr = indptr           # CSC: column j's rows are indices[indptr[j]:indptr[j+1]]
        self._indices = indices
        self._weights = weights
        self._idf = idf                 # BM25 IDF of each matrix column (column weights need it)

    def __len__(self) -> int:
        return len(self.rowids)

    @property
    def nbytes(self) -> int:
        """Bytes held by the numpy arrays, vocabulary included."""
        return int(self.rowids.nbytes + self._indptr.nbytes + self._indices.nbytes
                   + self._weights.nbytes + self._idf.nbytes + self._vocab.nbytes)

    @property
    def terms(self) -> int:
        """Distinct (column, term) pairs."""
        return len(self._vocab)

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def build(cls, db: IndexDB, generation: int,
              corpus: CorpusStats | None = None) -> LexicalMatrix:
        """Read every full-text row of ``db`` and compute every BM25 weight.

        ``corpus``: statistics of a larger corpus this index is a shard of (passages,
        average length, document frequencies), used instead of the index's own so that
        its scores equal those of one index holding every shard.
        """
        rows = TermCounts()
        rows.read(db.iter_fts_rows())
        n_rows, n_terms = len(rows.rowids), rows.n_terms
        global_df = _global_df(rows.vocab, n_terms, corpus) if corpus is not None else None
        vocabulary = _Vocabulary(rows.vocab)
        rows.vocab = []  # the hashed vocabulary replaces the dicts: free them early
        if n_rows == 0:
            return cls(generation, np.zeros(0, np.int64), vocabulary,
                       np.zeros(n_terms + 1, np.int64), np.zeros(0, np.int32),
                       np.zeros(0, np.float32), np.zeros(n_terms, np.float32))
        if corpus is None:
            idf32 = _idf(_local_df(rows.block_df, n_terms), n_rows)
            norm = _length_norm(rows.lengths, n_rows)
        else:
            assert global_df is not None  # computed when corpus is given
            idf32 = _idf(global_df, corpus.passages)
            norm = _length_norm(rows.lengths, corpus.passages, corpus.total_length)
        csc = _weigh(rows.blocks, idf32, norm, n_terms)
        matrix = cls(generation, np.frombuffer(rows.rowids, dtype=np.int64).copy(), vocabulary,
                     csc.indptr.astype(np.int64), csc.indices.astype(np.int32, copy=False),
                     csc.data.astype(np.float32, copy=False), idf32)
        del csc, rows
        _release_free_memory()
        return matrix

    # -- querying ---------------------------------------------------------------------------
    def _column(self, column: str, term: str) -> int | None:
        return self._vocab.get(COLUMNS.index(column), term)

    def doc_freq(self, column: str, term: str) -> int:
        """Passages that hold ``term`` in ``column`` (FTS5's fts5vocab 'col' ``doc``)."""
        j = self._column(column, term)
        return 0 if j is None else int(self._indptr[j + 1] - self._indptr[j])

    def top(self, query: LexicalQuery, n: int,
            allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Best ``n`` (passage id, BM25 score), score descending then id ascending.

        ``allowed``: passage ids a filter admits (None: all). Passages that match no term
        are never returned, as with FTS5 MATCH. The query's column weights apply as in
        FTS5's ``bm25(passages_fts, w_toned, w_folded, w_bigrams)``.
        """
        cols = [(j, query.weight(c)) for j, c in
                ((self._column(c, t), c) for c, t in query.phrases()) if j is not None]
        if not cols or n <= 0 or not len(self.rowids):
            return []
        spans = [(self._indptr[j], self._indptr[j + 1]) for j, _ in cols]
        rows = np.concatenate([self._indices[s:e] for s, e in spans])
        weights = np.concatenate([
            self._weights[s:e] if w == 1.0 else _reweigh(self._weights[s:e], self._idf[j], w)
            for (s, e), (j, w) in zip(spans, cols, strict=False)])
        n_rows = len(self.rowids)
        scores = np.bincount(rows, weights=weights, minlength=n_rows)
        if allowed is not None:
            keep = np.zeros(n_rows, dtype=bool)
            pos = np.searchsorted(self.rowids, allowed)
            inside = pos < n_rows
            pos = pos[inside]
            keep[pos[self.rowids[pos] == np.asarray(allowed)[inside]]] = True
            scores[~keep] = 0.0
        hit = np.flatnonzero(scores > 0)
        if len(hit) > n:
            threshold = scores[hit[np.argpartition(-scores[hit], n - 1)[:n]]].min()
            hit = hit[scores[hit] >= threshold]  # ties at the cut stay: the sort decides
        ids = self.rowids[hit]
        order = np.lexsort((ids, -scores[hit]))[:n]
        return [(int(ids[i]), float(scores[hit][i])) for i in order]


class _Matrix(Protocol):
    """What :class:`MatrixLexicalIndex` asks of a matrix (a :class:`LexicalMatrix` or a
    :class:`~.mapped.MappedLexicalMatrix`)."""

    def top(self, query: LexicalQuery, n: int,
            allowed: np.ndarray | None = None) -> list[tuple[int, float]]: ...

    def doc_freq(self, column: str, term: str) -> int: ...


class MatrixLexicalIndex:
    """:class:`~.base.LexicalIndex` over a built :class:`LexicalMatrix`.

    A metadata filter becomes the set of admitted passage ids, read through ``db`` (the
    calling thread's read-only :class:`IndexDB`).
    """

    def __init__(self, matrix: _Matrix, db: Callable[[], IndexDB]) -> None:
        self.matrix = matrix
        self._db = db

    def top(self, query: LexicalQuery, n: int,
            filt: MetadataFilter) -> list[tuple[int, float]]:
        """Best ``n`` (passage id, BM25 score) among the passages ``filt`` admits."""
        return self.matrix.top(query, n, self._db().filtered_passage_ids(filt))

    def doc_freq(self, column: str, term: str) -> int:
        """Passages that hold ``term`` in ``column``."""
        return self.matrix.doc_freq(column, term)


# -- building blocks ----------------------------------------------------------------------------
def _global_df(vocab: list[defaultdict[str, int]], n_terms: int,
               corpus: CorpusStats) -> np.ndarray:
    """Per-(column, term) document frequency in ``corpus`` (a set of shards)."""
    df = np.zeros(n_terms, dtype=np.float64)
    for c, terms in enumerate(vocab):
        counts = corpus.df[c]
        for term, j in terms.items():
            df[j] = counts.get(term, 0)
    return df


def _reweigh(weights: np.ndarray, idf: float | np.floating, w: float) -> np.ndarray:
    """BM25 weights of one term's postings with column weight ``w`` instead of 1.

    FTS5 multiplies the term frequency by the column weight inside the saturation:
    ``idf * w*tf*(k1+1) / (w*tf + norm)``. With ``s = weight / (idf*(k1+1)) = tf/(tf+norm)``
    that is ``w * weight / (1 + (w-1)*s)``: no need to store tf or the row norms.
    """
    s = weights.astype(np.float64) / (float(idf) * (K1 + 1.0))
    return w * weights / (1.0 + (w - 1.0) * s)


def _weigh(blocks: list[Any], idf32: np.ndarray, norm: np.ndarray, n_terms: int) -> Any:
    """The BM25 weight of every (row, term), as one sorted CSC matrix (``blocks`` emptied)."""
    from scipy import sparse

    first = 0
    for i, block in enumerate(blocks):
        # BM25 weight of each (row, term), block by block to bound the temporaries.
        row_of = np.repeat(np.arange(first, first + block.shape[0]), np.diff(block.indptr))
        freq = block.data
        block.data = idf32[block.indices] * freq * np.float32(K1 + 1.0) / (freq + norm[row_of])
        blocks[i] = sparse.csr_matrix((block.data, block.indices, block.indptr),
                                      shape=(block.shape[0], n_terms))
        first += block.shape[0]
    csr = sparse.vstack(blocks, format="csr")
    blocks.clear()
    csc = csr.tocsc()
    del csr
    csc.sort_indices()
    return csc


class _Vocabulary:
    """(column, term) -> matrix column, as a sorted array of 64-bit hashes.

    At 200k passages there are ~1.5M distinct terms (mostly bigrams): Python dicts of them
    hold ~150 MB, the hashes 18 MB. Python's str hash is stable within a process, and the
    matrix never leaves the process; should two keys collide, the dicts are kept instead.
    """

    def __init__(self, vocab: list[defaultdict[str, int]]) -> None:
        n = sum(len(v) for v in vocab)
        keys = np.empty(n, dtype=np.int64)
        for c, terms in enumerate(vocab):
            for term, j in terms.items():
                keys[j] = hash((c, term))
        order = np.argsort(keys, kind="stable")
        self._keys = keys[order]
        self._columns = order.astype(np.int32)
        self._dicts: list[dict[str, int]] | None = None
        if n and bool(np.any(self._keys[1:] == self._keys[:-1])):
            self._dicts = [dict(v) for v in vocab]

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def nbytes(self) -> int:
        """Bytes of the hash and column arrays."""
        return int(self._keys.nbytes + self._columns.nbytes)

    def get(self, column: int, term: str) -> int | None:
        """The matrix column of ``term`` in ``column`` (an index into COLUMNS), or None."""
        if self._dicts is not None:
            return self._dicts[column].get(term)
        key = hash((column, term))
        i = int(np.searchsorted(self._keys, key))
        if i < len(self._keys) and self._keys[i] == key:
            return int(self._columns[i])
        return None


def _release_free_memory() -> None:
    """Hand the build's freed heap back to the OS (glibc keeps it otherwise).

    Measured at 212,694 passages: RSS after the build 529 MB without, 314 MB with (the
    matrix itself is 245 MB). A no-op where glibc's ``malloc_trim`` is not available.
    """
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass
