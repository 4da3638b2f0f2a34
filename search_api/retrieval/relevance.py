"""Calibrated relevance: the probability that a hit answers its query, comparable across
queries and index sizes (unlike ``score``, which is min-max normalised per query).

A small logistic model over features of (query, passage) that mean the same thing on
every index (README, "Relevance and no results"):

* ``cosine`` — the dense cosine of the passage to the embedded query (tones restored);
* ``cover_toned`` / ``cover_folded`` — the IDF-weighted share of the query's content
  syllables that the passage holds with the same tones / tone-folded (a toneless query
  cannot tell tones apart, so there both are the folded share);
* ``cover_bigrams`` — the IDF-weighted share of the query's folded syllable pairs the
  passage holds (word and phrase matches);
* ``log_terms`` — ln(1 + the query's content syllables): long questions match partly.

Shares are ratios of IDFs, so the index size cancels out to first order; a query syllable
absent from the index has the largest IDF and pulls every share down (nonsense scores
near 0). Coefficients live in ``relevance_model.json``, written by ``vnsearch calibrate``
(:mod:`search_api.quality.calibration`); ``mode=lexical`` uses a second set without ``cosine``
so it never has to embed the query.

Down a ranked list the relevance is a running minimum, so it never rises with rank: a
hit is never shown as more relevant than one the ranking put above it, and a cut-off
keeps a prefix of the ranking.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexer.db import IndexDB
from indexer.settings import Settings
from indexer.snapshot import Snapshot
from indexer.vietnamese import fold, has_tones, syllable_bigrams, tokenize

from .lexical.base import MAX_QUERY_TOKENS, QUERY_STOPWORDS

Ranking = list[tuple[int, float]]

MODEL_PATH = Path(__file__).with_name("relevance_model.json")
FEATURES = ("cosine", "cover_toned", "cover_folded", "cover_bigrams", "log_terms")
LEXICAL_FEATURES = FEATURES[1:]


@dataclass(frozen=True)
class Retrieval:
    """The rankings behind one search, kept for the relevance features."""

    query: str          #: the ranked text (operators removed)
    dense_query: str    #: the text embedded (tones restored when the query had none)
    dense: Ranking      #: (passage id, cosine), best first
    lexical: Ranking    #: (passage id, BM25), best first
    ranked: Ranking     #: the mode's final ranking (fused for hybrid)
    #: The embedded query's vector (None in lexical mode: the query is not embedded).
    query_vector: np.ndarray | None = field(default=None, compare=False)


@dataclass(frozen=True)
class QueryTerms:
    """The syllables of a query that the coverage features look for."""

    toned: list[str]
    folded: list[str]
    bigrams: list[str]
    has_tones: bool


def query_terms(query: str) -> QueryTerms:
    """Content syllables (question and function words dropped, as the lexical search does
    for toned queries), their folded forms, and the folded syllable pairs of the query."""
    tokens = tokenize(query)[:MAX_QUERY_TOKENS]
    toned = has_tones(query)
    stop = QUERY_STOPWORDS if toned else frozenset()
    content = list(dict.fromkeys(t for t in tokens if t not in stop)) or list(dict.fromkeys(tokens))
    return QueryTerms(toned=content, folded=list(dict.fromkeys(fold(t) for t in content)),
                      bigrams=list(dict.fromkeys(syllable_bigrams([fold(t) for t in tokens]))),
                      has_tones=toned)


def _idf(df: int, passages: int) -> float:
    """BM25's IDF (never negative); a term absent from the index gets the largest."""
    return math.log(1.0 + (passages - df + 0.5) / (df + 0.5))


#: ``doc_freqs(column, terms)``: how many passages hold each term in the lexical column.
DocFreqs = Callable[[str, Sequence[str]], list[int]]


def _weights(terms: list[str], column: str, doc_freqs: DocFreqs, passages: int) -> np.ndarray:
    # One call for all the terms: a set of shards answers it in one round trip per shard.
    return np.array([_idf(df, passages) for df in doc_freqs(column, terms)], np.float64)


@dataclass(frozen=True)
class _Weighted:
    """A query's terms for the coverage test, prepared once per search (not per candidate):
    padded for the substring test, their IDF weights as floats and the weights' total."""

    padded: list[str]
    weights: list[float]
    total: float


def _weighted(terms: list[str], weights: np.ndarray) -> _Weighted:
    return _Weighted([f" {t} " for t in terms], [float(w) for w in weights],
                     float(weights.sum()))


def _share(query: _Weighted, column: str) -> float:
    """IDF-weighted share of the query's terms found in ``column`` (space-separated tokens).

    A padded substring test instead of a token set: no per-passage split (3x faster).
    """
    if not query.padded or query.total <= 0.0:
        return 0.0
    padded = f" {column} "
    return sum(w for t, w in zip(query.padded, query.weights, strict=False)
               if t in padded) / query.total


