"""One article's metadata normalised: publication date, outlet name, categories.

Readers hand over what the input says; :func:`normalise_metadata` (called by the writer's
plan step, and by the schema upgrade for stored rows) turns it into what is stored and
filtered: ``published`` as ISO 8601 in Vietnam time (or None, with the input kept in
``published_raw``), ``source`` as one display name per outlet, ``categories`` as
normalised names (``category`` is them joined by "; ").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..article import Article
from ..errors import InputError
from ..settings import Settings
from .categories import split_categories
from .dates import parse_published
from .outlets import OutletTable, OutletTableError


@lru_cache(maxsize=8)
def _outlets(user_file: str | None) -> OutletTable:
    # One table per user file: the built-in JSON is read once per process.
    try:
        return OutletTable.load(Path(user_file) if user_file else None)
    except OutletTableError as exc:
        raise InputError(f"outlets file: {exc}") from None


@dataclass(frozen=True)
class MetadataRules:
    """How metadata is normalised: the outlet table and the day/month order of dates."""

    outlets: OutletTable
    date_order: str = "dmy"

    @classmethod
    def from_settings(cls, settings: Settings) -> MetadataRules:
        """The rules ``settings`` ask for (``outlets_file``, ``date_order``)."""
        user_file = str(settings.outlets_file) if settings.outlets_file else None
        return cls(outlets=_outlets(user_file), date_order=settings.date_order)

    def canonical_source(self, value: str | None, url: str | None = None) -> str | None:
        """The display name of an outlet (a filter value or a stored name)."""
        return self.outlets.canonical(value, url)


def normalise_metadata(article: Article, rules: MetadataRules) -> Article:
    """``article`` with its date parsed, outlet canonicalised and categories split.

    An article already normalised (``published_raw`` or ``categories`` set, or an ISO
    date) passes through unchanged in meaning: the function is idempotent.
    """
    published, raw = article.published, article.published_raw
    if published:
        parsed = parse_published(published, rules.date_order)  # type: ignore[arg-type]
        published, raw = parsed.published, parsed.raw
    categories = article.categories or split_categories(article.category)
    return dataclasses.replace(
        article, published=published, published_raw=raw,
        source=rules.canonical_source(article.source, article.url),
        categories=tuple(categories), category="; ".join(categories) or None)
