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

from .messages import province_note
from .operators import QueryOperators, parse_operators

# The one definition of the search modes (the API, the CLI and the page use these).
SEARCH_MODES = ("hybrid", "dense", "lexical")
# The one definition of the result orders.
SORT_ORDERS = ("relevance", "newest", "oldest")
# The one definition of the groupings: one hit per story (the default), per article, or
# raw passages. The booleans older clients send keep working: true = article, false = none.
GROUPINGS = ("story", "article", "none")
_GROUP_WORDS = {"true": "article", "True": "article", "1": "article",
                "false": "none", "False": "none", "0": "none"}
#: Every value ``group=`` takes as a query parameter (the old booleans as clients spell them).
GROUP_VALUES = GROUPINGS + tuple(_GROUP_WORDS)


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
    #: "story" | "article" | "none" (a bool or "true"/"false" is read by :func:`validate`).
    #: The API's default is "story" (:data:`search_api.search_fields.SEARCH_FIELDS`); a request
    #: built here directly (evaluation, calibration) stays at article level, as it measures.
    group: str | bool = "article"
    #: Province filter: a current or former name, any case, with or without tones.
    province: str | None = None
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
    #: The province filter as resolved by :func:`validate`: its key and which province
    #: rows it is compared with ("current", or "former" for a name that no longer exists).
    province_key: str | None = None
    province_kind: str = "current"
    #: Said in the response when a former name was mapped (see :func:`resolve_province_filter`).
    province_note: str | None = None
    #: The name the client gave the query under (``/retrieve`` also takes ``query``): the
    #: messages about the query name it.
    query_field: str = "q"

    @property
    def grouped(self) -> bool:
        """True when one article (or story) is one result."""
        return self.group != "none"

    @property
    def filtered(self) -> bool:
        """True when a source, category, province or date filter is set."""
        return any((self.source, self.category, self.province, self.date_from, self.date_to))

    @property
    def ranking_query(self) -> str:
        """The text the retrieval ranks: the query without operator syntax."""
        return self.operators.text if self.operators is not None else self.query

    def filters(self) -> MetadataFilter:
        """The request's metadata restriction (source, category, date range)."""
        return MetadataFilter(source=self.source, category=self.category,
                              date_from=self.date_from, date_to=self.date_to,
                              keep_undated=self.keep_undated, province_key=self.province_key,
                              province_kind=self.province_kind)


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
    q = req.query_field
    if not isinstance(req.query, str):
        raise QueryError(f"{q}: must be a string", field=q)
    if len(req.query) > settings.max_query_chars:
        raise QueryError(f"{q}: longer than {settings.max_query_chars} characters", field=q)
    query = normalize_query(req.query)
    if not query:
        raise QueryError(f"{q}: empty query", field=q)
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
    province = resolve_province_filter(req.province)
    return SearchRequest(query=query, k=req.k, offset=req.offset, mode=req.mode,
                         source=source, category=req.category or None,
                         date_from=date_from, date_to=date_to, group=parse_group(req.group),
                         min_relevance=min_relevance, sort=req.sort, facets=bool(req.facets),
                         operators=parse_operators(query), province=province.name,
                         province_key=province.key, province_kind=province.kind,
                         province_note=province.note)


def parse_group(value: str | bool | None) -> str:
    """``story`` | ``article`` | ``none`` from a grouping or the old booleans (true =
    article, false = none); raises QueryError naming ``group``."""
    if value is None:
        return "story"
    if isinstance(value, bool):
        return "article" if value else "none"
    word = str(value).strip()
    if word in GROUPINGS:
        return word
    if word in _GROUP_WORDS:
        return _GROUP_WORDS[word]
    raise QueryError(f"group: must be one of {', '.join(GROUPINGS)} (or true/false): "
                     f"{value!r}", field="group")


@dataclass(frozen=True)
class ProvinceFilter:
    """A resolved ``province=``: the name shown, its key, the kind of rows it matches and
    the note said when a former name was mapped (all None/"current" when absent)."""

    name: str | None = None
    key: str | None = None
    kind: str = "current"
    note: str | None = None


def resolve_province_filter(value: str | None) -> ProvinceFilter:
    """``province=`` through :func:`indexer.places.resolve_province`.

    A current name (including one that is also a former name, e.g. "Gia Lai") matches the
    articles whose current provinces include it. A former name that no longer exists
    ("Bình Định") matches the articles whose former provinces include it — they are tagged
    with the new province too — and the response says so. Unknown: QueryError (422).
    """
    if value is None or not str(value).strip():
        return ProvinceFilter()
    from indexer.places import province_key, resolve_province

    match = resolve_province(str(value))
    if match is None:
        raise QueryError(f"province: unknown province {value!r} (a current or former "
                         "province name, with or without tones)", field="province")
    if not match.is_former:
        return ProvinceFilter(match.current, province_key(match.current))
    return ProvinceFilter(match.name, province_key(match.name), "former",
                          province_note(match.name, match.current))
