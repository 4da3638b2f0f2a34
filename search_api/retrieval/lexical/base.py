"""The lexical seam: the terms of a query, and the interface every lexical index offers.

A query reaches a lexical index only as a :class:`LexicalQuery` — syllables, never raw
user syntax. Every passage has a tone-kept column (``toned``), a tone-folded column
(``folded``, đ→d) and a column of folded syllable pairs (``bigrams``). A query typed
without tones searches the folded columns only, tone-insensitively; a query with tones
searches the toned column too, with BM25 column weights (:data:`TONED_WEIGHTS`) that make
exact-tone matches dominate and leave same-letters-other-tone matches a small share ("án"
vs "an": misspelt tones still find something).

Two implementations score the same BM25 (k1 = 1.2, b = 0.75): :mod:`.fts5` (SQLite FTS5,
the source of truth) and :mod:`.matrix` (an in-memory sparse matrix, much faster on large
indexes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from indexer.db import MetadataFilter
from indexer.vietnamese import fold, has_tones, syllable_bigrams, tokenize

# Question words and function words dropped from the lexical unigrams of a query (bigrams
# keep them): +0.010 lexical nDCG@10 on vinewsqa-dev (0.841 → 0.851).
QUERY_STOPWORDS = frozenset(
    "gì nào ai đâu sao bao nhiêu như thế là có được của và các những trong cho với không "
    "thì mà này đó khi nên vì".split())

MAX_QUERY_TOKENS = 64

# (column, term) -> True when the term is in too many passages to be worth scoring.
TooCommon = Callable[[str, str], bool]


# The full-text columns in the table's order: the order of bm25()'s column weights.
COLUMNS = ("toned", "folded", "bigrams")
UNWEIGHTED = (1.0, 1.0, 1.0)
# BM25 column weights (toned, folded, bigrams) of a query typed with tones. A weight
# multiplies a term's frequency inside BM25's saturation, as FTS5's bm25() does. Toned
# column up, folded column down, so that a syllable with the query's exact tone ("án")
# counts far more than the same letters with another tone ("an", "ẩn"), which still count
# (misspelt tones exist); folded bigrams stay at 1 (two syllables rarely both match with
# other tones). nDCG@10 barely moves (README "Exact tones"); precision does.
TONED_WEIGHTS = (4.0, 0.25, 1.0)


@dataclass(frozen=True)
class LexicalQuery:
    """The terms of one lexical query, per FTS column; scored as an OR of all of them.

    ``weights``: BM25 column weights in :data:`COLUMNS` order (``bm25(passages_fts, ...)``).
    """

    folded: list[str]
    toned: list[str] = field(default_factory=list)
    bigrams: list[str] = field(default_factory=list)
    weights: tuple[float, float, float] = UNWEIGHTED

    def phrases(self) -> list[tuple[str, str]]:
        """(column, term) pairs in the order FTS5 sees them."""
        return ([("folded", t) for t in self.folded] + [("toned", t) for t in self.toned]
                + [("bigrams", t) for t in self.bigrams])

    def weight(self, column: str) -> float:
        """The BM25 weight of ``column``."""
        return self.weights[COLUMNS.index(column)]


class LexicalIndex(Protocol):
    """A BM25 index over the passages' lexical columns."""

    def top(self, query: LexicalQuery, n: int,
            filt: MetadataFilter) -> list[tuple[int, float]]:
        """Best ``n`` (passage id, BM25 score), best first, among passages ``filt`` admits.

        Passages matching none of the query's terms are never returned.
        """
        ...

    def doc_freq(self, column: str, term: str) -> int:
        """Passages that hold ``term`` in ``column`` (``toned``, ``folded`` or ``bigrams``)."""
        ...


def lexical_query(query: str, too_common: TooCommon | None = None) -> LexicalQuery | None:
    """The lexical terms of ``query``: syllables only, never raw user syntax.

    Folded syllables and folded syllable bigrams always; tone-kept syllables too when the
    query carries tones, then with :data:`TONED_WEIGHTS`, so that exact-tone matches
    dominate. A toneless query is unweighted (tone-insensitive, as before column weights).
    """
    all_tokens = tokenize(query)[:MAX_QUERY_TOKENS]
    if not all_tokens:
        return None
    # Only a toned query can tell "thì" (then) from "thi" (exam): toneless keeps all words.
    stop = QUERY_STOPWORDS if has_tones(query) else frozenset()
    tokens = list(dict.fromkeys(t for t in all_tokens if t not in stop)) \
        or list(dict.fromkeys(all_tokens))
    folded = list(dict.fromkeys(fold(t) for t in tokens))
    bigrams = list(dict.fromkeys(syllable_bigrams([fold(t) for t in all_tokens])))
    if too_common is not None:
        # Syllables in a large share of passages add little BM25 score but long posting
        # lists; their bigrams stay. vinewsqa-dev + 6,750 distractors (17k passages), lexical:
        # max df 1.0 / 0.2 / 0.1 / 0.05 → nDCG@10 0.772 / 0.772 / 0.765 / 0.761 at
        # 35 / 26 / 14 / 10 ms a query (FTS5). Default 0.2: no quality cost.
        folded = [t for t in folded if not too_common("folded", t)] or folded
        tokens = [t for t in tokens if not too_common("toned", t)] or tokens
    if not has_tones(query):
        return LexicalQuery(folded=folded, bigrams=bigrams)
    return LexicalQuery(folded=folded, toned=tokens, bigrams=bigrams, weights=TONED_WEIGHTS)


def too_common_filter(index: LexicalIndex, passages: int, max_df: float,
                      min_passages: int) -> TooCommon | None:
    """A document-frequency test for query syllables, on indexes of ``min_passages`` or more.

    A term is too common when more than ``max_df`` of the ``passages`` hold it.
    """
    if passages < min_passages:
        return None
    limit = max_df * passages
    return lambda column, term: index.doc_freq(column, term) > limit


def fts_query(query: str, too_common: TooCommon | None = None) -> str | None:
    """FTS5 MATCH expression for ``query``: an OR of quoted terms, one group per column."""
    terms = lexical_query(query, too_common)
    return None if terms is None else fts_expression(terms)


def fts_expression(terms: LexicalQuery) -> str:
    """``terms`` as an FTS5 MATCH expression (every term quoted)."""
    def quote(term: str) -> str:
        return '"' + term.replace('"', '""') + '"'

    parts = ["folded : (" + " OR ".join(quote(t) for t in terms.folded) + ")"]
    if terms.toned:
        parts.append("toned : (" + " OR ".join(quote(t) for t in terms.toned) + ")")
    if terms.bigrams:
        parts.append("bigrams : (" + " OR ".join(quote(t) for t in terms.bigrams) + ")")
    return " OR ".join(parts)
