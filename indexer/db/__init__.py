"""The index database: the one owner of every SQL statement on ``store.sqlite``."""

from .database import IndexDB
from .records import (
    ArticleMeta,
    ArticleMetadata,
    ArticleRecord,
    ArticleRegions,
    ArticleText,
    FtsRow,
    IntegrityReport,
    MetadataFilter,
    PassageRow,
    PassageSpan,
    StoredArticle,
    StoryCandidate,
    StoryMember,
    split_stored_categories,
)
from .schema import SCHEMA

__all__ = ["SCHEMA", "IndexDB", "ArticleMeta", "ArticleMetadata", "ArticleRecord",
           "ArticleRegions", "ArticleText", "FtsRow", "IntegrityReport", "MetadataFilter",
           "PassageRow", "PassageSpan", "StoredArticle", "StoryCandidate", "StoryMember",
           "split_stored_categories"]
