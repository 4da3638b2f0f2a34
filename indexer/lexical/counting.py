"""Counting the terms of full-text rows: the pure part of building a BM25 matrix.

Shared by the writer (the matrix files of :mod:`.segments`) and the search side's
in-memory matrix (``search_api.retrieval.lexical.matrix``). A column's terms are its
space-separated words (the writer stores space-joined lower-case words); a passage's
length is its FTS5 token count over all columns, BM25's length unit.
"""

from __future__ import annotations

import itertools
import re
from array import array
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..db import FtsRow

#: The FTS5 columns, in ``passages_fts`` order (``bm25()`` weights follow it).
COLUMNS = ("toned", "folded", "bigrams")
#: FTS5's unicode61 tokenizer with tokenchars '_' (runs of letters, digits and '_'). Terms
#: are the space-separated words the writer stored, but a number like "1.000" is two FTS5
#: tokens, and BM25's document length counts FTS5 tokens.
FTS_TOKEN = re.compile(r"\w+")
K1 = 1.2
B = 0.75
BUILD_CHUNK = 20_000  # rows per sparse block while building: bounds the transient memory
WIDE = 2**31 - 1  # column count of a block built before the vocabulary is complete


class TermCounts:
    """Term ids and token counts of the full-text rows, as CSR blocks of term frequencies.

    C arrays, not lists: at 200k passages a block holds millions of token ids, and Python
    int objects for them would cost 7x the memory.
    """

    def __init__(self) -> None:
        next_id = itertools.count().__next__
        # One id space over all columns; a lookup assigns the next id to an unseen term.
        self.vocab: list[defaultdict[str, int]] = [defaultdict(next_id) for _ in COLUMNS]
        self.rowids = array("q")
        self.lengths = array("i")
        self.blocks: list[Any] = []  # scipy CSR matrices, BUILD_CHUNK rows each
        self.block_df: list[np.ndarray] = []
        self._tokens = array("i")
        self._token_rows = array("i")

    @property
    def n_terms(self) -> int:
        """Distinct (column, term) pairs seen so far."""
        return sum(len(v) for v in self.vocab)

    def read(self, rows: Iterable[FtsRow]) -> None:
        """Count the terms of ``rows`` (ascending rowid), flushing a block every chunk."""
        lookups = [v.__getitem__ for v in self.vocab]
        rowids, lengths = self.rowids, self.lengths
        tokens, token_rows = self._tokens, self._token_rows
        for row in rows:
            rowids.append(row[0])
            count = 0
            before = len(tokens)
            for lookup, text in zip(lookups, row[1:], strict=False):
                if text:
                    tokens.extend(map(lookup, text.split()))
                    count += len(FTS_TOKEN.findall(text))
            lengths.append(count)
            token_rows.append(len(tokens) - before)
            if len(token_rows) >= BUILD_CHUNK:
                self._flush()
        self._flush()

    def _flush(self) -> None:
        """Turn the pending rows' token ids into a CSR block of term frequencies."""
        from scipy import sparse

        tokens, token_rows = self._tokens, self._token_rows
        if not token_rows:
            return
        indptr = np.zeros(len(token_rows) + 1, dtype=np.int64)
        np.cumsum(np.frombuffer(token_rows, dtype=np.int32), out=indptr[1:])
        ids = np.frombuffer(tokens, dtype=np.int32).copy()
        block = sparse.csr_matrix((np.ones(len(ids), dtype=np.float32), ids, indptr),
                                  shape=(len(token_rows), WIDE))
        block.sum_duplicates()  # token occurrences -> term frequency per row
        self.blocks.append(block)
        self.block_df.append(np.bincount(block.indices))
        del tokens[:]
        del token_rows[:]


def local_df(block_df: list[np.ndarray], n_terms: int) -> np.ndarray:
    """Per-(column, term) document frequency of this index: FTS5 counts rows matching the
    phrase in its column filter, i.e. the number of non-zeros of that matrix column."""
    df = np.zeros(n_terms, dtype=np.float64)
    for counts in block_df:
        df[:len(counts)] += counts
    return df


def idf_of(df: np.ndarray, n_rows: int) -> np.ndarray:
    """float32 BM25 IDF of every (column, term), as FTS5 computes it."""
    idf = np.log((n_rows - df + 0.5) / (df + 0.5))
    idf[idf <= 0] = 1e-6
    return idf.astype(np.float32)


def length_norm(lengths: array, n_rows: int, total_length: int | None = None) -> np.ndarray:
    """float32 k1 * (1 - b + b * len / avg len) of every row (the average over
    ``total_length`` / ``n_rows`` when given: a larger corpus's)."""
    doc_len = np.frombuffer(lengths, dtype=np.int32).astype(np.float64)
    total = doc_len.sum() if total_length is None else float(total_length)
    return (K1 * (1.0 - B + B * doc_len / (total / n_rows))).astype(np.float32)
