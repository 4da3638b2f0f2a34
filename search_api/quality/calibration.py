"""``vnsearch calibrate``: fit the relevance model (:mod:`search_api.retrieval.relevance`) on the
evaluation sets and write ``relevance_model.json``.

Recipe, per evaluation set (``<dir>/<name>.jsonl`` + ``<dir>/<name>.corpus.jsonl``):

1. index the corpus without a fixed share of its articles (:func:`.abstention.leave_out_ids`);
2. run every question (hybrid, ``Settings.candidates`` candidates) and the nonsense and
   off-topic queries of :mod:`.abstention`, and compute the features of every candidate;
3. label: positive = a passage holding the answer span (any passage of the relevant
   article when the set has no answer offsets); the relevant article's other passages are
   left out of the fit; every other candidate — including all candidates of left-out,
   nonsense and off-topic queries — is negative;
4. fit a logistic regression (L2, L-BFGS on the log loss, scipy) on all sets together:
   ``full`` on every feature, ``lexical`` (for ``mode=lexical``) without ``cosine``;
5. report, per threshold, abstention vs. answered rate and nDCG@10 of the answerable
   questions before and after the cut, per set and fitted on the other set only.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexer.db import IndexDB
from indexer.progress import ProgressReporter, indexing_callback, reporter
from indexer.settings import Settings

from ..retrieval import Searcher, SearchRequest
from ..retrieval.relevance import (
    FEATURES,
    LEXICAL_FEATURES,
    RelevanceModel,
    candidate_features,
    running_min,
)
from .abstention import OFF_TOPIC, leave_out_ids, nonsense_queries
from .evaluation import (
    EvalQuery,
    all_answer_passages,
    article_metrics,
    corpus_articles,
    encode_all,
    load_queries,
)

THRESHOLDS = (0.002, 0.003, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
L2 = 1e-3


@dataclass
class QuerySample:
    """The candidates of one query: features, labels, fit weights, articles, and its kind
    ('answerable', 'left_out', 'nonsense', 'off_topic')."""

    kind: str
    features: np.ndarray
    labels: np.ndarray
    weights: np.ndarray
    articles: list[str]
    relevant: set[str] = field(default_factory=set)


def _samples_for(searcher: Searcher, db: IndexDB, texts: list[tuple[str, str, EvalQuery | None]],
                 context: tuple[dict[str, str], dict[int, str], dict[str, set[int]]],
                 progress: ProgressReporter | None = None) -> list[QuerySample]:
    """Retrieve every (kind, text, query) and label its candidates (``progress``: per query)."""
    external, passage_article, answers = context
    passages = len(searcher.snapshot.vectors)
    out: list[QuerySample] = []
    for kind, text, q in texts:
        if progress:
            progress.advance()
        req = searcher.validate(SearchRequest(query=text, mode="hybrid"))
        retrieval = searcher.retrieve(req, searcher.settings.candidates)
        pids = [pid for pid, _ in retrieval.ranked]
        features = candidate_features(retrieval, pids, db, passages)
        articles = [passage_article.get(pid, "") for pid in pids]
        relevant = {external[r] for r in q.relevant if r in external} if q else set()
        wanted = answers.get(q.qid, set()) if q else set()
        labels = np.array([pid in wanted or (not wanted and art in relevant)
                           for pid, art in zip(pids, articles, strict=False)], np.float64)
        weights = np.array([0.0 if (art in relevant and not label) else 1.0
                            for art, label in zip(articles, labels, strict=False)])
        out.append(QuerySample(kind, features, labels, weights, articles, relevant))
    return out


def collect(eval_dir: Path, name: str, settings: Settings, index_root: Path,
            leave_out_fraction: float, limit: int | None,
            log: Callable[[str], None], quiet: bool = True) -> list[QuerySample]:
    """Index ``name``'s corpus minus its left-out articles and label every query's candidates
    (``quiet``: no progress on stderr)."""
    from indexer.encoders import create_encoder
    from indexer.writer import index_articles

    queries = load_queries(eval_dir / f"{name}.jsonl", limit)
    corpus = eval_dir / f"{name}.corpus.jsonl"
    raw_texts = {a.id: a.text for a in corpus_articles(corpus)}
    left_out = leave_out_ids(raw_texts, round(leave_out_fraction * len(raw_texts)))
    index_dir = index_root / f"{name}-lo{len(left_out)}"
    encoder = create_encoder(settings)
    started = time.perf_counter()
    with indexing_callback(settings, quiet=quiet, total=len(raw_texts) - len(left_out)) as tick:
        index_articles(index_dir, (a for a in corpus_articles(corpus) if a.id not in left_out),
                       settings, encoder, batch_articles=256, progress=tick)
    log(f"{name}: index of {len(raw_texts) - len(left_out)} articles ({len(left_out)} left out) "
        f"in {time.perf_counter() - started:.0f} s")
    searcher = Searcher(index_dir, settings, encoder)
    try:
        with IndexDB(index_dir, readonly=True) as db:
            external = db.external_ids()
            context = (external, db.passage_articles(),
                       all_answer_passages(db, queries, external, raw_texts))
            texts: list[tuple[str, str, EvalQuery | None]] = [
                ("left_out" if all(r in left_out for r in q.relevant) else "answerable",
                 q.query, q) for q in queries]
            texts += [("nonsense", t, None) for t in nonsense_queries()]
            texts += [("off_topic", t, None) for t in OFF_TOPIC]
            encode_all(searcher, [t for _, t, _ in texts])
            with reporter(settings, "queries", quiet=quiet, total=len(texts),
                          verb=f"{name}: labelled") as progress:
                samples = _samples_for(searcher, db, texts, context, progress)
    finally:
        searcher.close()
    log(f"{name}: {len(samples)} queries, {sum(len(s.labels) for s in samples)} candidates "
        f"in {time.perf_counter() - started:.0f} s")
    return samples


def fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = L2) -> dict[str, float]:
    """Weighted logistic regression by L-BFGS; coefficients on the raw features.

    Features are standardised for the optimiser (and the L2 penalty), then mapped back.
    """
    from scipy.optimize import minimize
    from scipy.special import expit

    mu, sd = x.mean(0), x.std(0) + 1e-9
    z_x = (x - mu) / sd
    total = w.sum()

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[0] + z_x @ theta[1:]
        value = float((w * (np.logaddexp(0.0, z) - y * z)).sum() / total
                      + 0.5 * l2 * theta[1:] @ theta[1:])
        g = w * (expit(z) - y) / total
        return value, np.concatenate([[g.sum()], z_x.T @ g + l2 * theta[1:]])

    theta = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B").x
    coef = theta[1:] / sd
    return {"intercept": float(theta[0] - (coef * mu).sum()), **{f"_{j}": float(c)
                                                                 for j, c in enumerate(coef)}}


def fit_model(samples: list[QuerySample]) -> RelevanceModel:
    """The ``full`` and ``lexical`` coefficient sets fitted on ``samples``."""
    x = np.vstack([s.features for s in samples])
    y = np.concatenate([s.labels for s in samples])
    w = np.concatenate([s.weights for s in samples])
    models = {}
    for variant, names in (("full", FEATURES), ("lexical", LEXICAL_FEATURES)):
        cols = [FEATURES.index(n) for n in names]
        raw = fit_logistic(x[:, cols], y, w)
        models[variant] = {"intercept": raw["intercept"],
                           **{n: raw[f"_{j}"] for j, n in enumerate(names)}}
    return RelevanceModel(models)


def threshold_table(model: RelevanceModel, samples: list[QuerySample],
                    thresholds: tuple[float, ...] = THRESHOLDS) -> list[dict]:
    """Per threshold: abstention on left-out / nonsense / off-topic queries, answered rate
    and nDCG@10 (uncut → cut) of the answerable ones; plus nDCG@10 if reranked by relevance."""
    probs = [running_min(model.predict(s.features, "full")) for s in samples]
    raw = [model.predict(s.features, "full") for s in samples]

    def ndcg(s: QuerySample, order: list[str]) -> float:
        return article_metrics(list(dict.fromkeys(a for a in order if a)), s.relevant)["ndcg10"]

    answerable = [i for i, s in enumerate(samples) if s.kind == "answerable"]
    base = float(np.mean([ndcg(samples[i], samples[i].articles) for i in answerable]))
    rerank = float(np.mean([ndcg(samples[i], [samples[i].articles[j]
                                              for j in np.argsort(-raw[i], kind="stable")])
                            for i in answerable]))
    rows = []
    for t in thresholds:
        kept = [int((p >= t).sum()) for p in probs]
        row: dict = {"threshold": t, "ndcg@10": round(base, 4),
                     "ndcg@10_reranked": round(rerank, 4)}
        for kind in ("left_out", "nonsense", "off_topic"):
            idx = [i for i, s in enumerate(samples) if s.kind == kind]
            row[f"abstain_{kind}"] = round(sum(kept[i] == 0 for i in idx) / max(len(idx), 1), 4)
        row["answered"] = round(sum(kept[i] > 0 for i in answerable) / max(len(answerable), 1), 4)
        row["ndcg@10_cut"] = round(float(np.mean([ndcg(samples[i], samples[i].articles[:kept[i]])
                                                  for i in answerable])), 4)
        rows.append(row)
    return rows


def format_thresholds(rows: list[dict]) -> str:
    """The threshold table in Markdown."""
    lines = ["| min_relevance | abstain left-out | abstain nonsense | abstain off-topic | "
             "answered | nDCG@10 | cut nDCG@10 |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['threshold']:.3f} | {100 * r['abstain_left_out']:.1f}% | "
                     f"{100 * r['abstain_nonsense']:.1f}% | {100 * r['abstain_off_topic']:.1f}% | "
                     f"{100 * r['answered']:.1f}% | {r['ndcg@10']:.4f} | {r['ndcg@10_cut']:.4f} |")
    return "\n".join(lines)


def run_calibration(eval_dir: Path, names: list[str], settings: Settings, index_root: Path,
                    out: Path, leave_out_fraction: float = 0.2, limit: int | None = None,
                    progress: bool = True) -> str:
    """Fit on every set, write the model to ``out``; the report (Markdown) as text."""
    def log(msg: str) -> None:
        if progress:
            print(msg, file=sys.stderr, flush=True)

    per_set = {n: collect(eval_dir, n, settings, index_root, leave_out_fraction, limit, log,
                          quiet=not progress) for n in names}
    return fit_and_write(per_set, out, {"leave_out_fraction": leave_out_fraction, "limit": limit,
                                        "candidates": settings.candidates})


def fit_and_write(per_set: dict[str, list[QuerySample]], out: Path, meta: dict) -> str:
    """Fit on every set's samples, write the model file; the report (Markdown)."""
    names = list(per_set)
    everything = [s for samples in per_set.values() for s in samples]
    model = fit_model(everything)
    report = [f"## fitted on {', '.join(names)}: {len(everything)} queries, "
              f"{sum(int(s.labels.sum()) for s in everything)} positives"]
    tables = {}
    for name, samples in per_set.items():
        tables[name] = threshold_table(model, samples)
        report += [f"\n### {name} (in-sample)", format_thresholds(tables[name])]
        others = [s for n, ss in per_set.items() if n != name for s in ss]
        if others:
            held_out = threshold_table(fit_model(others), samples)
            report += [f"\n### {name}, model fitted on the other set(s) only",
                       format_thresholds(held_out)]
    first = tables[names[0]][0]
    report.append(f"\nnDCG@10 if reranked by relevance ({names[0]}): "
                  f"{first['ndcg@10_reranked']:.4f} (ranking as is: {first['ndcg@10']:.4f})")
    payload = {"features": list(FEATURES), "models": model.coefficients,
               "fit": {"sets": names, **meta, "queries": len(everything), "l2": L2,
                       "positives": int(sum(s.labels.sum() for s in everything)),
                       "rows": int(sum((s.weights > 0).sum() for s in everything))},
               "thresholds": tables}
    out.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return "\n".join(report)
