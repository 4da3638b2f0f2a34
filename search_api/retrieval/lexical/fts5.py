"""Lexical search with SQLite FTS5: the store's own full-text table, BM25 via ``bm25()``.

Always available (the table is written with every passage); the in-memory matrix
(:mod:`.matrix`) takes over on large indexes once built. The SQL itself belongs to
:class:`~indexer.db.IndexDB`; the MATCH expression is built from quoted syllables only.
"""

from __future__ import annotations

from collections.abc import Callable

from indexer.db import IndexDB, MetadataFilter

from .base import UNWEIGHTED, LexicalQuery, fts_expression


class Fts5LexicalIndex:
    """:class:`~.base.LexicalIndex` over ``passages_fts``.

    ``db`` returns the calling thread's read-only :class:`IndexDB` (a SQLite connection
    belongs to one thread at a time; the temporary vocabulary table to one connection).
    """

    def __init__(self, db: Callable[[], IndexDB]) -> None:
        self._db = db

    def top(self, query: LexicalQuery, n: int,
            filt: MetadataFilter) -> list[tuple[int, float]]:
        """Best ``n`` (passage id, BM25 score) by FTS5 MATCH, with the query's column weights;
        filters are a SQL join."""
        weights = None if query.weights == UNWEIGHTED else query.weights
        return self._db().fts_search(fts_expression(query), filt, n, weights)

    def doc_freq(self, column: str, term: str) -> int:
        """Passages holding ``term`` in ``column`` (FTS5's fts5vocab 'col' ``doc``)."""
        return self._db().fts_doc_freq(column, term)
