"""The search request's fields, declared once: name, types, default, limits, description,
example and command-line flag.

Every surface is generated from :data:`SEARCH_FIELDS` (and :data:`RETRIEVE_FIELDS`, its
extension for ``POST /retrieve``): the ``GET /search`` parameters and the ``POST /search``
body (:mod:`search_api.schemas`), the ``/retrieve`` body, the MCP tool's input
(:mod:`search_api.mcp_server`), the ``vnsearch query`` options (:mod:`search_api.cli`) and
the OpenAPI descriptions and limits (:mod:`search_api.openapi_docs`). Adding a filter is one
entry here, plus its use in :class:`~search_api.retrieval.SearchRequest`.

Two kinds of limits: ``limits`` are checked by the searcher (so the API, the CLI and the page
report the same messages) and only documented in the OpenAPI schema, with the server's own
settings; ``enforce`` are checked by the pydantic model itself (``/retrieve``'s budgets).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .retrieval.request import GROUP_VALUES, GROUPINGS, SEARCH_MODES, SORT_ORDERS, SearchRequest

MAX_CHARS_LIMIT = 100_000  # the largest character budget a client may ask for
MAX_TOKENS_LIMIT = 100_000
QUERY_EXAMPLE = "thi hành án dân sự Gia Lai đạt bao nhiêu phần trăm"
REQUIRED: Any = ...  # the default of a field that must be given

# Literal of a tuple = Literal of its items (mypy cannot follow it: hence the ignores).
SearchMode = Literal[SEARCH_MODES]  # type: ignore[valid-type]
SortOrder = Literal[SORT_ORDERS]  # type: ignore[valid-type]
Grouping = Literal[GROUPINGS]  # type: ignore[valid-type]
GroupValue = Literal[GROUP_VALUES]  # type: ignore[valid-type]


@dataclass(frozen=True)
class CliOption:
    """How a field appears as a ``vnsearch query`` option (the option's dest is the field's
    name); ``choices`` make it a :class:`click.Choice`."""

    flags: tuple[str, ...]
    type: type | None = None
    help: str | None = None
    show_default: bool = False
    is_flag: bool = False
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class FieldSpec:
    """One request field.

    ``type`` is its JSON type (request bodies, MCP); ``query_type``/``query_default`` are the
    ``GET`` parameter's when they differ (a query string is checked by the searcher, so its
    messages are the searcher's). ``limits``: JSON Schema keywords documented in OpenAPI, a
    ``str`` value naming a :class:`~indexer.settings.Settings` attribute. ``enforce``:
    pydantic constraints of the model. ``kind``: a schema shape filled in by the OpenAPI
    document ("query", "date", "province").
    """

    name: str
    type: Any
    default: Any
    description: str
    example: Any
    query_type: Any = None
    query_default: Any = REQUIRED
    limits: Mapping[str, Any] = field(default_factory=dict)
    enforce: Mapping[str, Any] = field(default_factory=dict)
    kind: str | None = None
    cli: CliOption | None = None

    @property
    def get_type(self) -> Any:
        """The ``GET`` parameter's type."""
        return self.type if self.query_type is None else self.query_type

    @property
    def get_default(self) -> Any:
        """The ``GET`` parameter's default."""
        return self.default if self.query_default is REQUIRED else self.query_default


_QUERY_LIMITS = {"minLength": 1, "maxLength": "max_query_chars"}
_Q = FieldSpec(
    "q", str, REQUIRED, "The query: 1–{max_query_chars} characters, not only spaces or "
    'invisible characters. Operators: "a phrase", -word (exclude).', QUERY_EXAMPLE,
    query_default="", limits=_QUERY_LIMITS, kind="query")

