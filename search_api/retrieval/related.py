"""Related coverage of an article (``GET /articles/{id}/related``): other stories about the
same event or topic.

The article's title and lead (its first ``LEAD_CHARS`` characters, cut at a word) are the
query of an ordinary hybrid search grouped by story, so related coverage ranks with the
same dense + BM25 fusion and the same calibrated relevance as a reader's query. The
article's own story (every article of its cluster) is left out, each other story counts
once (its best article), and only hits with calibrated relevance of at least
``MIN_RELEVANCE`` are kept (:mod:`.relevance`; the cut-off was read off by hand on the
demo corpus, README "Related coverage"). The best ``k`` are then shown newest first,
undated last.
"""

from __future__ import annotations

import re
from typing import Any

from indexer.errors import QueryError

from .request import SearchRequest
from .results import RelatedArticle, RelatedResult

#: Most related stories one call returns.
MAX_RELATED = 50
#: Characters of the article's text that join its title in the query.
LEAD_CHARS = 300
#: Calibrated relevance a story needs to count as related.
MIN_RELEVANCE = 0.1
#: Stories asked of the search beyond ``k`` (the own story and near-misses drop out).
EXTRA_CANDIDATES = 10
# Query operator syntax in a title ("…" phrases, -exclusions) is plain text here.
_OPERATOR_CHARS = re.compile(r'["\u201c\u201d]|(?:(?<=\s)|^)-+')


def related_query(title: str | None, text: str, max_chars: int) -> str:
    """The search text for an article: its title and lead, operators neutralised."""
    lead = _first_sentence(text[:LEAD_CHARS])
    query = f"{title}. {lead}" if title else lead
    query = " ".join(_OPERATOR_CHARS.sub(" ", query).split())
    return query[:max_chars].rsplit(" ", 1)[0] if len(query) > max_chars else query


def _first_sentence(text: str) -> str:
    """The lead's first sentence (the whole cut when it has no full stop), cut at a word."""
    m = re.search(r"[.!?…](\s|$)", text)
    if m and m.end() > 40:
        return text[:m.end()].strip()
    return text.rsplit(" ", 1)[0] if " " in text else text


def related_coverage(searcher: Any, article_id: str, k: int = 10,
                     min_relevance: float = MIN_RELEVANCE) -> RelatedResult:
    """The related coverage of ``article_id`` (see module docstring); NotFoundError for an
    unknown article, QueryError (field ``k``) for ``k`` outside 1–``MAX_RELATED``."""
    if not 1 <= k <= MAX_RELATED:
        raise QueryError(f"k: must be between 1 and {MAX_RELATED}", field="k")
    view = searcher.article(article_id)
    own_story = view.story_id or view.id
    query = related_query(view.title, view.text, searcher.settings.max_query_chars)
    req = SearchRequest(query=query, k=min(searcher.settings.max_k, k + EXTRA_CANDIDATES),
                        mode="hybrid", group="story", min_relevance=min_relevance)
    result = searcher.search(req)
    related: list[RelatedArticle] = []
    for hit in result.results:
        story = hit.story_id or hit.article_id
        if story == own_story or hit.article_id == view.id:
            continue
        related.append(RelatedArticle(hit.article_id, hit.title, hit.source, hit.url,
                                      hit.published, list(hit.provinces),
                                      round(hit.relevance, 4), story, hit.url_text))
        if len(related) == k:
            break
    dated = sorted((r for r in related if r.published), key=lambda r: r.published or "",
                   reverse=True)
    return RelatedResult(article_id=view.id,
                         related=dated + [r for r in related if not r.published])


__all__ = ["MAX_RELATED", "MIN_RELEVANCE", "related_coverage", "related_query"]
