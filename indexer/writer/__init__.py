"""The write path: clean → identify → plan → chunk → embed (cached) → persist."""

from .batch import index_articles
from .identity import clean_title, content_hash, embedding_text, lexical_columns, stable_article_id
from .plan import Action
from .summary import IndexSummary
from .writer import IndexWriter

__all__ = ["Action", "IndexSummary", "IndexWriter", "clean_title", "content_hash",
           "embedding_text", "index_articles", "lexical_columns", "stable_article_id"]
