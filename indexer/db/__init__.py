"""The index database: the one owner of every SQL statement on ``store.sqlite``."""

from .database import SCHEMA, IndexDB
from .records import (ArticleMeta, ArticleRecord, FtsRow, IntegrityReport, MetadataFilter, PassageRow,
                      PassageSpan, StoredArticle)

__all__ = ["SCHEMA", "IndexDB", "ArticleMeta", "ArticleRecord", "FtsRow", "IntegrityReport", "MetadataFilter",
           "PassageRow", "PassageSpan", "StoredArticle"]
