"""The k-fold figures of ``vnsearch rank-fit`` (:mod:`.rank_fit`): nDCG@10 per set and
kind, calibration per kind, the cost of each cut-off; and the final refit."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from ..retrieval.relevance import running_min
from .rank_data import ANSWERABLE, QueryRows
from .rank_fit import (
    FOLDS,
    MODES,
    THRESHOLDS,
    Hits,
    expected_calibration_error,
    fit_ranker,
    fit_relevance,
    fold_of,
    ndcg10,
    out_of_fold_ranker,
    reliability,
    shown_hits,
    write_check_slice,
    write_model,
)


def _answerable(kind: str) -> bool:
    return kind.removesuffix("_toneless") in ANSWERABLE


def _oof_relevance(rows: list[QueryRows], hits: list[Hits], mode: str) -> list[np.ndarray]:
    """Each query's shown hits scored by a relevance model fitted without its fold, then
    the running minimum (as served)."""
    folds = [fold_of(q) for q in rows]
    kinds = [q.kind for q in rows]
    out: list[np.ndarray] = [np.zeros(0)] * len(rows)
    for f in range(FOLDS):
        train = [i for i, g in enumerate(folds) if g != f]
        model = fit_relevance([hits[i] for i in train], [kinds[i] for i in train], mode)
        for i, g in enumerate(folds):
            if g == f and len(hits[i].y):
                out[i] = running_min(np.asarray(model.predict(hits[i].x)))  # type: ignore[attr-defined]
    return out


def _ndcg_table(rows: list[QueryRows], oof: list[np.ndarray]) -> dict[str, dict[str, float]]:
    """(set, kind) → nDCG@10 of fusion, learned (k-fold), dense, lexical."""
    acc: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for q, scores in zip(rows, oof, strict=True):
        if not q.relevant or not _answerable(q.kind):
            continue
        key = f"{q.set_name} / {q.kind}"
        acc[key]["fusion"].append(ndcg10(q.articles, q.relevant))
        order = np.argsort(-scores, kind="stable")
        acc[key]["learned"].append(ndcg10([q.articles[i] for i in order], q.relevant))
        for mode, idx in (("dense", q.dense), ("lexical", q.lexical)):
            acc[key][mode].append(ndcg10([q.articles[i] for i in idx], q.relevant))
    return {k: {m: round(float(np.mean(v)), 4) for m, v in d.items()}
            | {"queries": len(d["fusion"])} for k, d in sorted(acc.items())}


def _calibration(rows: list[QueryRows], hits: list[Hits], probs: list[np.ndarray],
                 top: int = 10) -> dict[str, dict]:
    """Per kind: ECE and reliability points over the top ``top`` shown hits."""
    by_kind: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    for q, h, p in zip(rows, hits, probs, strict=True):
        if len(h.y):
            by_kind[q.kind][0].append(p[:top])
            by_kind[q.kind][1].append(h.y[:top])
    out = {}
    for kind, (ps, ys) in sorted(by_kind.items()):
        p, y = np.concatenate(ps), np.concatenate(ys)
        out[kind] = {"ece": round(expected_calibration_error(p, y), 4), "hits": len(p),
                     "mean_predicted": round(float(p.mean()), 4),
                     "share_relevant": round(float(y.mean()), 4), "bins": reliability(p, y)}
    return out


def _cuts(rows: list[QueryRows], hits: list[Hits], probs: list[np.ndarray]) -> list[dict]:
    """Per threshold: nDCG@10 each answerable kind loses to the cut; abstention (no hit
    left) on left-out, nonsense and off-topic queries."""
    table = []
    for t in THRESHOLDS:
        loss: dict[str, list[float]] = defaultdict(list)
        abstain: dict[str, list[bool]] = defaultdict(list)
        for q, h, p in zip(rows, hits, probs, strict=True):
            kept = int((p >= t).sum()) if len(p) else 0
            if _answerable(q.kind) and q.relevant:
                loss[q.kind].append(ndcg10(h.articles, q.relevant)
                                    - ndcg10(h.articles[:kept], q.relevant))
            elif not q.relevant:
                abstain[q.kind.removesuffix("_toneless")].append(kept == 0)
        table.append({"threshold": t,
                      **{f"loss_{k}": round(float(np.mean(v)), 4) for k, v in sorted(loss.items())},
                      **{f"abstain_{k}": round(float(np.mean(v)), 4)
                         for k, v in sorted(abstain.items())}})
    return table


def choose_threshold(cuts: list[dict], max_loss: float = 0.005) -> float:
    """The highest threshold at which no kind loses more than ``max_loss`` nDCG@10."""
    ok = [r["threshold"] for r in cuts
          if all(v <= max_loss for k, v in r.items() if k.startswith("loss_"))]
    return max(ok) if ok else 0.0


def kfold_and_refit(rows: list[QueryRows], out_dir: Path, plots: Path | None,
                    check_slice: Path | None = None) -> dict:
    """The k-fold report (also written into ``learned_model.json``) and the refit models."""
    oof = out_of_fold_ranker(rows)
    report: dict = {"queries": len(rows), "folds": FOLDS, "ndcg10": _ndcg_table(rows, oof)}
    final_relevance = {}
    for mode in MODES:
        hits = [shown_hits(q, mode, s if mode == "hybrid" else None)
                for q, s in zip(rows, oof, strict=True)]
        probs = _oof_relevance(rows, hits, mode)
        report[f"calibration_{mode}"] = _calibration(rows, hits, probs)
        report[f"cuts_{mode}"] = _cuts(rows, hits, probs)
        final_relevance[mode] = fit_relevance(hits, [q.kind for q in rows], mode)
        if plots is not None:
            from .reliability_plot import plot_reliability

            plot_reliability(report[f"calibration_{mode}"], plots / f"reliability-{mode}.png",
                             f"{mode}: P(relevant) vs share relevant, 5-fold")
    report["min_relevance"] = min(choose_threshold(report[f"cuts_{m}"]) for m in MODES)
    ranker = fit_ranker([q for q in rows if q.relevant])
    if check_slice is not None:
        report["check_slice_ndcg10"] = write_check_slice(ranker, rows, check_slice)
    write_model(ranker, final_relevance, report, out_dir)
    return report


def collect_rows(eval_dir: Path, qa_sets: list[str], dev_sets: list[Path],
                 news_index: Path | None, settings: object, index_root: Path,
                 log: object) -> list[QueryRows]:
    """Every set's rows (cached under ``index_root``): the QA sets of ``eval_dir`` and the
    keyword/topic sets ``dev_sets`` searched in ``news_index``."""
    from .rank_data import cached, news_rows, qa_rows

    rows: list[QueryRows] = []
    for name in qa_sets:
        rows += cached(index_root / f"rows-{name}.pkl", lambda n=name: qa_rows(  # type: ignore[misc]
            eval_dir, n, settings, index_root, 0.2, log))  # type: ignore[arg-type]
    for path in dev_sets:
        if news_index is None:
            raise ValueError("--news-index is required for keyword and topic sets")
        rows += cached(index_root / f"rows-{path.stem}.pkl", lambda p=path: news_rows(  # type: ignore[misc]
            p, news_index, settings, log))  # type: ignore[arg-type]
    return rows


def format_report(report: dict) -> str:
    """The k-fold report in Markdown (nDCG@10, calibration, the chosen cut)."""
    lines = ["| set / kind | queries | fusion | learned | dense | lexical |",
             "|---|---|---|---|---|---|"]
    for key, r in report["ndcg10"].items():
        lines.append(f"| {key} | {r['queries']} | {r['fusion']:.4f} | {r['learned']:.4f} | "
                     f"{r['dense']:.4f} | {r['lexical']:.4f} |")
    for mode in MODES:
        lines += ["", f"Calibration ({mode}, top-10 hits, 5-fold):", "",
                  "| kind | hits | mean relevance | share relevant | ECE |",
                  "|---|---|---|---|---|"]
        for kind, c in report[f"calibration_{mode}"].items():
            lines.append(f"| {kind} | {c['hits']} | {c['mean_predicted']:.3f} | "
                         f"{c['share_relevant']:.3f} | {c['ece']:.4f} |")
        cuts = report[f"cuts_{mode}"]
        keys = [k for k in cuts[0] if k != "threshold"]
        lines += ["", f"Cut-offs ({mode}): nDCG@10 lost per kind, abstention", "",
                  "| min_relevance | " + " | ".join(keys) + " |",
                  "|---|" + "---|" * len(keys)]
        for r in cuts:
            cells = " | ".join(f"{r[k]:.4f}" for k in keys)
            lines.append(f"| {r['threshold']} | {cells} |")
    lines += ["", f"Chosen default min_relevance: {report['min_relevance']}"]
    return "\n".join(lines)
