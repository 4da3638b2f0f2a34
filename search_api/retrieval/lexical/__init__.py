"""Lexical retrieval: the ``LexicalIndex`` seam (:mod:`.base`) and its implementations,
SQLite FTS5 (:mod:`.fts5`), the writer's BM25 matrix files memory-mapped (:mod:`.mapped`)
and the in-memory BM25 matrix (:mod:`.matrix`), plus the service that keeps a matrix
current (:mod:`.service`)."""

from .base import LexicalIndex, LexicalQuery, fts_expression, fts_query, lexical_query

__all__ = ["LexicalIndex", "LexicalQuery", "fts_expression", "fts_query", "lexical_query"]
