"""Typed rows the index database returns, and the metadata filter it applies."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..metadata.keys import metadata_key

# A usable date: ``published`` starting with ``YYYY-MM-DD`` (ISO date or date-time). The
# SQL twin is ``reads.DATED_SQL``; anything else (NULL, "", "2020-10", "hôm qua") is undated.
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class MetadataFilter:
    """Outlet / category / date-range restriction of a search (all optional, ANDed).

    ``source`` and ``category`` are compared by their :func:`metadata_key` (case-, tone- and
    punctuation-insensitive); callers canonicalise outlet aliases first. Dates are ISO
    ``YYYY-MM-DD`` strings, inclusive, compared with the first ten characters
    of ``published``; a date range admits only dated articles (see :class:`ArticleMeta`),
    unless ``keep_undated``: then undated articles pass too, so that the searcher can count
    how many a date filter leaves out (it drops them itself).
    """

    source: str | None = None
    category: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    keep_undated: bool = False
    #: Province filter (schema 3): the key (:func:`indexer.places.province_key`) of a
    #: province, matched against the article's ``current`` or ``former`` province rows.
    province_key: str | None = None
    province_kind: str = "current"

    @property
    def source_key(self) -> str:
        """The outlet filter's key (case-, tone- and punctuation-insensitive)."""
        return metadata_key(self.source)

    @property
    def category_key(self) -> str:
        """The category filter's key (an article matches on any of its categories)."""
        return metadata_key(self.category)

    @property
    def empty(self) -> bool:
        """True when nothing is filtered."""
        return not (self.source or self.category or self.date_from or self.date_to
                    or self.province_key)


@dataclass(frozen=True)
class ArticleMeta:
    """An article's outlet, category and publication date: what sorts and counts read."""

    id: str
    source: str | None
    category: str | None
    published: str | None

    @property
    def categories(self) -> tuple[str, ...]:
        """The article's categories (it counts under each)."""
        return split_stored_categories(self.category)

    @property
    def day(self) -> str | None:
        """``YYYY-MM-DD`` of ``published``, or None when the article is undated."""
        published = self.published or ""
        return published[:10] if _ISO_DAY.match(published) else None

    @property
    def year(self) -> str | None:
        """``YYYY`` of ``published``, or None when the article is undated."""
        day = self.day
        return day[:4] if day else None


def split_stored_categories(category: str | None) -> tuple[str, ...]:
    """The categories of a stored ``articles.category`` (normalised names joined by "; ")."""
    return tuple(c for c in (category or "").split("; ") if c)


@dataclass(frozen=True)
class ArticleMetadata:
    """An article's metadata as the writer merges it with a re-read copy."""

    url: str | None
    source: str | None
    published: str | None
    published_raw: str | None
    categories: tuple[str, ...]
    origin: str | None = None

    def without_origin(self) -> ArticleMetadata:
        """The same metadata with no origin (what readers see)."""
        return ArticleMetadata(self.url, self.source, self.published, self.published_raw,
                               self.categories)

    def merged_with(self, art: Any) -> ArticleMetadata:
        """Stored metadata refreshed from a re-read article (origin left out): a value in
        the new copy wins, a missing one keeps the stored; a parsed date beats a raw one."""
        published, raw = self.published, self.published_raw
        if art.published:
            published, raw = art.published, None
        elif art.published_raw and not self.published:
            raw = art.published_raw
        return ArticleMetadata(self.url or art.url, art.source or self.source, published, raw,
                               tuple(art.categories) or self.categories)


@dataclass(frozen=True)
class ArticleRegions:
    """An article's provinces (current names, and the former names it uses) and story."""

    article_id: str
    story_id: str
    provinces: tuple[str, ...] = ()
    provinces_former: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoryCandidate:
    """A stored article sharing an LSH band with a new one: its story and signature."""

    article_id: str
    story_id: str
    signature: bytes
    #: Its outlet (the writer's outlet rule: one outlet's pages are not one story).
    source: str | None = None


@dataclass(frozen=True)
class StoryMember:
    """One article of a story, as a hit's ``also_in`` lists it."""

    article_id: str
    story_id: str
    source: str | None
    url: str | None
    published: str | None


@dataclass(frozen=True)
class ArticleText:
    """What tagging and signing read of a stored article (the schema upgrade)."""

    id: str
    title: str | None
    text: str
    source: str | None


@dataclass(frozen=True)
class StoredArticle:
    """An article row as the writer compares it (identity and metadata)."""

    id: str
    content_hash: str


@dataclass(frozen=True)
class PassageRow:
    """A passage with its article's metadata: what a search hit shows."""

    id: int
    article_id: str
    text: str
    start: int
    end: int
    title: str | None
    url: str | None
    source: str | None
    published: str | None
    category: str | None
    ordinal: int  # place in its article, 0-based


@dataclass(frozen=True)
class PassageSpan:
    """A passage's place in its article's cleaned text."""

    id: int
    ordinal: int
    start: int
    end: int
    text: str = ""


@dataclass
class ArticleRecord:
    """A whole stored article, with its URLs and passages in order."""

    id: str
    title: str | None
    text: str
    url: str | None
    source: str | None
    published: str | None
    category: str | None
    published_raw: str | None = None
    urls: list[str] = field(default_factory=list)
    passages: list[PassageSpan] = field(default_factory=list)


class FtsRow(NamedTuple):
    """One row of the full-text table: the three lexical columns of a passage.

    A NamedTuple, not a dataclass: the lexical matrix reads every row of the index (200k+).
    """

    rowid: int
    toned: str
    folded: str
    bigrams: str


@dataclass(frozen=True)
class IntegrityReport:
    """What ``vnsearch check`` reads from the store inside one transaction."""

    passage_ids: set[int]
    fts_ids: set[int]
    bad_vectors: int
    orphans: int
    empty_articles: int
