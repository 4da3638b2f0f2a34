"""Pydantic request/response models of the HTTP API (also used by ``vnsearch query --json``).

:func:`search_request` is the one conversion from the API's search parameters to a
:class:`~search_api.retrieval.SearchRequest` (GET and POST ``/search``, ``/retrieve`` and the
CLI's ``query`` all go through it).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .retrieval import SEARCH_MODES, ArticleView, Hit, SearchRequest, SearchResult
from .retrieval.request import GROUP_VALUES, GROUPINGS, SORT_ORDERS
from .retrieval.results import RelatedResult

# The body's mode type, built from the one list of modes (Literal of a tuple = of its items).
# pydantic reads these at run time; mypy accepts only literal values (valid-type).
SearchMode = Literal[SEARCH_MODES]  # type: ignore[valid-type]
SortOrder = Literal[SORT_ORDERS]  # type: ignore[valid-type]
Grouping = Literal[GROUPINGS]  # type: ignore[valid-type]
GroupValue = Literal[GROUP_VALUES]  # type: ignore[valid-type]
_GROUP_DOC = ("story (default): one hit per story, its other outlets in `also_in`; article: "
              "one hit per article; none: raw passages. true = article, false = none.")
_PROVINCE_DOC = ("Only articles about this province: a current (post-2025) or former name, "
                 "any case, with or without tones; a former name is mapped (`province_note`).")


def search_request(q: str = "", k: int = 10, offset: int = 0, mode: str = "hybrid",
                   source: str | None = None, category: str | None = None,
                   date_from: str | None = None, date_to: str | None = None,
                   group: bool | str = "story", min_relevance: float | None = None,
                   sort: str = "relevance", facets: bool = False,
                   province: str | None = None) -> SearchRequest:
    """A SearchRequest from the API's parameter names (``q`` is the query text).

    Not validated here: :meth:`Searcher.search` validates, so every caller reports the same
    messages.
    """
    return SearchRequest(query=q, k=k, offset=offset, mode=mode, source=source,
                         category=category, date_from=date_from, date_to=date_to, group=group,
                         min_relevance=min_relevance, sort=sort, facets=facets,
                         province=province)


class AlsoInModel(BaseModel):
    source: str | None
    url: str | None
    published: str | None
    article_id: str


class HitModel(BaseModel):
    """One search result: a passage and its article."""

    rank: int
    score: float
    passage_id: int
    text: str
    highlighted: str = Field(description="The passage, HTML-escaped, query words in <mark>.")
    start: int = Field(description="Character offset of the passage in the article text.")
    end: int
    article_id: str
    title: str | None
    url: str | None
    source: str | None
    published: str | None
    category: str | None
    categories: list[str] = Field(default_factory=list, description="The article's categories "
                                  "(`category` is them joined by \"; \").")
    other_matches: int = Field(description="Other passages of this article among the matches.")
    relevance: float = Field(description="Calibrated probability (0-1) that this passage answers "
                                         "the query; comparable across queries. `score` is the "
                                         "per-query ranking score.")
    other_passage_ids: list[int] = Field(default_factory=list,
                                         description="Ids of the article's other matching "
                                                     "passages (`other_matches` of them), best "
                                                     "first; `/articles/{id}` gives their offsets.")
    provinces: list[str] = Field(default_factory=list, description="Provinces the article is "
                                 "about (current names, after the 2025 merger).")
    provinces_former: list[str] = Field(default_factory=list, description="Former province "
                                        "names the article uses (before 1 July 2025).")
    story_id: str | None = Field(default=None, description="The article's story: the id of "
                                 "its first indexed article (near-duplicates share it).")
    also_in: list[AlsoInModel] = Field(default_factory=list, description="The story's other "
                                       "articles (other outlets), newest first.")

    @classmethod
    def from_hit(cls, hit: Hit) -> HitModel:
        fields = {name: getattr(hit, name) for name in cls.model_fields if name != "also_in"}
        return cls(**fields, also_in=[AlsoInModel(**vars(a)) for a in hit.also_in])


class FacetCount(BaseModel):
    value: str
    count: int


class SearchFacets(BaseModel):
    source: list[FacetCount]
    category: list[FacetCount]
    year: list[FacetCount]


class SearchResponse(BaseModel):
    """``GET/POST /search`` answer."""

    query: str
    mode: str
    took_ms: float
    total: int
    results: list[HitModel]
    undated_excluded: int = Field(default=0, description="Matching articles left out by a date "
                                                         "filter because they have no date.")
    facets: SearchFacets | None = Field(default=None, description="Counts of the whole result "
                                        "set by outlet, category and year (with facets=true).")
    partial: bool = False
    missing_shards: list[int] = Field(default_factory=list)
    province_note: str | None = Field(default=None, description="Set when `province` named a "
                                      "former province: which articles are shown.")

    @classmethod
    def from_result(cls, result: SearchResult) -> SearchResponse:
        return cls(query=result.query, mode=result.mode, took_ms=result.took_ms, total=result.total,
                   results=[HitModel.from_hit(h) for h in result.results],
                   undated_excluded=result.undated_excluded,
                   # pydantic validates the facets' dicts into FacetCount
                   facets=(None if result.facets is None
                           else SearchFacets(**result.facets)),  # type: ignore[arg-type]
                   partial=result.partial, missing_shards=result.missing_shards,
                   province_note=result.province_note)


class _SearchFields(BaseModel):
    """What the GET parameters and the POST body share: the conversion to a request."""

    def to_request(self) -> SearchRequest:
        """This search as a :class:`SearchRequest` (through :func:`search_request`)."""
        return search_request(**self.model_dump())


class SearchParams(_SearchFields):
    """``GET /search`` query parameters (the mode is checked by the searcher, not here)."""

    q: str = Field(default="", description="Query text, 1–1000 characters.")
    k: int = Field(default=10, description="Results per page, 1–100.")
    offset: int = Field(default=0, description="Results to skip (pagination).")
    mode: str = Field(default="hybrid", description=" | ".join(SEARCH_MODES))
    source: str | None = None
    category: str | None = None
    date_from: str | None = Field(default=None, description="ISO date, inclusive.")
    date_to: str | None = Field(default=None, description="ISO date, inclusive.")
    group: GroupValue = Field(default="story", description=_GROUP_DOC)
    province: str | None = Field(default=None, description=_PROVINCE_DOC)
    min_relevance: float | None = Field(default=None, description="Only hits with at least this "
                                        "calibrated relevance, 0–1 (default: the server's).")
    sort: str = Field(default="relevance", description=" | ".join(SORT_ORDERS))
    facets: bool = Field(default=False, description="Count the result set by outlet, category "
                                                    "and year.")


class JsonBody(BaseModel):
    """A JSON request body as its OpenAPI schema says: unknown fields and coercions refused.

    Strict: ``"5"`` is not 5 and ``1`` is not true (the schema says integer, boolean), but
    ``5.0`` is 5: JSON Schema's integer includes whole numbers written as floats.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _whole_numbers(cls, data: Any) -> Any:
        if isinstance(data, dict):  # a float field still accepts the int (strict allows it)
            return {key: int(value) if isinstance(value, float) and value.is_integer() else value
                    for key, value in data.items()}
        return data


