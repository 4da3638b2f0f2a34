"""What a search returns: hits, the result page, and a whole article."""

from __future__ import annotations

from dataclasses import dataclass, field

from .relevance_words import relevance_label


@dataclass(frozen=True)
class AlsoIn:
    """Another article of a hit's story (the same report in another outlet)."""

    source: str | None
    url: str | None
    published: str | None
    article_id: str
    #: The stored URL when it is not an http(s) link (``url`` is then None).
    url_text: str | None = None


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
    #: Provinces the article is about: current (post-2025) names, and the former names
    #: it uses (see :mod:`indexer.places`).
    provinces: list[str] = field(default_factory=list)
    provinces_former: list[str] = field(default_factory=list)
    #: The article's story (the article id of its first indexed article) and the story's
    #: other articles, newest first ([] when it stands alone).
    story_id: str | None = None
    also_in: list[AlsoIn] = field(default_factory=list)
    #: The passage's place in its article (0-based); None for a hit built without it.
    ordinal: int | None = None
    #: ``relevance`` in words, for a person ("rất phù hợp", "phù hợp", "có thể liên quan";
    #: :mod:`.relevance_words`); filled in from ``relevance`` when not given.
    relevance_label: str = ""
    #: The stored URL when it is not an http(s) link (``url`` is then None, see
    #: :mod:`indexer.links`).
    url_text: str | None = None

    def __post_init__(self) -> None:
        if not self.relevance_label:
            self.relevance_label = relevance_label(self.relevance)


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
    #: Said when ``province=`` named a former province and was mapped (see
    #: :func:`~search_api.retrieval.request.resolve_province_filter`).
    province_note: str | None = None
    #: When nothing matched: what to try next, in Vietnamese (see :mod:`.messages`).
    hints: list[str] = field(default_factory=list)
    #: Matches dropped by ``min_relevance``, in the unit of ``total`` (stories, articles
    #: or passages, as grouped) and among the same candidates: ``total + cut`` is the
    #: ``total`` of the same search with ``min_relevance=0``.
    cut: int = 0


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
    provinces: list[str] = field(default_factory=list)
    provinces_former: list[str] = field(default_factory=list)
    story_id: str | None = None
    #: The stored URL when it is not an http(s) link (``url`` is then None).
    url_text: str | None = None


@dataclass(frozen=True)
class RelatedArticle:
    """One story of an article's related coverage (its best-matching article)."""

    article_id: str
    title: str | None
    source: str | None
    url: str | None
    published: str | None
    provinces: list[str]
    score: float
    story_id: str
    #: The stored URL when it is not an http(s) link (``url`` is then None).
    url_text: str | None = None


@dataclass
class RelatedResult:
    """``GET /articles/{id}/related``: other stories on the same event or topic, newest
    first (undated last)."""

    article_id: str
    related: list[RelatedArticle]
