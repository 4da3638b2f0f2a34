"""``vnsearch rank-fit``: fit the learned ranker and the relevance models on every dev set,
report k-fold figures, write the model files (:mod:`search_api.retrieval.learned`).

Recipe:

1. rows of every query of every set (:mod:`.rank_data`; questions, keywords, topics, each
   toned and toneless; left-out, nonsense and off-topic queries);
2. five folds by article (a query and its toneless form, and all queries written for one
   article, stay in one fold);
3. the ranker (LightGBM lambdarank on the hybrid candidates, label = grade) fitted on four
   folds scores the fifth: out-of-fold scores for every query;
4. the relevance models (LightGBM binary, monotone in the evidence, one per mode) fitted
   on the hits as shown — the best passage of each article, top 20, in the final order;
   label: the article is relevant — with the out-of-fold ranker scores, and scored on the
   fifth fold: out-of-fold probabilities, then the running minimum as served;
5. report nDCG@10 per set and kind (fusion vs learned, each mode), expected calibration
   error per kind with reliability diagrams, and per threshold the nDCG@10 each kind loses
   to the cut and the abstention on queries that have no answer;
6. refit on everything and write ``ranker_model.txt`` and ``learned_model.json``.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..retrieval.features import FEATURES, ranking_features
from ..retrieval.learned import MONOTONE, RELEVANCE_INPUTS, relevance_matrix
from .rank_data import QueryRows

FOLDS = 5
MODES = ("hybrid", "dense", "lexical")
HITS = 20
THRESHOLDS = (0.0, 0.001, 0.002, 0.003, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.15, 0.2, 0.3)
RANKER_PARAMS = {"objective": "lambdarank", "metric": "ndcg", "ndcg_eval_at": [10],
                 "num_leaves": 15, "learning_rate": 0.07, "min_data_in_leaf": 50,
                 "feature_fraction": 0.9, "label_gain": [0, 1, 3], "num_threads": 1,
                 "verbose": -1, "seed": 26, "deterministic": True}
RANKER_ROUNDS = 150
#: The ranker learns from the head of each fused list (where its decisions matter); it
#: scores every candidate when serving.
TRAIN_DEPTH = 100
RELEVANCE_PARAMS = {"objective": "binary", "num_leaves": 7, "learning_rate": 0.05,
                    "min_data_in_leaf": 100, "num_threads": 1, "verbose": -1, "seed": 26,
                    "deterministic": True}
RELEVANCE_ROUNDS = 150
def fold_of(q: QueryRows) -> int:
    """The query's fold (by its article: stable across runs)."""
    return int(hashlib.md5(q.fold_key.encode()).hexdigest(), 16) % FOLDS


