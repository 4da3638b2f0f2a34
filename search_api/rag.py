"""RAG packing for ``POST /retrieve``: search hits → passages, citations and a prompt context.

The hits are passages (``group`` false by default), at most ``per_article`` from one article,
optionally widened by ``neighbours`` passages on each side. Hits are taken in rank order while
the budgets last: ``max_chars`` characters and ``max_tokens`` tokens of passage text, counted
with the index's own model tokenizer (no second model is loaded). Only the very first passage is
ever cut (at a word boundary), so a chatbot always gets something when anything matched and
never a truncated later passage. In the response, the passages of one article come together,
in reading order, under one citation number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from indexer.errors import NotFoundError

from .retrieval import Hit, Searcher
from .search_fields import RETRIEVE_FIELDS, search_request

NO_TITLE = "(không có tiêu đề)"
# Hits fetched per hit asked for: ``per_article`` drops some, the search does not know it.
CANDIDATES_PER_HIT = 4
MAX_CANDIDATES = 100  # the searcher's page limit


PACKING = ("neighbours", "per_article", "max_chars", "max_tokens")


@dataclass(frozen=True)
class RetrieveRequest:
    """A retrieval: the search (``q``, ``k``, ``group`` and the filters, by their API names),
    the neighbours and the budgets. ``query_field`` is the name the query came under, so a
    message about it names what the client sent."""

    search: Mapping[str, Any]
    neighbours: int
    per_article: int
    max_chars: int
    max_tokens: int | None
    query_field: str = "q"

    @classmethod
    def of(cls, values: Mapping[str, Any], query_field: str = "q") -> RetrieveRequest:
        """From field values by API name (:data:`~search_api.search_fields.RETRIEVE_FIELDS`
        less the ``query`` alias); a field not given takes its declared default."""
        fields = {spec.name: values.get(spec.name, spec.default) for spec in RETRIEVE_FIELDS
                  if spec.name != "query"}
        packing = {name: fields.pop(name) for name in PACKING}
        return cls(search=fields, query_field=query_field, **packing)


@dataclass(kw_only=True)
class RetrievedPassage:
    """A passage of the answer, with the citation number of its article."""

    citation: int
    text: str
    passage_id: int
    #: Place of the passage in its article (0-based); always set by this server.
    ordinal: int | None = None
    article_id: str
    title: str | None
    url: str | None
    source: str | None
    published: str | None
    #: The stored URL when it is not an http(s) link (``url`` is then None).
    url_text: str | None = None
    category: str | None = None
    categories: list[str] = field(default_factory=list)
    provinces: list[str] = field(default_factory=list)
    provinces_former: list[str] = field(default_factory=list)
    #: Calibrated relevance of the hit (for a neighbour: of the hit it surrounds).
    relevance: float
    score: float
    #: Tokens of ``text`` (the index model's tokenizer, no special tokens).
    tokens: int
    neighbour: bool = False
    truncated: bool = False
    #: Rank of the hit in the search (None for a neighbour).
    hit_rank: int | None = None


@dataclass
class Retrieval:
    """What :func:`retrieve` returns: the passages (articles in the order of their best hit,
    each article's passages in reading order), the citation lines, the packed context."""

    query: str
    took_ms: float
    passages: list[RetrievedPassage]
    citations: list[str]
    context: str
    tokens: int = 0
    chars: int = 0
    partial: bool = False
    missing_shards: list[int] = field(default_factory=list)
    province_note: str | None = None


@dataclass
class Piece:
    """A passage chosen for the answer: a hit, or a neighbour of the hit ``hit``."""

    passage_id: int
    ordinal: int  # -1 when unknown (a hit built without its ordinal)
    start: int
    text: str
    tokens: int
    hit: Hit
    neighbour: bool
    truncated: bool = False


def citation_line(n: int, hit: Hit) -> str:
    """``"[n] title — url"``; the outlet stands in for a missing URL, a placeholder for a title.
    A stored URL that is not an http(s) link follows the outlet as flagged code text
    (:func:`unlinked_note`), so that neither a reader nor a Markdown renderer makes it a link."""
    line = f"[{n}] {hit.title or NO_TITLE} — {hit.url or hit.source or ''}".rstrip(" —")
    return f"{line} {unlinked_note(hit.url_text)}" if hit.url_text else line


def unlinked_note(url_text: str) -> str:
    """``url_text`` flagged as not a link, in a Markdown code span (never rendered as a
    link; its backticks are percent-encoded so the span cannot be closed early)."""
    shown = url_text.replace("`", "%60")
    return f"(URL is not an http(s) link, kept as text: `{shown}`)"


def token_counter(searcher: Searcher) -> Callable[[str], int]:
    """Tokens of a text with the index model's own tokenizer, without the passage prompt and
    the special tokens (what the text costs inside a prompt). Encoders without a tokenizer
    (test doubles) count words."""
    count = getattr(searcher.encoder, "count_text_tokens", None)
    if count is None:
        return lambda text: len(text.split())
    return lambda text: count(text) if text else 0


def pick_hits(hits: list[Hit], k: int, per_article: int) -> list[Hit]:
    """The first ``k`` hits with at most ``per_article`` from one article, in rank order."""
    kept: list[Hit] = []
    per: dict[str, int] = {}
    for hit in hits:
        if per.get(hit.article_id, 0) < per_article:
            per[hit.article_id] = per.get(hit.article_id, 0) + 1
            kept.append(hit)
            if len(kept) == k:
                break
    return kept


@dataclass
class FoundHits:
    """The search behind a retrieval: the query as searched, the hits (``per_article``
    applied), the search's time in ms and the shards that did not answer (a cluster)."""

    query: str
    hits: list[Hit]
    took_ms: float
    missing_shards: list[int]
    province_note: str | None = None


def search_hits(searcher: Searcher, request: RetrieveRequest) -> FoundHits:
    """The search behind a retrieval (see :class:`FoundHits`)."""
    fields = dict(request.search)
    k = fields.pop("k")
    grouped = fields["group"] not in (False, "none")
    n = k if grouped else min(MAX_CANDIDATES, k * CANDIDATES_PER_HIT)
    req = search_request(k=n, **fields)
    req.query_field = request.query_field
    result = searcher.search(req)
    return FoundHits(result.query, pick_hits(result.results, k, request.per_article),
                     result.took_ms, result.missing_shards, result.province_note)


def neighbour_texts(searcher: Searcher, hits: list[Hit],
                    neighbours: int) -> dict[str, dict[int, tuple[int, int, str]]]:
    """Article id → ordinal → (passage id, start, text) of the articles of ``hits`` (none when
    ``neighbours`` is 0; a passage's text is its span of the cleaned article text)."""
    out: dict[str, dict[int, tuple[int, int, str]]] = {}
    if neighbours <= 0:
        return out
    for article_id in dict.fromkeys(h.article_id for h in hits):
        try:
            view = searcher.article(article_id)
        except NotFoundError:  # deleted since the search: its hits go without neighbours
            continue
        out[article_id] = {p["ordinal"]: (p["id"], p["start"], view.text[p["start"]:p["end"]])
                           for p in view.passages}
    return out


class Budget:
    """Characters and tokens left; ``take`` a piece when it fits."""

    def __init__(self, max_chars: int, max_tokens: int | None) -> None:
        self.chars = max_chars
        self.tokens = max_tokens

    def fits(self, text: str, tokens: int) -> bool:
        return len(text) <= self.chars and (self.tokens is None or tokens <= self.tokens)

    def take(self, piece: Piece) -> Piece:
        self.chars -= len(piece.text)
        if self.tokens is not None:
            self.tokens -= piece.tokens
        return piece

    def cut(self, text: str, count: Callable[[str], int]) -> tuple[str, int]:
        """The longest word-boundary prefix of ``text`` that fits (binary search on words)."""
        words = text[:self.chars + 1].split(" ")
        lo, hi = 0, len(words)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            head = " ".join(words[:mid])
            if self.fits(head, count(head)):
                lo = mid
            else:
                hi = mid - 1
        head = " ".join(words[:lo])
        if not head and self.chars > 0:  # one huge word: cut inside it (character budget only)
            head = text[:self.chars]
        return head, count(head)


def _neighbour_order(ordinal: int, neighbours: int) -> list[tuple[int, int]]:
    """(side, ordinal) of the neighbours, nearest first: before and after alternate."""
    return [(side, ordinal + side * d) for d in range(1, neighbours + 1) for side in (-1, 1)]


def choose(hits: list[Hit], spans: dict[str, dict[int, tuple[int, int, str]]], neighbours: int,
           budget: Budget, count: Callable[[str], int]) -> dict[int, Piece]:
    """Passage id → piece: the hits in rank order, each followed by its neighbours (nearest
    first, a side stops at the first one that does not fit so the span stays contiguous)."""
    chosen: dict[int, Piece] = {}
    for hit in hits:
        if hit.passage_id in chosen:  # already there as a neighbour: now it is a hit
            old = chosen[hit.passage_id]
            chosen[hit.passage_id] = Piece(old.passage_id, old.ordinal, old.start, old.text,
                                           old.tokens, hit, False, old.truncated)
        else:
            tokens = count(hit.text)
            ordinal = -1 if hit.ordinal is None else hit.ordinal
            if budget.fits(hit.text, tokens):
                chosen[hit.passage_id] = budget.take(
                    Piece(hit.passage_id, ordinal, hit.start, hit.text, tokens, hit, False))
            elif not chosen:  # the first hit alone is over budget: cut it, and stop there
                text, tokens = budget.cut(hit.text, count)
                if text:
                    chosen[hit.passage_id] = budget.take(
                        Piece(hit.passage_id, ordinal, hit.start, text, tokens, hit, False, True))
                break
            else:
                continue
        _add_neighbours(chosen[hit.passage_id], spans.get(hit.article_id, {}), neighbours,
                        chosen, budget, count)
    return chosen


def _add_neighbours(piece: Piece, by_ordinal: dict[int, tuple[int, int, str]], neighbours: int,
                    chosen: dict[int, Piece], budget: Budget, count: Callable[[str], int]) -> None:
    """Add up to ``neighbours`` passages on each side of ``piece`` (see :func:`choose`)."""
    if piece.truncated or piece.ordinal < 0:
        return
    stopped: set[int] = set()
    for side, ordinal in _neighbour_order(piece.ordinal, neighbours):
        if side in stopped or ordinal not in by_ordinal:
            stopped.add(side)
            continue
        pid, start, text = by_ordinal[ordinal]
        if pid in chosen:
            continue
        tokens = count(text)
        if budget.fits(text, tokens):
            chosen[pid] = budget.take(Piece(pid, ordinal, start, text, tokens, piece.hit, True))
        else:
            stopped.add(side)


def render(query: str, took_ms: float, hits: list[Hit],
           chosen: dict[int, Piece]) -> Retrieval:
    """The response: articles in the order of their best hit, one citation number each, their
    passages in reading order; touching passages are joined in the context, gaps marked."""
    by_article: dict[str, list[Piece]] = {}
    for hit in hits:  # rank order fixes the order of the articles
        if any(p.hit.article_id == hit.article_id for p in chosen.values()):
            by_article.setdefault(hit.article_id, [])
    for piece in chosen.values():
        by_article[piece.hit.article_id].append(piece)
    passages: list[RetrievedPassage] = []
    citations: list[str] = []
    blocks: list[str] = []
    for n, pieces in enumerate(by_article.values(), start=1):
        pieces.sort(key=lambda p: (p.start, p.passage_id))
        citations.append(citation_line(n, pieces[0].hit))
        block = f"[{n}] {pieces[0].text}"
        for prev, piece in zip(pieces, pieces[1:], strict=False):
            touching = prev.ordinal >= 0 and piece.ordinal == prev.ordinal + 1
            block += ("\n" if touching else "\n…\n") + piece.text
        blocks.append(block)
        passages.extend(_passage(n, p) for p in pieces)
    return Retrieval(query=query, took_ms=took_ms, passages=passages, citations=citations,
                     context="\n\n".join(blocks), tokens=sum(p.tokens for p in passages),
                     chars=sum(len(p.text) for p in passages))


def _passage(n: int, piece: Piece) -> RetrievedPassage:
    hit = piece.hit
    return RetrievedPassage(citation=n, text=piece.text, passage_id=piece.passage_id,
                            ordinal=piece.ordinal if piece.ordinal >= 0 else None,
                            article_id=hit.article_id, title=hit.title, url=hit.url,
                            url_text=hit.url_text,
                            source=hit.source, published=hit.published, category=hit.category,
                            categories=hit.categories, provinces=hit.provinces,
                            provinces_former=hit.provinces_former, relevance=hit.relevance,
                            score=hit.score, tokens=piece.tokens,
                            neighbour=piece.neighbour, truncated=piece.truncated,
                            hit_rank=None if piece.neighbour else hit.rank)


def retrieve(searcher: Searcher, request: RetrieveRequest) -> Retrieval:
    """Search, pick, widen, fit the budgets, pack (synchronous: the ``/retrieve`` route runs
    it in the thread pool; the MCP server calls it directly)."""
    found = search_hits(searcher, request)
    spans = neighbour_texts(searcher, found.hits, request.neighbours)
    chosen = choose(found.hits, spans, request.neighbours,
                    Budget(request.max_chars, request.max_tokens), token_counter(searcher))
    retrieval = render(found.query, found.took_ms, found.hits, chosen)
    retrieval.partial, retrieval.missing_shards = bool(found.missing_shards), found.missing_shards
    retrieval.province_note = found.province_note
    return retrieval
