"""Typed rows the index database returns, and the metadata filter it applies."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

# A usable date: ``published`` starting with ``YYYY-MM-DD`` (ISO date or date-time). The
# SQL twin is ``reads.DATED_SQL``; anything else (NULL, "", "2020-10", "hôm qua") is undated.
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class MetadataFilter:
    """Outlet / category / date-range restriction of a search (all optional, ANDed).

    Dates are ISO ``YYYY-MM-DD`` strings, inclusive, compared with the first ten characters
    of ``published``; a date range admits only dated articles (see :class:`ArticleMeta`),
    unless ``keep_undated``: then undated articles pass too, so that the searcher can count
    how many a date filter leaves out (it drops them itself).
    """

    source: str | None = None
    category: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    keep_undated: bool = False

    @property
    def empty(self) -> bool:
        """True when nothing is filtered."""
        return not (self.source or self.category or self.date_from or self.date_to)


@dataclass(frozen=True)
class ArticleMeta:
    """An article's outlet, category and publication date: what sorts and counts read."""

    id: str
    source: str | None
    category: str | None
    published: str | None

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
