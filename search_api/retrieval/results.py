"""What a search returns: hits, the result page, and a whole article."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Hit:
    """One result: a passage and its article."""

    rank: int
    score: float
    passage_id: int
    text: str
    highlighted: str
    start: int
    end: int
    article_id: str
    title: str | None
    url: str | None
    source: str | None
    published: str | None
    category: str | None
    other_matches: int = 0
    #: The article's categories (``category`` is them joined by "; ").
    categories: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    #: Calibrated probability that this passage answers the query (0-1, comparable
    #: across queries); ``score`` is the per-query ranking score.
    relevance: float = 1.0
    #: Ids of the article's other matching passages (``other_matches`` of them), best first.
    other_passage_ids: list[int] = field(default_factory=list)


@dataclass
class SearchResult:
    """The answer to a :class:`~search_api.retrieval.request.SearchRequest`."""

    query: str
    mode: str
    took_ms: float
    total: int
    results: list[Hit]
    #: Articles that matched but were left out because a date filter was set and they
    #: have no date.
    undated_excluded: int = 0
    #: ``{"source"|"category"|"year": [{"value", "count"}]}`` over the whole result set
    #: (after ``min_relevance``, before paging), when the request asked for facets.
    facets: dict[str, list[dict]] | None = None
    #: Served by a set of shards: some did not answer in time (their numbers), so the
    #: result is built from the others.
    partial: bool = False
    missing_shards: list[int] = field(default_factory=list)


@dataclass
class ArticleView:
    """A whole cleaned article with its passages' offsets."""

    id: str
    title: str | None
    text: str
    url: str | None
    urls: list[str]
    source: str | None
    published: str | None
    category: str | None
    passages: list[dict]
    categories: list[str] = field(default_factory=list)
    #: The input's date when it could not be parsed (``published`` is then None).
    published_raw: str | None = None
