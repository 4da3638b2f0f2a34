"""Result-set operations on the grouped entries: undated articles under a date filter,
counts by outlet/category/year, and date sorts.

STUB (issue 12, parts 4-5): no metadata is read yet; entries pass unchanged.
"""

from __future__ import annotations

from indexer.db import IndexDB

from .grouping import Entry
from .request import SearchRequest

ArticleMeta = dict  # placeholder until the typed metadata row exists


def article_meta(entries: list[Entry], req: SearchRequest, db: IndexDB) -> dict[str, ArticleMeta]:
    """Outlet, category and date of the entries' articles, when the request needs them."""
    return {}


def drop_undated(entries: list[Entry], req: SearchRequest,
                 meta: dict[str, ArticleMeta]) -> tuple[list[Entry], int]:
    """Under a date filter, leave out articles without a date; returns (kept, left out)."""
    return entries, 0


def facet_counts(entries: list[Entry], meta: dict[str, ArticleMeta]) -> dict[str, list[dict]]:
    """``{"source"|"category"|"year": [{"value", "count"}]}`` over ``entries``."""
    return {"source": [], "category": [], "year": []}


def sort_entries(entries: list[Entry], sort: str, meta: dict[str, ArticleMeta]) -> list[Entry]:
    """``entries`` in the requested order (relevance: unchanged)."""
    return entries
