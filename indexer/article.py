"""Typed records shared by the readers, the cleaner, the chunker and the store."""

from __future__ import annotations

from dataclasses import dataclass, field

#: The fields of an :class:`Article`, in order: what ``--map FIELD=KEY`` may name and
#: what the JSONL/CSV readers look up (one list, so a new field is added in one place).
ARTICLE_FIELDS: tuple[str, ...] = ("id", "title", "text", "url", "source", "published", "category")


@dataclass
class Article:
    """One news article as read from any input format.

    ``id`` may be empty when read; the store assigns the stable id (see ``identity``).
    ``published`` is, as read, the input's date string; after normalisation
    (:mod:`indexer.metadata`) it is an ISO 8601 date or date-time, or None — never invented —
    and ``published_raw`` keeps an input date that could not be parsed. ``category`` is the
    input's value (possibly several joined by ``;``); ``categories`` the normalised names.
    ``origin`` is the absolute path of the file the article was read from (``--sync``).
    ``file_key`` identifies an article that has neither an input id nor a URL by where it
    was read: the file's absolute path, plus ``#N`` (the record's number, from 1) inside a
    multi-record JSONL/CSV file; editing that file then updates the article.
    """

    id: str
    title: str | None
    text: str
    url: str | None = None
    source: str | None = None
    published: str | None = None
    category: str | None = None
    published_raw: str | None = None
    categories: tuple[str, ...] = ()
    origin: str | None = None
    file_key: str | None = None


@dataclass
class Passage:
    """A chunk of a cleaned article: ``text`` is ``article.text[start:end]``."""

    ordinal: int
    text: str
    start: int
    end: int


@dataclass
class SkippedRecord:
    """An input record that could not be used, with where it came from and why."""

    path: str
    line: int | None
    reason: str


@dataclass
class ReadResult:
    """What a reader produced from one input: articles plus the records it skipped."""

    articles: list[Article] = field(default_factory=list)
    skipped: list[SkippedRecord] = field(default_factory=list)