def mode_order(q: QueryRows, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Candidate indices and scores of ``mode``'s ranking (hybrid: the fusion)."""
    if mode == "dense":
        return q.dense, q.dense_scores
    if mode == "lexical":
        return q.lexical, q.lexical_scores
    return np.arange(len(q.pids)), q.fused


def features(q: QueryRows, mode: str) -> np.ndarray:
    """The :data:`FEATURES` rows of ``mode``'s ranking of ``q``."""
    idx, scores = mode_order(q, mode)
    return ranking_features(q.raw[idx], scores, q.query, mode != "lexical")


def ndcg10(articles: list[str], relevant: dict[str, int]) -> float:
    """Article-level nDCG@10 (gain = grade; an article counted at its best passage)."""
    seen = list(dict.fromkeys(a for a in articles if a))[:10]
    dcg = sum(relevant.get(a, 0) / np.log2(i + 2) for i, a in enumerate(seen))
    ideal = sorted(relevant.values(), reverse=True)[:10]
    idcg = sum(g / np.log2(i + 2) for i, g in enumerate(ideal))
    return float(dcg / idcg) if idcg > 0 else 0.0


def fit_ranker(rows: list[QueryRows]) -> object:
    """LightGBM lambdarank on the hybrid candidates of ``rows``."""
    import lightgbm

    x = np.vstack([features(q, "hybrid")[:TRAIN_DEPTH] for q in rows])
    y = np.concatenate([q.grades[:TRAIN_DEPTH] for q in rows])
    data = lightgbm.Dataset(x, y, group=[min(len(q.pids), TRAIN_DEPTH) for q in rows],
                            feature_name=list(FEATURES), free_raw_data=True)
    return lightgbm.train(RANKER_PARAMS, data, RANKER_ROUNDS)


def out_of_fold_ranker(rows: list[QueryRows]) -> list[np.ndarray]:
    """Each query's hybrid candidates scored by a ranker fitted without its fold."""
    scores: list[np.ndarray] = [np.zeros(0)] * len(rows)
    folds = [fold_of(q) for q in rows]
    for f in range(FOLDS):
        train = [q for q, g in zip(rows, folds, strict=True) if g != f and q.relevant]
        model = fit_ranker(train)
        for i, q in enumerate(rows):
            if folds[i] == f:
                scores[i] = np.asarray(model.predict(features(q, "hybrid")))  # type: ignore[attr-defined]
    return scores


@dataclass
class Hits:
    """The hits as shown for one (query, mode): features, labels, articles in order."""

    x: np.ndarray
    y: np.ndarray
    articles: list[str]
    candidate_articles: list[str] = field(default_factory=list)


def relevance_inputs(mode: str) -> list[str]:
    """The relevance model's input columns for ``mode``."""
    return list(RELEVANCE_INPUTS[mode])


def shown_hits(q: QueryRows, mode: str, ranker: np.ndarray | None) -> Hits:
    """The best passage of each article, top :data:`HITS`, in the final order of ``mode``,
    with the relevance model's inputs (:func:`~search_api.retrieval.learned.relevance_matrix`)."""
    idx, _ = mode_order(q, mode)
    x = features(q, mode)
    if mode == "hybrid" and ranker is not None and len(ranker):
        order = np.argsort(-ranker, kind="stable")
        idx, x, ranker = idx[order], x[order], ranker[order]
    else:
        ranker = None
    x = relevance_matrix(x, mode, ranker)
    articles = [q.articles[i] for i in idx]
    first: dict[str, int] = {}
    for j, art in enumerate(articles):
        if art and art not in first and len(first) < HITS:
            first[art] = j
    keep = list(first.values())
    y = np.array([q.relevant.get(articles[j], 0) >= 1 for j in keep], np.float64)
    return Hits(x[keep], y, [articles[j] for j in keep], articles)


def fit_relevance(hits: list[Hits], kinds: list[str], mode: str) -> object:
    """LightGBM binary on the shown hits; each kind weighs the same in total."""
    import lightgbm

    x = np.vstack([h.x for h in hits if len(h.y)])
    y = np.concatenate([h.y for h in hits if len(h.y)])
    per_kind: defaultdict[str, int] = defaultdict(int)
    for h, k in zip(hits, kinds, strict=True):
        per_kind[k] += len(h.y)
    w = np.concatenate([np.full(len(h.y), 1.0 / per_kind[k])
                        for h, k in zip(hits, kinds, strict=True) if len(h.y)])
    w *= len(w) / w.sum()
    names = relevance_inputs(mode)
    params = {**RELEVANCE_PARAMS, "monotone_constraints": [MONOTONE.get(n, 0) for n in names]}
    return lightgbm.train(params, lightgbm.Dataset(x, y, weight=w, feature_name=names),
                          RELEVANCE_ROUNDS)


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Σ over equal-width bins of (share of rows) × |mean predicted − share relevant|."""
    if not len(p):
        return 0.0
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            total += sel.mean() * abs(float(p[sel].mean()) - float(y[sel].mean()))
    return total


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 10) -> list[dict]:
    """Per bin: mean predicted, share relevant, count (a reliability diagram's points)."""
    which = np.minimum((p * bins).astype(int), bins - 1)
    return [{"bin": b, "predicted": round(float(p[which == b].mean()), 4),
             "observed": round(float(y[which == b].mean()), 4), "count": int((which == b).sum())}
            for b in range(bins) if (which == b).any()]


def write_model(ranker: object, relevance: dict[str, object], report: dict, out_dir: Path) -> None:
    """``ranker_model.txt`` and ``learned_model.json`` (relevance boosters as text inside)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ranker.save_model(str(out_dir / "ranker_model.txt"))  # type: ignore[attr-defined]
    payload = {"features": list(FEATURES),
               "relevance": {m: {"inputs": relevance_inputs(m),
                                 "model": b.model_to_string()}  # type: ignore[attr-defined]
                             for m, b in relevance.items()},
               "fit": report}
    (out_dir / "learned_model.json").write_text(json.dumps(payload, ensure_ascii=False) + "\n",
                                                encoding="utf-8")


def write_check_slice(ranker: object, rows: list[QueryRows], path: Path, n: int = 30) -> float:
    """A slice of ``n`` answerable queries' hybrid rows and the ranker's passage-level
    nDCG@10 on them, for a test that the shipped file reproduces it; the nDCG."""
    answerable = [q for q in rows if q.relevant]
    chosen = answerable[:: max(1, len(answerable) // n)][:n]
    x = np.vstack([features(q, "hybrid") for q in chosen])
    grades = np.concatenate([q.grades for q in chosen]).astype(np.float64)
    bounds = np.cumsum([0] + [len(q.pids) for q in chosen])
    scores = np.asarray(ranker.predict(x, num_threads=1))  # type: ignore[attr-defined]
    disc = 1 / np.log2(np.arange(2, 12))
    ndcgs = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        gains = grades[lo:hi][np.argsort(-scores[lo:hi], kind="stable")][:10]
        ideal = np.sort(grades[lo:hi])[::-1][:10]
        ndcgs.append(float((gains * disc[:len(gains)]).sum()
                           / max((ideal * disc[:len(ideal)]).sum(), 1e-9)))
    value = float(np.mean(ndcgs))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, features=x, grades=grades, bounds=bounds, ndcg=value)
    return value
