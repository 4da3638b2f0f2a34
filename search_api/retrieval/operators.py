"""Query operators: ``"cụm từ"`` requires a phrase, ``-từ`` / ``-"cụm từ"`` excludes.

STUB (issue 12, part 3): parses nothing yet; every query is plain text.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexer.db import IndexDB

Ranking = list[tuple[int, float]]


@dataclass(frozen=True)
class QueryOperators:
    """A query split into what is ranked and what constrains the hits."""

    #: The text the retrieval ranks (operator syntax removed; a phrase's words kept).
    text: str
    #: Phrases every hit must contain.
    phrases: tuple[str, ...] = ()
    #: Words or phrases no hit may contain.
    excluded: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        """True when the query constrains its hits beyond ranking."""
        return bool(self.phrases or self.excluded)


def parse_operators(query: str) -> QueryOperators:
    """Split a normalised query into ranked text, required phrases and exclusions."""
    return QueryOperators(text=query)


def apply_operators(ranked: Ranking, ops: QueryOperators, db: IndexDB) -> Ranking:
    """The passages of ``ranked`` (order kept) that satisfy ``ops``."""
    return ranked