@dataclass(frozen=True)
class CandidateFeatures:
    """The feature rows of a search's candidates and which candidates are still stored."""

    matrix: np.ndarray
    present: np.ndarray  # bool per candidate: False when deleted since the ranking


def candidate_features(retrieval: Retrieval, pids: list[int], db: IndexDB,
                       passages: int, doc_freqs: DocFreqs | None = None) -> np.ndarray:
    """The feature matrix (len(pids) × len(FEATURES)) of the candidates ``pids``.

    ``passages``: the index size, for the IDFs; ``doc_freqs``: where the terms' document
    frequencies come from (default: the store's FTS5 vocabulary, ``db.fts_doc_freqs``).
    Candidates deleted since the ranking get a row of zeros. ``cosine`` is 0 when the
    retrieval carries no query vector.
    """
    return _candidate_features(retrieval, pids, db, passages, doc_freqs).matrix


def _candidate_features(retrieval: Retrieval, pids: list[int], db: IndexDB, passages: int,
                        doc_freqs: DocFreqs | None) -> CandidateFeatures:
    terms = query_terms(retrieval.query)
    dfs = doc_freqs or db.fts_doc_freqs
    w_toned = (_weighted(terms.toned, _weights(terms.toned, "toned", dfs, passages))
               if terms.has_tones else None)
    w_folded = _weighted(terms.folded, _weights(terms.folded, "folded", dfs, passages))
    w_bigrams = _weighted(terms.bigrams, _weights(terms.bigrams, "bigrams", dfs, passages))
    qvec = retrieval.query_vector
    rows = db.relevance_rows(pids, qvec is not None)  # no vector: no blobs to read
    dense = dict(retrieval.dense)
    log_terms = math.log1p(len(terms.folded))
    out = np.zeros((len(pids), len(FEATURES)), np.float64)
    present = np.zeros(len(pids), bool)
    for i, pid in enumerate(pids):
        row = rows.get(pid)
        if row is None:
            continue
        present[i] = True
        toned, folded, bigrams, vector = row[:4]
        cover_folded = _share(w_folded, folded)
        cover_toned = cover_folded if w_toned is None else _share(w_toned, toned)
        cover_bigrams = _share(w_bigrams, bigrams) if terms.bigrams else cover_folded
        if pid in dense:
            cosine = dense[pid]
        elif qvec is not None:
            cosine = float(np.frombuffer(vector, np.float32) @ qvec)
        else:
            cosine = 0.0
        out[i] = (cosine, cover_toned, cover_folded, cover_bigrams, log_terms)
    return CandidateFeatures(out, present)


def running_min(values: np.ndarray) -> np.ndarray:
    """Each value capped by every value before it (non-increasing down the list)."""
    return np.minimum.accumulate(values) if len(values) else values


@dataclass(frozen=True)
class RelevanceModel:
    """Logistic coefficients per feature set: ``full`` (with cosine) and ``lexical``."""

    coefficients: dict[str, dict[str, float]]

    @classmethod
    def read(cls, path: Path = MODEL_PATH) -> RelevanceModel:
        """The model written by ``vnsearch calibrate``."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls({name: dict(coef) for name, coef in data["models"].items()})

    def predict(self, features: np.ndarray, variant: str) -> np.ndarray:
        """P(relevant) of each row of ``features`` (columns in :data:`FEATURES` order)."""
        coef = self.coefficients[variant]
        z = np.full(len(features), coef["intercept"])
        for j, name in enumerate(FEATURES):
            z += coef.get(name, 0.0) * features[:, j]
        return 1.0 / (1.0 + np.exp(-z))


class RelevanceScorer:
    """Turns a search's candidates into calibrated relevances."""

    def __init__(self, model: RelevanceModel) -> None:
        self.model = model

    @classmethod
    def load(cls, settings: Settings) -> RelevanceScorer:
        """The scorer with the fitted model shipped in the package."""
        return cls(RelevanceModel.read())

    def score(self, req: object, retrieval: Retrieval, ranked: Ranking, db: IndexDB,
              snapshot: Snapshot, doc_freqs: DocFreqs | None = None) -> dict[int, float]:
        """Relevance of every passage in ``ranked`` (keyed by passage id), non-increasing
        down ``ranked``; ``doc_freqs`` as in :func:`candidate_features`."""
        if not ranked:
            return {}
        pids = [pid for pid, _ in ranked]
        found = _candidate_features(retrieval, pids, db, max(len(snapshot.vectors), 1),
                                    doc_freqs)
        variant = "full" if retrieval.query_vector is not None else "lexical"
        probs = np.zeros(len(pids))
        # A candidate deleted since the ranking (a reader on the previous snapshot) gets 0
        # and no say in the running minimum, which would otherwise sink every hit below it.
        keep = found.present
        probs[keep] = running_min(self.model.predict(found.matrix[keep], variant))
        return {pid: float(p) for pid, p in zip(pids, probs, strict=False)}
