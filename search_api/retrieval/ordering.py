"""Result-set operations on the grouped entries: undated articles under a date filter,
counts by outlet/category/year, and date sorts.

They run on the whole result set (after ``min_relevance``, before paging), in this order:
:func:`article_meta` reads each article's outlet, category and date — only when the
request sorts by date, filters by date or asks for counts, so a plain search reads
nothing more — then :func:`drop_undated`, :func:`facet_counts`, :func:`sort_entries`.

An article is *dated* when its ``published`` starts with a ``YYYY-MM-DD`` date
(:attr:`indexer.db.ArticleMeta.day`); anything else is undated.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from indexer.db import ArticleMeta, IndexDB
from indexer.settings import Settings

from .grouping import Entry, candidate_count
from .request import SearchRequest

#: Facet names, in the order the response lists them.
FACETS = ("source", "category", "year")


def has_date_filter(req: SearchRequest) -> bool:
    """True when the request restricts the publication date."""
    return bool(req.date_from or req.date_to)


def needs_meta(req: SearchRequest) -> bool:
    """True when ordering needs the articles' metadata (date sort, date filter, facets)."""
    return req.sort != "relevance" or req.facets or has_date_filter(req)


def pool_size(req: SearchRequest, settings: Settings) -> int:
    """How many passages to rank for ``req``.

    In relevance order, enough for the page (:func:`.grouping.candidate_count`: the set
    grows with the offset, which only lengthens its tail). A date sort re-orders and counts
    re-count the whole set, so there the set must not depend on the page (page 3 of
    ``newest`` would otherwise reshuffle pages 1-2): a fixed pool, the size a grouped first
    page of ``max_k`` ranks; pages past it are empty and ``total`` says so.
    """
    if req.sort == "relevance" and not req.facets:
        return candidate_count(settings.candidates, req.offset, req.k, req.grouped)
    return candidate_count(settings.candidates, 0, settings.max_k, True)


def article_meta(entries: list[Entry], req: SearchRequest, db: IndexDB) -> dict[str, ArticleMeta]:
    """Outlet, category and date of the entries' articles, when the request needs them
    (an empty dict, and no database read, otherwise)."""
    if not needs_meta(req):
        return {}
    return db.article_meta(list(dict.fromkeys(e.article_id for e in entries)))


def _day(entry: Entry, meta: dict[str, ArticleMeta]) -> str | None:
    row = meta.get(entry.article_id)
    return row.day if row is not None else None


def drop_undated(entries: list[Entry], req: SearchRequest,
                 meta: dict[str, ArticleMeta]) -> tuple[list[Entry], int]:
    """Under a date filter, leave out articles without a date; returns (kept, left out).

    The count is of articles (with ``group=false`` several passages of one undated article
    count once). Entries whose article is gone from ``meta`` (deleted since the ranking)
    are dropped without counting: hydration would drop them anyway.
    """
    if not has_date_filter(req):
        return entries, 0
    kept: list[Entry] = []
    undated: set[str] = set()
    for entry in entries:
        row = meta.get(entry.article_id)
        if row is None:
            continue
        if row.day is None:
            undated.add(entry.article_id)
        else:
            kept.append(entry)
    return kept, len(undated)


def undated_excluded(req: SearchRequest, db: IndexDB,
                     entries_of: Callable[[SearchRequest], list[Entry]]) -> int:
    """Under a date filter: the undated articles the search would have returned had the
    filter let them in (``undated_excluded`` of the response); 0 without a date filter.

    ``entries_of`` runs the search's result set (retrieval to grouping) for a request; it
    is called once more with ``keep_undated``, so the shown results stay exactly those of
    the strict filter: letting undated articles into the one retrieval would move the
    fusion's min-max bounds, the relevance cut and the candidate tail of the dated hits.
    """
    if not has_date_filter(req) or not db.has_undated(req.filters()):
        return 0  # the usual case on a news corpus: every article dated, no second pass
    wide = replace(req, keep_undated=True)
    entries = entries_of(wide)
    return drop_undated(entries, wide, article_meta(entries, wide, db))[1]


def facet_counts(entries: list[Entry], meta: dict[str, ArticleMeta]) -> dict[str, list[dict]]:
    """``{"source"|"category"|"year": [{"value", "count"}]}`` over ``entries``.

    One count per entry, the unit of ``total``: per article when results are grouped (the
    default), per passage with ``group=false``; an article with several categories counts
    under each. Articles without an outlet, a category or a
    date are left out of that facet (there is no filter that would select them). Sources
    and categories: most frequent first, ties by value; years: newest first (a timeline).
    """
    keys: dict[str, Callable[[ArticleMeta], tuple[str | None, ...]]] = {
        "source": lambda m: (m.source,), "category": lambda m: m.categories,
        "year": lambda m: (m.year,)}
    rows = [meta[e.article_id] for e in entries if e.article_id in meta]
    out: dict[str, list[dict]] = {}
    for name in FACETS:
        # An article counts once under each of its categories.
        counts = Counter(v for m in rows for v in keys[name](m) if v)
        if name == "year":
            order = sorted(counts.items(), key=lambda item: item[0], reverse=True)
        else:
            order = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        out[name] = [{"value": value, "count": count} for value, count in order]
    return out


def sort_entries(entries: list[Entry], sort: str, meta: dict[str, ArticleMeta]) -> list[Entry]:
    """``entries`` in the requested order (relevance: unchanged).

    ``newest``/``oldest`` order dated entries by ``published`` (descending/ascending; the
    whole string, so a date-time orders within its day), equal dates keeping relevance
    order (the sorts are stable); undated entries follow, in relevance order.
    """
    if sort == "relevance":
        return entries
    dated = [e for e in entries if _day(e, meta) is not None]
    undated = [e for e in entries if _day(e, meta) is None]
    dated.sort(key=lambda e: meta[e.article_id].published or "", reverse=sort == "newest")
    return dated + undated
