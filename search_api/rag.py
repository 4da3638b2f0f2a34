"""RAG packing: search hits → numbered passages, citation lines and a prompt context.

Used by ``POST /retrieve``. Passages are taken in rank order until the character budget is
spent; only the first passage is ever cut (at a word boundary), so a chatbot always gets at
least one passage and never a truncated later one.
"""

from __future__ import annotations

from .retrieval import Hit, SearchResult
from .schemas import RetrievedPassage, RetrieveResponse

MAX_CHARS_LIMIT = 100_000  # the largest character budget a client may ask for
NO_TITLE = "(không có tiêu đề)"


def citation_line(n: int, hit: Hit) -> str:
    """``"[n] title — url"``; the outlet stands in for a missing URL, a placeholder for a title."""
    return f"[{n}] {hit.title or NO_TITLE} — {hit.url or hit.source or ''}".rstrip(" —")


def _fit(text: str, room: int) -> str:
    """``text`` cut to ``room`` characters, at the last space when there is one."""
    head = text[:room]
    return head.rsplit(" ", 1)[0] if " " in head else head


def pack(result: SearchResult, max_chars: int) -> RetrieveResponse:
    """The ``/retrieve`` answer for ``result`` within ``max_chars`` characters of passage text."""
    passages: list[RetrievedPassage] = []
    citations: list[str] = []
    blocks: list[str] = []
    used = 0
    for hit in result.results:
        text = hit.text
        room = max_chars - used
        if room <= 0:
            break
        if len(text) > room:
            if passages:
                break
            text = _fit(text, room)
        n = len(passages) + 1
        passages.append(RetrievedPassage(citation=n, text=text, article_id=hit.article_id,
                                         title=hit.title, url=hit.url, source=hit.source,
                                         published=hit.published, score=hit.score))
        citations.append(citation_line(n, hit))
        blocks.append(f"[{n}] {text}")
        used += len(text)
    return RetrieveResponse(query=result.query, took_ms=result.took_ms, passages=passages,
                            citations=citations, context="\n\n".join(blocks))
