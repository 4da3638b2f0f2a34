"""Calibrated relevance: the probability that a hit answers its query, comparable across
queries and index sizes (unlike ``score``, which is min-max normalised per query).

STUB (issue 12, part 1): every hit gets relevance 1.0 until the model is fitted.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexer.db import IndexDB
from indexer.settings import Settings
from indexer.snapshot import Snapshot

Ranking = list[tuple[int, float]]


@dataclass(frozen=True)
class Retrieval:
    """The rankings behind one search, kept for the relevance features."""

    query: str          #: the ranked text (operators removed)
    dense_query: str    #: the text embedded (tones restored when the query had none)
    dense: Ranking      #: (passage id, cosine), best first
    lexical: Ranking    #: (passage id, BM25), best first
    ranked: Ranking     #: the mode's final ranking (fused for hybrid)


class RelevanceScorer:
    """Turns a search's candidates into calibrated relevances."""

    @classmethod
    def load(cls, settings: Settings) -> "RelevanceScorer":
        """The scorer with the fitted model shipped in the package."""
        return cls()

    def score(self, req: object, retrieval: Retrieval, ranked: Ranking, db: IndexDB,
              snapshot: Snapshot) -> dict[int, float]:
        """Relevance of every passage in ``ranked`` (keyed by passage id)."""
        return {pid: 1.0 for pid, _ in ranked}
