"""Per-candidate features of a search: what the learned ranker and the relevance model read.

Computed in one pass over the candidates of a search (:func:`raw_candidates`, one
database read for their lexical columns, vectors and ordinals), then turned into the
feature matrix of one ranking (:func:`ranking_features`): the same raw columns serve the
hybrid, dense and lexical rankings of a query, so the fitting code computes them once.

Every feature means the same on every index size (shares of IDF, ratios to the query's
best candidate, ranks), so a model fitted on small evaluation indexes carries over.

Candidate columns (:data:`RAW`):

* ``cosine`` — the dense cosine of the passage to the embedded query (0 without a vector);
* ``cover_toned`` / ``cover_folded`` / ``cover_bigrams`` — IDF-weighted shares of the
  query's content syllables (same tones / folded) and folded syllable pairs the passage
  (title included) holds, as in :mod:`.relevance`;
* ``bm25`` — the lexical retriever's score (0 when it did not rank the passage);
* ``ordinal`` — the passage's place in its article (the lead paragraphs say the most).

Tried and left out: a pseudo-relevance-feedback cosine (to the mean vector of the five
best lexical hits) lowered the 5-fold nDCG@10 of the ranker on all eight set/tone
combinations, by 0.0004 to 0.006 (docs/ranking.md).

Query columns (:class:`QueryInfo`): the number of content syllables, whether it has tones,
the share of its syllables that are rare in the index, whether it is a question. They let
one model tell keyword queries, topics and questions apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from indexer.db import IndexDB
from indexer.vietnamese import fold, tokenize

from .relevance import DocFreqs, QueryTerms, Retrieval, _share, _weighted, _weights, query_terms

RAW = ("cosine", "cover_toned", "cover_folded", "cover_bigrams", "bm25", "ordinal")
#: The model inputs, in column order (:func:`ranking_features`).
FEATURES = ("cosine", "cover_toned", "cover_folded", "cover_bigrams", "log_terms",
            "dense_gap", "lexical_norm", "score_norm", "log_rank", "in_lexical", "bigram_gap",
            "log_ordinal", "has_tones", "rare_share", "question")
#: The features that need the query's vector (left out of the lexical variants).
DENSE_ONLY = frozenset({"cosine", "dense_gap"})
LEXICAL_FEATURES = tuple(f for f in FEATURES if f not in DENSE_ONLY)

#: A syllable in fewer than this share of passages is "rare" (a name, a place, a number).
RARE_DF = 0.01
_QUESTION = frozenset(fold(w) for w in "gì nào ai đâu sao bao mấy không".split())


@dataclass(frozen=True)
class QueryInfo:
    """Features of the query itself (the same for all its candidates)."""

    log_terms: float   #: ln(1 + content syllables)
    has_tones: float   #: 1.0 when typed with tones
    rare_share: float  #: share of its folded syllables in < RARE_DF of passages
    question: float    #: 1.0 for a question ("?" or a question word)


@dataclass(frozen=True)
class RawCandidates:
    """The raw columns of a search's candidates (rows in ``pids`` order)."""

    pids: list[int]
    matrix: np.ndarray   #: len(pids) × len(RAW)
    present: np.ndarray  #: False for a candidate deleted since the ranking
    query: QueryInfo


def query_info(terms: QueryTerms, text: str, folded_dfs: list[int], passages: int) -> QueryInfo:
    """The query's own features (``folded_dfs``: document frequency of each folded term)."""
    rare = sum(df < RARE_DF * passages for df in folded_dfs) / max(len(folded_dfs), 1)
    words = {fold(t) for t in tokenize(text)}
    question = 1.0 if "?" in text or words & _QUESTION else 0.0
    return QueryInfo(math.log1p(len(terms.folded)), 1.0 if terms.has_tones else 0.0,
                     float(rare), question)


