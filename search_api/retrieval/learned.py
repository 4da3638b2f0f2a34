"""The learned ranking and the relevance that goes with it (``ranking = "learned"``).

A search's candidates (the union the dense and lexical retrievers found, in the mode's
order) get the features of :mod:`.features`; in hybrid mode a LightGBM lambdarank model
(``ranker_model.txt``) re-orders them; then a LightGBM binary model per mode turns the
hit's place in the final order (the ranker's score, its gap to the best, the rank) and the
query's kind into the probability that the hit is relevant (:data:`RELEVANCE_INPUTS`).
Both are fitted by ``vnsearch rank-fit`` (:mod:`search_api.quality.rank_fit`) on every
query kind (questions, keywords, topics, each toned and toneless, nonsense, off-topic); the
figures of that fit are in ``learned_model.json`` and docs/ranking.md.

The relevance is a running minimum down the final order, as with the fusion
(:mod:`.relevance`): a hit is never shown as more relevant than one above it.

``ranking = "fusion"`` keeps the earlier weighted min-max fusion and its relevance model
(:class:`~.relevance.RelevanceScorer`), unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from indexer.db import IndexDB
from indexer.errors import ModelError
from indexer.settings import Settings
from indexer.snapshot import Snapshot

from .features import FEATURES, ranking_features, raw_candidates
from .lgbm import import_lightgbm
from .relevance import DocFreqs, RelevanceScorer, Retrieval, running_min

Ranking = list[tuple[int, float]]

MODEL_PATH = Path(__file__).with_name("learned_model.json")
RANKER_PATH = Path(__file__).with_name("ranker_model.txt")
#: The relevance model's inputs per mode. A hit enters only through its place in the final
#: order (rank, score, gap to the best) — so the relevance can only fall down the list, and
#: two neighbours get neighbouring values — and the query through what its best candidates
#: look like (``top_*``) and its kind (length, tones, rare terms, question).
QUERY_INPUTS = ("log_terms", "has_tones", "rare_share", "question", "top_cosine",
                "top_bigrams", "top_toned", "top_folded", "broad_cosine", "broad_bigrams")
#: ``broad_*``: the mean over the first BROAD candidates — a broad topic ("bão lũ") has many
#: passages that match well, a precise keyword query a few.
BROAD = 20
RELEVANCE_INPUTS = {
    "hybrid": ("ranker", "ranker_gap", "log_rank", *QUERY_INPUTS),
    "dense": ("cosine", "dense_gap", "log_rank", *QUERY_INPUTS),
    "lexical": ("lexical_norm", "log_rank",
                *(q for q in QUERY_INPUTS if q not in ("top_cosine", "broad_cosine"))),
}
#: +1: more of it never lowers the relevance; -1: never raises it.
MONOTONE = {"ranker": 1, "ranker_gap": -1, "log_rank": -1, "cosine": 1, "dense_gap": -1,
            "lexical_norm": 1, "top_cosine": 1, "top_bigrams": 1, "top_toned": 1,
            "top_folded": 1, "broad_cosine": 1, "broad_bigrams": 1}


def relevance_matrix(features: np.ndarray, mode: str,
                     ranker: np.ndarray | None = None) -> np.ndarray:
    """The relevance model's input columns (:data:`RELEVANCE_INPUTS`) of ``features``
    (rows in the final order); ``ranker``: the ranker's scores in that order (hybrid)."""
    n = len(features)
    col = {name: features[:, j] for j, name in enumerate(FEATURES)}
    col["log_rank"] = np.log1p(np.arange(n, dtype=np.float64))
    for top, name in (("top_cosine", "cosine"), ("top_bigrams", "cover_bigrams"),
                      ("top_toned", "cover_toned"), ("top_folded", "cover_folded")):
        col[top] = np.full(n, float(col[name].max()) if n else 0.0)
    for broad, name in (("broad_cosine", "cosine"), ("broad_bigrams", "cover_bigrams")):
        col[broad] = np.full(n, float(col[name][:BROAD].mean()) if n else 0.0)
    if ranker is not None and n:
        col["ranker"], col["ranker_gap"] = ranker, ranker.max() - ranker
    zeros = np.zeros(n)
    return np.column_stack([col.get(name, zeros) for name in RELEVANCE_INPUTS[mode]])


@dataclass(frozen=True)
class Scored:
    """A search's candidates in their final order, and each one's relevance (by id)."""

    ranked: Ranking
    relevance: dict[int, float]


class Scorer(Protocol):
    """Orders a search's candidates and gives each its calibrated relevance."""

    def score(self, req: Any, retrieval: Retrieval, ranked: Ranking, db: IndexDB,
              snapshot: Snapshot, doc_freqs: DocFreqs | None = None) -> Scored: ...


