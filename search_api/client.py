"""A tiny typed Python client of the vnsearch HTTP API (httpx).

    >>> from search_api.client import VnsearchClient
    >>> with VnsearchClient("http://127.0.0.1:8000") as api:
    ...     answer = api.retrieve("Gia Lai thi hành án dân sự đạt bao nhiêu phần trăm", k=3)
    ...     for p in answer.passages:
    ...         print(p.citation, p.title, p.text[:80])

Standalone on purpose: it imports nothing else from ``search_api``, so a chatbot process
talking to a remote ``vnsearch serve`` loads neither the model nor the index code. The result
models accept (and keep, untyped) fields they do not know, and most fields have defaults, so
the client keeps working while the server adds fields. Every failure — an API error, a
connection failure, an answer that is not the API's JSON — is a :class:`VnsearchClientError`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
# /retrieve's query field ("query" is its alias there); an older server knows only "query",
# so the client falls back to it when "query" is reported missing.
RETRIEVE_QUERY_FIELD = "q"
OLD_RETRIEVE_QUERY_FIELD = "query"


class VnsearchClientError(Exception):
    """A failed call: the API's error (``status``, ``kind``, ``message``, ``field``) or a
    client-side failure (``status`` None; kind ``connection_error``, ``timeout`` or
    ``bad_response``)."""

    def __init__(self, kind: str, message: str, status: int | None = None,
                 field: str | None = None) -> None:
        super().__init__(f"{status or '-'} {kind}: {message}")
        self.kind = kind
        self.message = message
        self.status = status
        self.field = field


class _Model(BaseModel):
    # extra="allow": a field added by a newer server is kept (as an attribute), never an error.
    model_config = ConfigDict(extra="allow", frozen=True)


class Hit(_Model):
    """One ``/search`` result: a passage and its article."""

    rank: int
    passage_id: int
    text: str
    article_id: str
    score: float = 0.0
    relevance: float | None = None
    #: ``relevance`` in words ("rất phù hợp", "phù hợp", "có thể liên quan").
    relevance_label: str | None = None
    highlighted: str = ""
    start: int = 0
    end: int = 0
    title: str | None = None
    url: str | None = None
    #: The stored URL when it is not an http(s) link (``url`` is then None).
    url_text: str | None = None
    source: str | None = None
    published: str | None = None
    category: str | None = None
    other_matches: int = 0
    other_passage_ids: list[int] = Field(default_factory=list)
    provinces: list[str] = Field(default_factory=list)
    provinces_former: list[str] = Field(default_factory=list)
    story_id: str | None = None
    #: The story's other articles: ``{source, url, published, article_id}`` each.
    also_in: list[dict[str, Any]] = Field(default_factory=list)


class SearchResult(_Model):
    """The ``/search`` answer."""

    query: str
    took_ms: float
    results: list[Hit]
    mode: str = "hybrid"
    total: int = 0
    undated_excluded: int = 0
    facets: dict[str, Any] | None = None
    province_note: str | None = None
    hints: list[str] = Field(default_factory=list)
    #: Matches left out by ``min_relevance`` (in the unit of ``total``).
    cut: int = 0


class Passage(_Model):
    """One ``/retrieve`` passage, with the citation number of its article.

    ``neighbour`` marks a passage added as context around a hit (``neighbours=1|2``);
    ``tokens`` is its length in the index model's tokens. Fields an older server does not
    send are None.
    """

    citation: int
    text: str
    article_id: str
    passage_id: int | None = None
    ordinal: int | None = None
    title: str | None = None
    url: str | None = None
    #: The stored URL when it is not an http(s) link (``url`` is then None).
    url_text: str | None = None
    source: str | None = None
    published: str | None = None
    category: str | None = None
    provinces: list[str] = Field(default_factory=list)
    relevance: float | None = None
    score: float | None = None
    tokens: int | None = None
    neighbour: bool = False
    truncated: bool = False
    hit_rank: int | None = None


class RetrieveResult(_Model):
    """The ``/retrieve`` answer: passages, ``[n] title — url`` citations, the packed context."""

    query: str
    took_ms: float
    passages: list[Passage]
    citations: list[str] = Field(default_factory=list)
    context: str = ""
    tokens: int | None = None  # sums over the passages (None from a pre-issue-13 server)
    chars: int | None = None


class PassageRef(_Model):
    """Where one passage lies in its article's text."""

    id: int
    ordinal: int
    start: int
    end: int


class Article(_Model):
    """One whole cleaned article (``/articles/{id}``)."""

    id: str
    text: str
    title: str | None = None
    url: str | None = None
    #: The stored URL when it is not an http(s) link (``url`` is then None).
    url_text: str | None = None
    urls: list[str] = Field(default_factory=list)
    source: str | None = None
    published: str | None = None
    category: str | None = None
    provinces: list[str] = Field(default_factory=list)
    provinces_former: list[str] = Field(default_factory=list)
    story_id: str | None = None
    passages: list[PassageRef] = Field(default_factory=list)