def raw_candidates(retrieval: Retrieval, pids: list[int], db: IndexDB, passages: int,
                   doc_freqs: DocFreqs | None = None) -> RawCandidates:
    """The raw columns of ``pids`` (any order) for ``retrieval``'s query.

    ``passages``: the index size (IDFs); ``doc_freqs``: the terms' document frequencies
    (default: the store's FTS5 vocabulary).
    """
    terms = query_terms(retrieval.query)
    dfs = doc_freqs or db.fts_doc_freqs
    folded_dfs = dfs("folded", terms.folded) if terms.folded else []
    w_folded = _weighted(terms.folded, np.array(
        [math.log(1.0 + (passages - df + 0.5) / (df + 0.5)) for df in folded_dfs]))
    w_toned = (_weighted(terms.toned, _weights(terms.toned, "toned", dfs, passages))
               if terms.has_tones else None)
    w_bigrams = _weighted(terms.bigrams, _weights(terms.bigrams, "bigrams", dfs, passages))
    info = query_info(terms, retrieval.query, folded_dfs, passages)
    qvec = retrieval.query_vector
    rows = db.relevance_rows(pids, qvec is not None)  # no vector: no blobs to read
    dense, lexical = dict(retrieval.dense), dict(retrieval.lexical)
    out = np.zeros((len(pids), len(RAW)), np.float64)
    present = np.zeros(len(pids), bool)
    blobs: list[bytes] = []
    for i, pid in enumerate(pids):
        row = rows.get(pid)
        if row is None:
            continue
        present[i] = True
        toned, folded, bigrams, blob, ordinal = row
        blobs.append(blob)
        cover_folded = _share(w_folded, folded)
        cover_toned = cover_folded if w_toned is None else _share(w_toned, toned)
        cover_bigrams = _share(w_bigrams, bigrams) if terms.bigrams else cover_folded
        out[i, 1:6] = (cover_toned, cover_folded, cover_bigrams, lexical.get(pid, 0.0), ordinal)
    # The vectors in one matrix: one product for the cosines the dense search did not give.
    kept = np.flatnonzero(present)
    if len(kept):
        if qvec is None:
            cosine = np.zeros(len(kept))
        else:
            vectors = np.frombuffer(b"".join(blobs), np.float32).reshape(len(kept), -1)
            cosine = (vectors @ qvec).astype(np.float64)
        known = [j for j, i in enumerate(kept) if pids[i] in dense]
        cosine[known] = [dense[pids[kept[j]]] for j in known]
        out[kept, 0] = cosine
    return RawCandidates(list(pids), out, present, info)


def ranking_features(raw: np.ndarray, scores: np.ndarray, query: QueryInfo,
                     dense_available: bool) -> np.ndarray:
    """The :data:`FEATURES` matrix of one ranking: ``raw`` rows (:data:`RAW` columns) in
    the ranking's order, ``scores`` its scores (best first). ``dense_available``: False in
    lexical mode (no query vector: the dense columns are 0)."""
    n = len(raw)
    out = np.zeros((n, len(FEATURES)), np.float64)
    if n == 0:
        return out
    col = {name: raw[:, j] for j, name in enumerate(RAW)}
    cosine = col["cosine"] if dense_available else np.zeros(n)
    bm25 = col["bm25"]
    top_bm25 = float(bm25.max())
    span = float(scores[0] - scores.min()) if n else 0.0
    score_norm = (scores - scores.min()) / span if span > 0 else np.ones(n)
    out[:, 0] = cosine
    out[:, 1], out[:, 2], out[:, 3] = col["cover_toned"], col["cover_folded"], col["cover_bigrams"]
    out[:, 4] = query.log_terms
    out[:, 5] = (cosine.max() - cosine) if dense_available else 0.0
    out[:, 6] = bm25 / top_bm25 if top_bm25 > 0 else 0.0
    out[:, 7] = score_norm
    out[:, 8] = np.log1p(np.arange(n))
    out[:, 9] = (bm25 > 0).astype(np.float64)
    out[:, 10] = col["cover_bigrams"].max() - col["cover_bigrams"]
    out[:, 11] = np.log1p(col["ordinal"])
    out[:, 12], out[:, 13], out[:, 14] = query.has_tones, query.rare_share, query.question
    return out