#: The fields of ``GET /search`` and ``POST /search`` and the options of ``vnsearch query``
#: (``q`` is its TEXT argument), in this order.
SEARCH_FIELDS: tuple[FieldSpec, ...] = (
    _Q,
    FieldSpec("k", int, 10, "Results per page, 1–{max_k}.", 10,
              limits={"minimum": 1, "maximum": "max_k"},
              cli=CliOption(("-k",), int, "Number of results.", show_default=True)),
    FieldSpec("offset", int, 0, "Results to skip (pagination), 0–{max_offset}.", 0,
              limits={"minimum": 0, "maximum": "max_offset"},
              cli=CliOption(("--offset",), int, "Skip this many results.")),
    FieldSpec("mode", SearchMode, "hybrid", "hybrid (dense + BM25, fused), dense (the model "
              "only) or lexical (BM25 only).", "hybrid", query_type=str,
              limits={"enum": list(SEARCH_MODES)},
              cli=CliOption(("--mode",), show_default=True, choices=SEARCH_MODES)),
    FieldSpec("source", str | None, None, "Only this outlet: a name, an alias or a domain (see "
              "/facets), case- and tone-insensitive (`vnexpress`, `dantri.com.vn`); empty or "
              "null: all.", "Dân trí", cli=CliOption(("--source",), help="Only this outlet.")),
    FieldSpec("category", str | None, None, "Only articles with this category among theirs "
              "(see /facets), case- and tone-insensitive (`Văn hoá` = `van hoa`); empty or "
              "null: all.", "Kinh doanh",
              cli=CliOption(("--category",), help="Only this category.")),
    FieldSpec("date_from", str | None, None, "Only articles published on or after this ISO "
              "date (YYYY-MM-DD); undated articles are left out (counted in "
              "`undated_excluded`).", "2020-01-01", kind="date",
              cli=CliOption(("--date-from",), help="ISO date, inclusive.")),
    FieldSpec("date_to", str | None, None, "Only articles published on or before this ISO "
              "date (YYYY-MM-DD).", "2025-12-31", kind="date",
              cli=CliOption(("--date-to",), help="ISO date, inclusive.")),
    FieldSpec("group", Grouping | bool, "story", "story (default): one hit per story — "
              "near-duplicate articles of several outlets — its other articles in `also_in`; "
              "article (or true): one hit per article, its best passage; none (or false): "
              "every matching passage.", "story", query_type=GroupValue,
              cli=CliOption(("--group",), help="One hit per story (other outlets as 'also "
                            "in'), per article, or raw passages (none).", show_default=True,
                            choices=GROUPINGS)),
    FieldSpec("province", str | None, None, "Only articles about this province: a current "
              "(post-1-July-2025) or former province name, any case, with or without tones "
              "(`binh dinh`, `TP.HCM`); a former name matches the articles that name it and "
              "says so in `province_note`. An unknown name is a 422. Empty or null: all.",
              "Gia Lai", kind="province",
              cli=CliOption(("--province",), help="Only articles about this province "
                            "(current or former name, tones optional; a former name is "
                            "mapped).")),
    FieldSpec("min_relevance", float | None, None, "Only hits with at least this calibrated "
              "relevance, 0–1 (default: the server's cut-off).", 0.002,
              limits={"minimum": 0, "maximum": 1},
              cli=CliOption(("--min-relevance",), float, "Only hits with at least this "
                            "calibrated relevance, 0-1 [default: VNSEARCH_MIN_RELEVANCE].")),
    FieldSpec("sort", SortOrder, "relevance", "relevance, newest or oldest first (undated "
              "articles last).", "relevance", query_type=str, limits={"enum": list(SORT_ORDERS)},
              cli=CliOption(("--sort",), show_default=True, choices=SORT_ORDERS)),
    FieldSpec("facets", bool, False, "Count the whole result set by outlet, category and "
              "year.", False, cli=CliOption(("--facets",), is_flag=True,
                                            help="Count the results by outlet, category and "
                                                 "year.")),
)
SEARCH = {spec.name: spec for spec in SEARCH_FIELDS}