class SearchBody(JsonBody, _SearchFields):
    """``POST /search`` body: the same fields as the GET parameters."""

    q: str = Field(description="The query (1–1000 characters).")
    k: int = 10
    offset: int = 0
    mode: SearchMode = "hybrid"
    source: str | None = None
    category: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    group: Grouping | bool = Field(default="story", description=_GROUP_DOC)
    province: str | None = Field(default=None, description=_PROVINCE_DOC)
    min_relevance: float | None = None
    sort: SortOrder = "relevance"
    facets: bool = False


class RetrieveBody(JsonBody):
    """``POST /retrieve`` body (chatbots / RAG): give ``q`` or its alias ``query``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        # exactly one of them, not null (a null one counts as absent)
        "oneOf": [{"required": ["q"], "properties": {"q": {"type": "string"}}},
                  {"required": ["query"], "properties": {"query": {"type": "string"}}}]})

    q: str | None = Field(default=None, min_length=1, max_length=1000,
                          description="The query (1–1000 characters).")
    query: str | None = Field(default=None, min_length=1, max_length=1000,
                              description="Alias of `q` (its older name); not both.")
    k: int = Field(default=5, ge=1, le=100, description="Hits (passages) to return, before "
                   "neighbours are added.")
    mode: SearchMode = "hybrid"
    source: str | None = None
    category: str | None = None
    date_from: str | None = Field(default=None, description="ISO date, inclusive.")
    date_to: str | None = Field(default=None, description="ISO date, inclusive.")
    min_relevance: float | None = Field(default=None, ge=0.0, le=1.0, description="Only "
                                        "passages with at least this calibrated relevance, "
                                        "0–1 (default: the server's).")
    province: str | None = Field(default=None, description=_PROVINCE_DOC)
    group: Grouping | bool = Field(default=False, description="true/article: one passage per "
                                   "article (its best); story: one per story; default "
                                   "(false/none): passage level, several passages of one "
                                   "article may answer.")
    neighbours: int = Field(default=0, ge=0, le=2, description="Passages added before and "
                            "after each hit from the same article (marked `neighbour`).")
    per_article: int = Field(default=3, ge=1, le=20, description="At most this many hits from "
                             "one article.")
    max_chars: int = Field(default=4000, ge=1, le=100_000, description="Character budget of "
                           "all passage texts together.")
    max_tokens: int | None = Field(default=None, ge=1, le=100_000, description="Token budget "
                                   "of all passage texts together, counted with the index "
                                   "model's tokenizer (default: none). With `max_chars`, the "
                                   "tighter one wins.")


# Models without a docstring stay so: a docstring becomes the schema's OpenAPI description.
class RetrievedPassage(BaseModel):
    citation: int = Field(description="The [n] of its article (one number per article).")
    text: str
    passage_id: int
    ordinal: int | None = Field(default=None, description="Place of the passage in its "
                                "article (known when neighbours were asked for).")
    article_id: str
    title: str | None
    url: str | None
    source: str | None
    published: str | None
    category: str | None = None
    categories: list[str] = Field(default_factory=list)
    provinces: list[str] = Field(default_factory=list)
    provinces_former: list[str] = Field(default_factory=list)
    relevance: float = Field(description="Calibrated relevance of the hit (for a neighbour: "
                             "of the hit it surrounds).")
    score: float
    tokens: int = Field(description="Tokens of `text` (index model's tokenizer, no specials).")
    neighbour: bool = Field(default=False, description="Added as context around a hit, not "
                            "itself a hit.")
    truncated: bool = Field(default=False, description="Cut to fit the budget (only ever the "
                            "first passage).")
    hit_rank: int | None = Field(default=None, description="Rank of the hit in the search "
                                 "(null for a neighbour).")


class RetrieveResponse(BaseModel):
    query: str
    took_ms: float
    passages: list[RetrievedPassage] = Field(description="Articles in the order of their best "
                                             "hit, each article's passages in reading order.")
    citations: list[str] = Field(description='"[n] title — url" lines, one per article.')
    context: str = Field(description="Passages with their [n] markers, ready for a prompt; "
                         "touching passages are joined by a newline, gaps marked with …")
    tokens: int = Field(default=0, description="Sum of the passages' `tokens`.")
    chars: int = Field(default=0, description="Sum of the passages' text lengths.")
    partial: bool = False
    missing_shards: list[int] = Field(default_factory=list)
    province_note: str | None = None


class PassageRef(BaseModel):
    id: int
    ordinal: int
    start: int
    end: int


class ArticleResponse(BaseModel):
    id: str
    title: str | None
    text: str
    url: str | None
    urls: list[str]
    source: str | None
    published: str | None
    category: str | None
    categories: list[str] = Field(default_factory=list)
    published_raw: str | None = Field(default=None, description="The input's date when it "
                                      "could not be parsed (`published` is then null).")
    provinces: list[str] = Field(default_factory=list)
    provinces_former: list[str] = Field(default_factory=list)
    story_id: str | None = None
    passages: list[PassageRef]

    @classmethod
    def from_view(cls, view: ArticleView) -> ArticleResponse:
        return cls(id=view.id, title=view.title, text=view.text, url=view.url, urls=view.urls,
                   source=view.source, published=view.published, category=view.category,
                   categories=view.categories, published_raw=view.published_raw,
                   provinces=view.provinces, provinces_former=view.provinces_former,
                   story_id=view.story_id, passages=[PassageRef(**p) for p in view.passages])


class RelatedModel(BaseModel):
    article_id: str
    title: str | None
    source: str | None
    url: str | None
    published: str | None
    provinces: list[str]
    score: float = Field(description="Calibrated relevance (0-1) of the story to the article.")
    story_id: str


class RelatedResponse(BaseModel):
    """``GET /articles/{id}/related``: other stories on the same event or topic."""

    article_id: str
    related: list[RelatedModel] = Field(description="Newest first, undated last.")

    @classmethod
    def from_result(cls, result: RelatedResult) -> RelatedResponse:
        return cls(article_id=result.article_id,
                   related=[RelatedModel(**vars(r)) for r in result.related])


class ShardHealth(BaseModel):
    number: int
    path: str
    articles: int
    passages: int
    generation: int
    ok: bool = True


class HealthResponse(BaseModel):
    status: str
    model: str
    model_id: str
    dimension: int
    articles: int
    passages: int
    index_format: int
    vector_index: str
    lexical_index: str = Field(description="'mmap' (the writer's BM25 matrix files, mapped), "
                                           "'memory' (BM25 matrix built here) or 'fts5'")
    generation: int
    uptime_s: float
    pid: int | None = None
    shards: list[ShardHealth] | None = None


class ProvinceCount(BaseModel):
    name: str
    count: int


class FacetsResponse(BaseModel):
    sources: list[str]
    categories: list[str]
    provinces: list[ProvinceCount] = Field(default_factory=list, description="Current "
                                           "provinces with their article counts, most "
                                           "frequent first.")


class ErrorBody(BaseModel):
    status: int
    error: str = Field(description="Machine-readable error kind, e.g. 'invalid_request'.")
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    """The one error shape of every 4xx/5xx answer."""

    error: ErrorBody


class ArticleIn(JsonBody):
    """An article sent by a CMS (``POST /articles``); ``text`` is the raw body."""

    id: str | None = Field(default=None, description="Your id for it (kept as an alias).")
    title: str | None = None
    text: str = Field(min_length=1)
    url: str | None = None
    source: str | None = None
    published: str | None = None
    category: str | None = None


class ArticlesIn(JsonBody):
    """A batch of articles."""

    articles: list[ArticleIn]


class WriteResponse(BaseModel):
    """Acknowledgement of a committed write (durable once this is returned)."""

    added: int
    updated: int
    unchanged: int
    duplicates: int
    skipped: int
    deleted: int
    passages_added: int
    passages_removed: int
    article_ids: list[str]
    generation: int
