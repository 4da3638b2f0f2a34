"""Corpus statistics of BM25: passages, total length, document frequency per (column, term).

One index computes them from its own rows; a set of shards sums its shards' statistics
(:func:`merge_stats`) so that every shard scores BM25 as one index would
(Elasticsearch's ``dfs_query_then_fetch``, precomputed). The counting here is the one the
in-memory matrix of ``search_api.retrieval.lexical.matrix`` uses: a column's terms are its
space-separated words, a passage's length is its FTS5-style token count over all columns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..db import FtsRow
from .counting import COLUMNS, FTS_TOKEN


@dataclass
class CorpusStats:
    """BM25's corpus statistics: ``df[c][term]`` for column ``COLUMNS[c]``."""

    passages: int = 0
    total_length: int = 0
    df: list[Counter] = field(default_factory=lambda: [Counter() for _ in COLUMNS])

    @property
    def average_length(self) -> float:
        """Mean passage length in tokens over all columns (0 for an empty corpus)."""
        return self.total_length / self.passages if self.passages else 0.0

    def doc_freq(self, column: str, term: str) -> int:
        """Passages holding ``term`` in ``column``."""
        return int(self.df[COLUMNS.index(column)].get(term, 0))

    def to_json(self) -> dict:
        """A JSON-ready dict (``df`` keyed by column name)."""
        return {"passages": self.passages, "total_length": self.total_length,
                "average_length": self.average_length,
                "df": {name: dict(self.df[c]) for c, name in enumerate(COLUMNS)}}

    @classmethod
    def from_json(cls, data: dict) -> CorpusStats:
        """The inverse of :meth:`to_json`."""
        df = [Counter({t: int(n) for t, n in data["df"].get(name, {}).items()})
              for name in COLUMNS]
        return cls(int(data["passages"]), int(data["total_length"]), df)


def count_stats(rows: Iterable[FtsRow]) -> CorpusStats:
    """The statistics of full-text rows (one index or one shard)."""
    stats = CorpusStats()
    for row in rows:
        stats.passages += 1
        for c, text in enumerate(row[1:]):
            if text:
                stats.df[c].update(set(text.split()))
                stats.total_length += len(FTS_TOKEN.findall(text))
    return stats


def merge_stats(parts: Iterable[CorpusStats]) -> CorpusStats:
    """The statistics of the union of disjoint corpora (the shards of one index)."""
    total = CorpusStats()
    for part in parts:
        total.passages += part.passages
        total.total_length += part.total_length
        for c in range(len(COLUMNS)):
            total.df[c].update(part.df[c])
    return total