class RelatedResult(_Model):
    """``/articles/{id}/related``: other stories on the same event or topic, newest first
    (each ``{article_id, title, source, url, published, provinces, score, story_id}``)."""

    article_id: str
    related: list[dict[str, Any]] = Field(default_factory=list)


class Health(_Model):
    """``/health``: the model, the index's counts and kinds, the uptime."""

    status: str
    model: str = ""
    model_id: str = ""
    dimension: int = 0
    articles: int = 0
    passages: int = 0
    index_format: int = 0
    vector_index: str = ""
    lexical_index: str = ""
    generation: int = 0
    uptime_s: float = 0.0


class Facets(_Model):
    """``/facets``: the index's outlets and categories."""

    sources: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    provinces: list[dict[str, Any]] = Field(default_factory=list)  # {name, count}


class VnsearchClient:
    """A connection pool to one ``vnsearch serve``; thread-safe, close it (or use ``with``).

    Keyword parameters of :meth:`search` and :meth:`retrieve` are the API's own names (``k``,
    ``mode``, ``source``, ``date_from``, ``max_chars`` …) sent as they are, so a parameter the
    server adds needs no new client; ``None`` values are left out (the server's default).
    """

    def __init__(self, base_url: str = DEFAULT_BASE_URL, *, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport,
                                  headers={"Accept": "application/json"})

    def __enter__(self) -> VnsearchClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def search(self, q: str, **params: Any) -> SearchResult:
        """``POST /search``: ranked hits (``k``, ``offset``, ``mode``, filters, ``group`` …)."""
        return self._call(SearchResult, "POST", "/search", json=_body({"q": q, **params}))

    def retrieve(self, q: str, **params: Any) -> RetrieveResult:
        """``POST /retrieve``: passages and citations for a chatbot's prompt (``k``,
        ``max_tokens``, ``max_chars``, ``neighbours``, ``per_article``, filters …)."""
        params = _body(params)
        try:
            return self._call(RetrieveResult, "POST", "/retrieve",
                              json={RETRIEVE_QUERY_FIELD: q, **params})
        except VnsearchClientError as exc:
            if exc.status != 422 or exc.field != OLD_RETRIEVE_QUERY_FIELD:
                raise
        # A pre-issue-13 server: it ignored "q" and missed "query".
        return self._call(RetrieveResult, "POST", "/retrieve",
                          json={OLD_RETRIEVE_QUERY_FIELD: q, **params})

    def article(self, article_id: str) -> Article:
        """``GET /articles/{id}``: the whole cleaned text (kind ``not_found`` if absent)."""
        return self._call(Article, "GET", f"/articles/{quote(article_id, safe='')}")

    def related(self, article_id: str, k: int = 10) -> RelatedResult:
        """``GET /articles/{id}/related``: related coverage (kind ``not_found`` if absent)."""
        return self._call(RelatedResult, "GET",
                          f"/articles/{quote(article_id, safe='')}/related", params={"k": k})

    def health(self) -> Health:
        """``GET /health``."""
        return self._call(Health, "GET", "/health")

    def facets(self) -> Facets:
        """``GET /facets``: outlets and categories, the values the filters take."""
        return self._call(Facets, "GET", "/facets")

    def _call(self, model: type[_Model], method: str, path: str, **kwargs: Any) -> Any:
        """One request, its JSON answer as ``model``; every failure a VnsearchClientError."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise VnsearchClientError("timeout", f"{method} {path}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise VnsearchClientError("connection_error", f"{method} {path}: {exc}") from exc
        if response.status_code >= 400:
            raise _api_error(response)
        try:
            return model.model_validate(response.json())
        except (ValueError, ValidationError) as exc:  # a proxy's HTML page, a wrong server
            raise VnsearchClientError("bad_response", f"{method} {path}: {exc}",
                                      response.status_code) from exc


def _body(params: dict[str, Any]) -> dict[str, Any]:
    """The JSON body: ``None`` means "the server's default", so it is not sent."""
    return {key: value for key, value in params.items() if value is not None}


def _api_error(response: httpx.Response) -> VnsearchClientError:
    """The API's ``{"error": {status, error, message, field}}``; any other error body (a
    proxy's, a load balancer's) becomes kind ``http_error`` with the start of its text."""
    try:
        error = response.json()["error"]
        return VnsearchClientError(str(error["error"]), str(error["message"]),
                                   int(error.get("status") or response.status_code),
                                   error.get("field"))
    except (ValueError, KeyError, TypeError):
        return VnsearchClientError("http_error", response.text[:200] or response.reason_phrase,
                                   response.status_code)
