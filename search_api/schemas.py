"""Pydantic request/response models of the HTTP API (also used by ``vnsearch query --json``).

:func:`search_request` is the one conversion from the API's search parameters to a
:class:`~search_api.retrieval.SearchRequest` (GET and POST ``/search``, ``/retrieve`` and the
CLI's ``query`` all go through it).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from .retrieval import SEARCH_MODES, ArticleView, Hit, SearchRequest, SearchResult
from .retrieval.request import SORT_ORDERS

# The body's mode type, built from the one list of modes (Literal of a tuple = of its items).
SearchMode = Literal[SEARCH_MODES]
SortOrder = Literal[SORT_ORDERS]


def search_request(q: str = "", k: int = 10, offset: int = 0, mode: str = "hybrid",
                   source: str | None = None, category: str | None = None,
                   date_from: str | None = None, date_to: str | None = None,
                   group: bool = True, min_relevance: float | None = None,
                   sort: str = "relevance", facets: bool = False) -> SearchRequest:
    """A SearchRequest from the API's parameter names (``q`` is the query text).

    Not validated here: :meth:`Searcher.search` validates, so every caller reports the same
    messages.
    """
    return SearchRequest(query=q, k=k, offset=offset, mode=mode, source=source,
                         category=category, date_from=date_from, date_to=date_to, group=group,
                         min_relevance=min_relevance, sort=sort, facets=facets)


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
    other_matches: int = Field(description="Other passages of this article among the matches.")
    relevance: float = Field(description="Calibrated probability (0-1) that this passage answers "
                                         "the query; comparable across queries. `score` is the "
                                         "per-query ranking score.")
    other_passage_ids: list[int] = Field(default_factory=list,
                                         description="Ids of the article's other matching "
                                                     "passages (`other_matches` of them), best "
                                                     "first; `/articles/{id}` gives their offsets.")

    @classmethod
    def from_hit(cls, hit: Hit) -> "HitModel":
        return cls(**{name: getattr(hit, name) for name in cls.model_fields})


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

    @classmethod
    def from_result(cls, result: SearchResult) -> "SearchResponse":
        return cls(query=result.query, mode=result.mode, took_ms=result.took_ms, total=result.total,
                   results=[HitModel.from_hit(h) for h in result.results],
                   undated_excluded=result.undated_excluded,
                   facets=None if result.facets is None else SearchFacets(**result.facets))


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
    group: bool = True
    min_relevance: float | None = Field(default=None, description="Only hits with at least this "
                                        "calibrated relevance, 0–1 (default: the server's).")
    sort: str = Field(default="relevance", description=" | ".join(SORT_ORDERS))
    facets: bool = Field(default=False, description="Count the result set by outlet, category "
                                                    "and year.")


class SearchBody(_SearchFields):
    """``POST /search`` body: the same fields as the GET parameters."""

    q: str = Field(description="The query (1–1000 characters).")
    k: int = 10
    offset: int = 0
    mode: SearchMode = "hybrid"
    source: str | None = None
    category: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    group: bool = True
    min_relevance: float | None = None
    sort: SortOrder = "relevance"
    facets: bool = False


class RetrieveBody(BaseModel):
    """``POST /retrieve`` body (chatbots / RAG)."""

    query: str
    k: int = 5
    max_chars: int = Field(default=4000, description="Character budget of all passages together.")
    mode: SearchMode = "hybrid"
    min_relevance: float | None = Field(default=None, description="Only passages with at least "
                                        "this calibrated relevance, 0–1 (default: the server's).")


# Models without a docstring stay so: a docstring becomes the schema's OpenAPI description.
class RetrievedPassage(BaseModel):
    citation: int
    text: str
    article_id: str
    title: str | None
    url: str | None
    source: str | None
    published: str | None
    score: float


class RetrieveResponse(BaseModel):
    query: str
    took_ms: float
    passages: list[RetrievedPassage]
    citations: list[str] = Field(description='"[1] title — url" lines, one per passage.')
    context: str = Field(description="Passages with their [n] markers, ready for a prompt.")


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
    passages: list[PassageRef]

    @classmethod
    def from_view(cls, view: ArticleView) -> "ArticleResponse":
        return cls(id=view.id, title=view.title, text=view.text, url=view.url, urls=view.urls,
                   source=view.source, published=view.published, category=view.category,
                   passages=[PassageRef(**p) for p in view.passages])


class HealthResponse(BaseModel):
    status: str
    model: str
    model_id: str
    dimension: int
    articles: int
    passages: int
    index_format: int
    vector_index: str
    lexical_index: str = Field(description="'memory' (in-memory BM25 matrix) or 'fts5'")
    generation: int
    uptime_s: float


class FacetsResponse(BaseModel):
    sources: list[str]
    categories: list[str]


class ErrorBody(BaseModel):
    status: int
    error: str = Field(description="Machine-readable error kind, e.g. 'invalid_request'.")
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    """The one error shape of every 4xx/5xx answer."""

    error: ErrorBody


class ArticleIn(BaseModel):
    """An article sent by a CMS (``POST /articles``); ``text`` is the raw body."""

    id: str | None = Field(default=None, description="Your id for it (kept as an alias).")
    title: str | None = None
    text: str = Field(min_length=1)
    url: str | None = None
    source: str | None = None
    published: str | None = None
    category: str | None = None


class ArticlesIn(BaseModel):
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
