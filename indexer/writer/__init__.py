"""The write path: clean → identify → plan → chunk → embed (cached) → persist.

The names below are the writer's public API; other packages (the cluster indexer on Ray,
the upgrade) import them from here, never from the modules inside.
"""

from .batch import index_articles
from .identity import clean_title, content_hash, embedding_text, lexical_columns, stable_article_id
from .plan import Action, prepare
from .regions import tag_article
from .summary import IndexSummary
from .writer import TOKEN_MARGIN, IndexWriter, cache_key

__all__ = ["Action", "IndexSummary", "IndexWriter", "TOKEN_MARGIN", "cache_key", "clean_title",
           "content_hash", "embedding_text", "index_articles", "lexical_columns", "prepare",
           "stable_article_id", "tag_article"]
