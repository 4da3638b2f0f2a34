"""Document frequencies of query terms for the relevance features, cached per generation.

FTS5's vocabulary table answers "how many passages hold this term" by walking the term's
doclist: 1–2 ms for a common term at 200k passages, and a search asks for ~25 terms
(toned, folded, bigrams) — 40 ms of a 60 ms search, measured. Common terms are also the
ones every query repeats, so a cache of the counts of the current generation takes that
cost away; it is emptied when the index moves to another generation. (The mapped lexical
matrix is not used for this: it splits stored text on spaces, so a term inside a
hyphenated token — "19" in "covid-19" — counts fewer passages than FTS5, and the relevance
model was fitted on FTS5's counts.)
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol, cast


class DocFreqSource(Protocol):
    """What answers uncached lookups (an ``IndexDB``, or a set of shards)."""

    def fts_doc_freqs(self, column: str, terms: Sequence[str]) -> list[int]: ...


class DocFreqCache:
    """(column, term) → passages holding it, for one generation at a time."""

    def __init__(self, max_terms: int = 200_000) -> None:
        self.max_terms = max_terms
        self._generation: int | None = None
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def lookup(self, generation: int, source: DocFreqSource, column: str,
               terms: Sequence[str]) -> list[int]:
        """The count of each of ``terms`` in ``column``, in order; asks ``source`` once for
        the terms not cached for ``generation``."""
        with self._lock:
            if generation != self._generation:
                self._counts.clear()
                self._generation = generation
            known = {t: self._counts.get((column, t)) for t in terms}
        missing = [t for t, n in known.items() if n is None]
        if missing:
            found = dict(zip(missing, source.fts_doc_freqs(column, missing), strict=False))
            known.update(found)
            with self._lock:
                if generation == self._generation:
                    if len(self._counts) + len(found) > self.max_terms:
                        self._counts.clear()  # rare: a cheap bound, not an LRU
                    self._counts.update(((column, t), n) for t, n in found.items())
        return [int(cast(int, known[t])) for t in terms]  # every term is known by now
