"""From ranked passages to the entries of a result page: one per article, or raw passages."""

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


def candidate_count(candidates: int, offset: int, k: int, group: bool) -> int:
    """How many passages to rank for a page ending at ``offset + k``.

    Grouping folds several passages into one article, so it asks for three per result.
    """
    return max(candidates, (offset + k) * (3 if group else 1))


def rank_entries(ranked: list[tuple[int, float]], article_of: dict[int, str],
                 group: bool, relevance: dict[int, float] | None = None) -> list[Entry]:
    """The result entries of ``ranked`` (best first), in order.

    Passages missing from ``article_of`` (deleted since the ranking) are dropped. With
    ``group``, each article appears once, as its best passage, counting the others.
    ``relevance``: each passage's calibrated relevance (1.0 for all when None).
    """
    rel = relevance or {}
    ranked = [(pid, s) for pid, s in ranked if pid in article_of]
    if not group:
        return [Entry(pid, score, 0, article_of[pid], rel.get(pid, 1.0)) for pid, score in ranked]
    best: dict[str, tuple[int, float]] = {}
    others: dict[str, list[int]] = {}
    order: list[str] = []
    for pid, score in ranked:
        art = article_of[pid]
        if art in best:
            others[art].append(pid)
        else:
            best[art] = (pid, score)
            others[art] = []
            order.append(art)
    return [Entry(best[a][0], best[a][1], len(others[a]), a, rel.get(best[a][0], 1.0),
                  tuple(others[a])) for a in order]


def page(all_entries: list[Entry], offset: int, k: int) -> list[Entry]:
    """The entries of one page: ``k`` from ``offset``."""
    return all_entries[offset: offset + k]