class FusionScorer:
    """The weighted min-max fusion's order as it is, with the fusion's relevance model."""

    def __init__(self, relevance: RelevanceScorer) -> None:
        self.relevance = relevance

    def score(self, req: Any, retrieval: Retrieval, ranked: Ranking, db: IndexDB,
              snapshot: Snapshot, doc_freqs: DocFreqs | None = None) -> Scored:
        """``ranked`` unchanged; relevance by :class:`~.relevance.RelevanceScorer`."""
        return Scored(ranked, self.relevance.score(req, retrieval, ranked, db, snapshot,
                                                   doc_freqs))


@dataclass(frozen=True)
class LearnedModel:
    """The ranker and the relevance model of each mode (LightGBM boosters), with the
    relevance models' input columns."""

    ranker: Any
    relevance: dict[str, tuple[list[str], Any]]

    @classmethod
    def read(cls, path: Path = MODEL_PATH, ranker_path: Path = RANKER_PATH) -> LearnedModel:
        """The shipped model (or one written by ``vnsearch rank-fit --out``)."""
        lightgbm = import_lightgbm()  # heavy: only when the learned ranking is used
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if list(data["features"]) != list(FEATURES):
            raise ValueError(f"{path}: fitted on other features; run `vnsearch rank-fit`")
        relevance = {mode: (list(spec["inputs"]), lightgbm.Booster(model_str=spec["model"]))
                     for mode, spec in data["relevance"].items()}
        for mode, (inputs, _) in relevance.items():
            if inputs != list(RELEVANCE_INPUTS[mode]):
                raise ValueError(f"{path}: the {mode} relevance model was fitted on other "
                                 "inputs; run `vnsearch rank-fit`")
        return cls(lightgbm.Booster(model_file=str(ranker_path)), relevance)

    def rank(self, features: np.ndarray) -> np.ndarray:
        """The ranker's score of each row (higher is better)."""
        return np.asarray(self.ranker.predict(features, num_threads=1), np.float64)

    def probability(self, features: np.ndarray, mode: str,
                    ranker: np.ndarray | None = None) -> np.ndarray:
        """P(relevant) of each row; ``ranker``: the ranker's scores (hybrid)."""
        _, booster = self.relevance[mode]
        x = relevance_matrix(features, mode, ranker)
        return np.asarray(booster.predict(x, num_threads=1), np.float64)


class LearnedScorer:
    """Re-orders hybrid candidates with the ranker; relevance from the learned model."""

    def __init__(self, model: LearnedModel) -> None:
        self.model = model

    def score(self, req: Any, retrieval: Retrieval, ranked: Ranking, db: IndexDB,
              snapshot: Snapshot, doc_freqs: DocFreqs | None = None) -> Scored:
        """The final order and relevance of ``ranked`` (the mode's candidates)."""
        if not ranked:
            return Scored([], {})
        pids = [pid for pid, _ in ranked]
        raw = raw_candidates(retrieval, pids, db, max(len(snapshot.vectors), 1), doc_freqs)
        keep = np.flatnonzero(raw.present)
        scores = np.array([s for _, s in ranked], np.float64)[keep]
        features = ranking_features(raw.matrix[keep], scores, raw.query,
                                    retrieval.query_vector is not None)
        mode = getattr(req, "mode", "hybrid")
        ranker = None
        if mode == "hybrid" and len(keep):
            ranker = self.model.rank(features)
            order = np.argsort(-ranker, kind="stable")
            features, ranker, keep = features[order], ranker[order], keep[order]
            lo, hi = float(ranker.min()), float(ranker.max())
            scores = (ranker - lo) / (hi - lo) if hi > lo else np.ones(len(ranker))
        probs = running_min(self.model.probability(features, mode, ranker))
        final = [(pids[i], float(s)) for i, s in zip(keep, scores, strict=True)]
        relevance = {pid: 0.0 for pid in pids}
        relevance.update({pids[i]: float(p) for i, p in zip(keep, probs, strict=True)})
        # A candidate deleted since the ranking keeps its place at the end, relevance 0.
        gone = [(pid, 0.0) for j, pid in enumerate(pids) if not raw.present[j]]
        return Scored(final + gone, relevance)


def create_scorer(settings: Settings) -> Scorer:
    """The scorer ``settings.ranking`` names: "learned" (default) or "fusion"."""
    if settings.ranking == "fusion":
        return FusionScorer(RelevanceScorer.load(settings))
    folder = Path(settings.ranking_model) if settings.ranking_model else MODEL_PATH.parent
    try:
        return LearnedScorer(LearnedModel.read(folder / MODEL_PATH.name,
                                               folder / RANKER_PATH.name))
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"learned ranking model in {folder} unusable ({exc}); "
                         "set VNSEARCH_RANKING=fusion or run `vnsearch rank-fit`") from exc