#: Search fields ``/retrieve`` leaves out: it packs the best passages into one budget, so
#: paging, ordering and counting have no meaning there.
RETRIEVE_OMITS = ("offset", "sort", "facets")
#: ``/retrieve``'s own fields: the query's older name, the neighbours and the budgets.
RETRIEVE_EXTRAS: tuple[FieldSpec, ...] = (
    FieldSpec("query", str | None, None, "Alias of `q`, its older name; give one of the two.",
              QUERY_EXAMPLE, limits=_QUERY_LIMITS, enforce={"min_length": 1, "max_length": 1000},
              kind="query"),
    FieldSpec("neighbours", int, 0, "Passages added before and after each hit from its "
              "article (marked `neighbour`), 0–2.", 1, enforce={"ge": 0, "le": 2}),
    FieldSpec("per_article", int, 3, "At most this many hits from one article.", 3,
              enforce={"ge": 1, "le": 20}),
    FieldSpec("max_chars", int, 4000, "Character budget of all passage texts together; with "
              "`max_tokens` the tighter one wins.", 4000,
              enforce={"ge": 1, "le": MAX_CHARS_LIMIT}),
    FieldSpec("max_tokens", int | None, None, "Token budget of all passage texts together, "
              "counted with the index model's tokenizer; null: none. With `max_chars`, the "
              "tighter one wins.", 1000, enforce={"ge": 1, "le": MAX_TOKENS_LIMIT}),
)
# Where /retrieve's meaning of a search field differs: passages, not pages of hits.
_RETRIEVE_CHANGES: dict[str, dict[str, Any]] = {
    "q": {"type": str | None, "default": None, "enforce": {"min_length": 1, "max_length": 1000}},
    "k": {"default": 5, "enforce": {"ge": 1, "le": 100},
          "description": "Hits (passages) to return, 1–100, before neighbours are added.",
          "example": 5},
    "min_relevance": {"enforce": {"ge": 0.0, "le": 1.0},
                      "description": "Only passages with at least this calibrated relevance, "
                                     "0–1 (default: the server's cut-off)."},
    "group": {"default": False, "description": "true/article: one passage per article (its "
              "best); story: one per story; default (false/none): passage level, several "
              "passages of one article may answer."},
}
#: The ``POST /retrieve`` body: the search fields (less :data:`RETRIEVE_OMITS`, ``query``
#: right after ``q``) then the budgets.
RETRIEVE_FIELDS: tuple[FieldSpec, ...] = (
    replace(_Q, **_RETRIEVE_CHANGES["q"]), RETRIEVE_EXTRAS[0],
    *(replace(spec, **_RETRIEVE_CHANGES.get(spec.name, {})) for spec in SEARCH_FIELDS[1:]
      if spec.name not in RETRIEVE_OMITS),
    *RETRIEVE_EXTRAS[1:],
)
RETRIEVE = {spec.name: spec for spec in RETRIEVE_FIELDS}
#: The MCP ``search`` tool takes the ``/retrieve`` fields but the alias (``q`` is required).
MCP_OMITS = ("query",)
MCP_FIELDS: tuple[FieldSpec, ...] = tuple(s for s in RETRIEVE_FIELDS if s.name not in MCP_OMITS)
#: ``vnsearch query`` options that are not request fields.
CLI_EXTRAS = ("no_group", "as_json")


def settle(text: str, settings: Any) -> str:
    """``text`` with ``{max_k}``-style placeholders replaced by ``settings``' values (not
    :meth:`str.format`: descriptions may contain other braces)."""
    for name in ("max_query_chars", "max_k", "max_offset", "max_batch_articles",
                 "max_article_chars"):
        text = text.replace(f"{{{name}}}", str(getattr(settings, name)))
    return text


def schema_limits(spec: FieldSpec, settings: Any) -> dict[str, Any]:
    """``spec.limits`` as JSON Schema keywords, settings names replaced by their values."""
    return {key: getattr(settings, value) if isinstance(value, str) else value
            for key, value in spec.limits.items()}


def search_request(**values: Any) -> SearchRequest:
    """A SearchRequest from the API's field names (``q`` is the query text); a field not
    given takes its default from :data:`~search_api.search_fields.SEARCH_FIELDS`.

    Not validated here: :meth:`Searcher.search` validates, so every caller reports the same
    messages.
    """
    unknown = set(values) - set(SEARCH)
    if unknown:
        raise TypeError(f"search_request: unknown fields {sorted(unknown)}")
    fields = {name: spec.get_default for name, spec in SEARCH.items()}
    fields.update(values)
    return SearchRequest(query=fields.pop("q"), **fields)
