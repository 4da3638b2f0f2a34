"""A search request: its fields, the search modes, and validation against the settings.

Validation is the one place where user input becomes a search: the query is normalised
(Unicode NFC, whitespace collapsed), limits come from :class:`~indexer.settings.Settings`,
and every problem raises a :class:`~indexer.errors.QueryError` naming the bad field (the
API reports it as a 422 with that field, the CLI as one line).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from indexer.cleaning import normalize_unicode
from indexer.db import MetadataFilter
from indexer.errors import QueryError
from indexer.metadata.normalise import MetadataRules
from indexer.settings import Settings

from .operators import QueryOperators, parse_operators

# The one definition of the search modes (the API, the CLI and the page use these).
SEARCH_MODES = ("hybrid", "dense", "lexical")
# The one definition of the result orders.
SORT_ORDERS = ("relevance", "newest", "oldest")


@dataclass
class SearchRequest:
    """One search; validated by :func:`validate` (or :meth:`Searcher.validate`)."""

    query: str
    k: int = 10
    offset: int = 0
    mode: str = "hybrid"
    source: str | None = None
    category: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    group: bool = True
    #: Cut-off on calibrated relevance, 0-1; None: ``Settings.min_relevance``.
    min_relevance: float | None = None
    sort: str = "relevance"
    #: Count the whole result set by outlet, category and year.
    facets: bool = False
    #: The query's operators (phrases, exclusions) and the text that is ranked; set by
    #: :func:`validate`.
    operators: QueryOperators | None = None
    #: Let undated articles through a date filter (internal: the searcher's second pass
    #: that counts ``undated_excluded`` sets it; never a request parameter).
    keep_undated: bool = False

    @property
    def ranking_query(self) -> str:
        """The text the retrieval ranks: the query without operator syntax."""
        return self.operators.text if self.operators is not None else self.query

    def filters(self) -> MetadataFilter:
        """The request's metadata restriction (source, category, date range)."""
        return MetadataFilter(source=self.source, category=self.category,
                              date_from=self.date_from, date_to=self.date_to,
                              keep_undated=self.keep_undated)


def normalize_query(text: str) -> str:
    """``text`` in NFC with runs of whitespace collapsed to one space, trimmed."""
    return " ".join(normalize_unicode(text).split())


def parse_date(value: str | None, name: str) -> str | None:
    """An ISO date (``YYYY-MM-DD``) or None for empty; raises QueryError naming ``name``."""
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise QueryError(f"{name}: not an ISO date (YYYY-MM-DD): {value!r}", field=name) from None


def validate(req: SearchRequest, settings: Settings) -> SearchRequest:
    """Normalise and check a request; raises QueryError naming the bad field."""
    if not isinstance(req.query, str):
        raise QueryError("q: must be a string", field="q")
    if len(req.query) > settings.max_query_chars:
        raise QueryError(f"q: longer than {settings.max_query_chars} characters", field="q")
    query = normalize_query(req.query)
    if not query:
        raise QueryError("q: empty query", field="q")
    if not 1 <= req.k <= settings.max_k:
        raise QueryError(f"k: must be between 1 and {settings.max_k}", field="k")
    if not 0 <= req.offset <= settings.max_offset:
        raise QueryError(f"offset: must be between 0 and {settings.max_offset}", field="offset")
    if req.mode not in SEARCH_MODES:
        raise QueryError(f"mode: must be one of {', '.join(SEARCH_MODES)}", field="mode")
    if req.sort not in SORT_ORDERS:
        raise QueryError(f"sort: must be one of {', '.join(SORT_ORDERS)}", field="sort")
    min_relevance = settings.min_relevance if req.min_relevance is None else req.min_relevance
    if not 0.0 <= min_relevance <= 1.0:
        raise QueryError("min_relevance: must be between 0 and 1", field="min_relevance")
    date_from = parse_date(req.date_from, "date_from")
    date_to = parse_date(req.date_to, "date_to")
    # An outlet alias or domain ("vnexpress.net") names the outlet it stands for; the
    # filter then compares case- and tone-insensitive keys (MetadataFilter).
    source = MetadataRules.from_settings(settings).canonical_source(req.source or None)
    return SearchRequest(query=query, k=req.k, offset=req.offset, mode=req.mode,
                         source=source, category=req.category or None,
                         date_from=date_from, date_to=date_to, group=req.group,
                         min_relevance=min_relevance, sort=req.sort, facets=bool(req.facets),
                         operators=parse_operators(query))
