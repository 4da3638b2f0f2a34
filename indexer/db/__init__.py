"""The index database: the one owner of every SQL statement on ``store.sqlite``."""

from .database import SCHEMA, IndexDB
from .records import (ArticleMeta, ArticleMetadata, ArticleRecord, FtsRow, IntegrityReport,
                      MetadataFilter, PassageRow, PassageSpan, StoredArticle,
                      split_stored_categories)

__all__ = ["SCHEMA", "IndexDB", "ArticleMeta", "ArticleMetadata", "ArticleRecord", "FtsRow",
           "IntegrityReport", "MetadataFilter", "PassageRow", "PassageSpan", "StoredArticle",
           "split_stored_categories"]
