"""Pydantic request/response models of the HTTP API (also used by ``vnsearch query --json``
and the MCP server).

The request models are generated from the fields' one declaration
(:mod:`search_api.search_fields`), the answers from the search core's result dataclasses
(:mod:`search_api.dataclass_models`); :func:`answer` turns a core object into its answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from indexer.errors import QueryError

from . import rag
from .dataclass_models import response_model
from .retrieval import ArticleView, Hit, SearchRequest, SearchResult
from .retrieval.results import AlsoIn, RelatedArticle, RelatedResult
from .search_fields import (  # noqa: F401 (re-export)
    RETRIEVE_FIELDS,
    SEARCH_FIELDS,
    FieldSpec,
    Grouping,
    GroupValue,
    SearchMode,
    SortOrder,
    search_request,
)

ModelT = TypeVar("ModelT", bound=BaseModel)


# The answers are the search core's result objects (one declaration: their dataclasses),
# serialised; a field the core keeps internal is excluded here. Models generated at run time
# are not types mypy can follow: under type checking they are Any (``if TYPE_CHECKING``).
if TYPE_CHECKING:
    AlsoInModel: TypeAlias = Any
else:
    AlsoInModel = response_model(AlsoIn, "AlsoInModel")
if TYPE_CHECKING:
    HitModel: TypeAlias = Any
else:
    HitModel = response_model(Hit, "HitModel", exclude=("urls",),
                              required=("other_matches", "relevance", "relevance_label"),
                              types={"also_in": list[AlsoInModel]},
                              doc="One search result: a passage and its article.")


class FacetCount(BaseModel):
    value: str
    count: int


class SearchFacets(BaseModel):
    source: list[FacetCount]
    category: list[FacetCount]
    year: list[FacetCount]


if TYPE_CHECKING:
    SearchResponse: TypeAlias = Any
else:
    SearchResponse = response_model(
        SearchResult, "SearchResponse", types={"results": list[HitModel],
                                               "facets": SearchFacets | None},
        doc="``GET/POST /search`` answer.")


class _SearchFields(BaseModel):
    """What the GET parameters and the POST body share: the conversion to a request."""

    def to_request(self) -> SearchRequest:
        """This search as a :class:`SearchRequest` (through :func:`search_request`)."""
        return search_request(**self.model_dump())


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


def model_fields(specs: tuple[FieldSpec, ...], query: bool = False) -> dict[str, Any]:
    """``create_model`` arguments for ``specs``: the body's types and defaults, or with
    ``query`` the ``GET`` parameters'."""
    out: dict[str, Any] = {}
    for spec in specs:
        default = spec.get_default if query else spec.default
        out[spec.name] = (spec.get_type if query else spec.type,
                          Field(default, description=spec.description, **spec.enforce))
    return out


class _RetrieveBase(JsonBody):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        # exactly one of them, not null (a null one counts as absent)
        "oneOf": [{"required": ["q"], "properties": {"q": {"type": "string"}}},
                  {"required": ["query"], "properties": {"query": {"type": "string"}}}]})

    def to_request(self) -> rag.RetrieveRequest:
        """This body as a retrieval; the query under ``q`` or its alias ``query`` (422 on
        both or none), messages about it naming the one given."""
        values = self.model_dump()
        q, query = values.pop("q"), values.pop("query")
        if q is not None and query is not None:
            raise QueryError("query: give q or its alias query, not both", field="query")
        if q is None and query is None:
            raise QueryError("q: field required (or its alias query)", field="q")
        name = "q" if q is not None else "query"
        return rag.RetrieveRequest.of({**values, "q": q if q is not None else query}, name)


if TYPE_CHECKING:
    SearchParams: TypeAlias = Any
else:
    SearchParams = create_model(
        "SearchParams", __base__=_SearchFields, __module__=__name__,
        __doc__="``GET /search`` query parameters (the mode is checked by the searcher, not here).",
        **model_fields(SEARCH_FIELDS, query=True))
if TYPE_CHECKING:
    SearchBody: TypeAlias = Any
else:
    SearchBody = create_model(
        "SearchBody", __base__=(JsonBody, _SearchFields), __module__=__name__,
        __doc__="``POST /search`` body: the same fields as the GET parameters.",
        **model_fields(SEARCH_FIELDS))
if TYPE_CHECKING:
    RetrieveBody: TypeAlias = Any
else:
    RetrieveBody = create_model(
        "RetrieveBody", __base__=_RetrieveBase, __module__=__name__,
        __doc__="``POST /retrieve`` body (chatbots / RAG): give ``q`` or its alias ``query``.",
        **model_fields(RETRIEVE_FIELDS))


class PassageRef(BaseModel):
    id: int
    ordinal: int
    start: int
    end: int


# Models without a docstring stay so: a docstring becomes the schema's OpenAPI description.
if TYPE_CHECKING:
    RetrievedPassage: TypeAlias = Any
else:
    RetrievedPassage = response_model(rag.RetrievedPassage, "RetrievedPassage")
if TYPE_CHECKING:
    RetrieveResponse: TypeAlias = Any
else:
    RetrieveResponse = response_model(rag.Retrieval, "RetrieveResponse",
                                      types={"passages": list[RetrievedPassage]})
if TYPE_CHECKING:
    ArticleResponse: TypeAlias = Any
else:
    ArticleResponse = response_model(ArticleView, "ArticleResponse",
                                     types={"passages": list[PassageRef]})
if TYPE_CHECKING:
    RelatedModel: TypeAlias = Any
else:
    RelatedModel = response_model(RelatedArticle, "RelatedModel")
if TYPE_CHECKING:
    RelatedResponse: TypeAlias = Any
else:
    RelatedResponse = response_model(
        RelatedResult, "RelatedResponse", types={"related": list[RelatedModel]},
        doc="``GET /articles/{id}/related``: other stories on the same event or topic.")


def answer(model: type[ModelT], result: Any) -> ModelT:
    """``result`` (a search core object: :class:`SearchResult`, :class:`ArticleView`, a
    :class:`~search_api.rag.Retrieval`…) as the response ``model``."""
    return model.model_validate(result, from_attributes=True)


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
    request_id: str | None = None


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
