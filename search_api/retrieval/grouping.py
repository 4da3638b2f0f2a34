"""From ranked passages to the entries of a result page: one per story (the default), one
per article, or raw passages.

A story is a cluster of near-duplicate articles (the same report republished by several
outlets, :mod:`indexer.stories`); grouped by story, it appears once, as its best passage,
and the hit's ``also_in`` lists its other articles.
"""

from __future__ import annotations

from typing import NamedTuple


class Entry(NamedTuple):
    """One result before hydration: a passage, its score and relevance, its article, and
    how many (and which) other passages of that article matched."""

    passage_id: int
    score: float
    other_matches: int
    article_id: str = ""
    relevance: float = 1.0
    #: The other matching passages of the article, best first (the page opens the
    #: article at them).
    other_passage_ids: tuple[int, ...] = ()


def candidate_count(candidates: int, offset: int, k: int, group: bool | str) -> int:
    """How many passages to rank for a page ending at ``offset + k``.

    Grouping folds several passages into one article, so it asks for three per result.
    """
    return max(candidates, (offset + k) * (3 if group not in (False, "none") else 1))


def rank_entries(ranked: list[tuple[int, float]], article_of: dict[int, str],
                 group: bool | str, relevance: dict[int, float] | None = None,
                 story_of: dict[str, str] | None = None) -> list[Entry]:
    """The result entries of ``ranked`` (best first), in order.

    Passages missing from ``article_of`` (deleted since the ranking) are dropped.
    ``group``: "none" (or False) keeps every passage; "article" (or True) keeps each
    article once, as its best passage, counting its other matching passages; "story" keeps
    each story once (``story_of``: article id → story id; an article missing there is a
    story of its own), as its best passage, counting the other matching passages of that
    passage's article (the other articles of the story are the hit's ``also_in``).
    ``relevance``: each passage's calibrated relevance (1.0 for all when None).
    """
    rel = relevance or {}
    ranked = [(pid, s) for pid, s in ranked if pid in article_of]
    if group in (False, "none"):
        return [Entry(pid, score, 0, article_of[pid], rel.get(pid, 1.0)) for pid, score in ranked]
    stories = story_of if group == "story" and story_of else {}
    best: dict[str, tuple[int, float, str]] = {}
    others: dict[str, list[int]] = {}
    order: list[str] = []
    for pid, score in ranked:
        art = article_of[pid]
        unit = stories.get(art, art)
        if unit not in best:
            best[unit] = (pid, score, art)
            others[unit] = []
            order.append(unit)
        elif best[unit][2] == art:
            others[unit].append(pid)
    return [Entry(best[u][0], best[u][1], len(others[u]), best[u][2], rel.get(best[u][0], 1.0),
                  tuple(others[u])) for u in order]


def page(all_entries: list[Entry], offset: int, k: int) -> list[Entry]:
    """The entries of one page: ``k`` from ``offset``."""
    return all_entries[offset: offset + k]
