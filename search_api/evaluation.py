"""``vnsearch eval``: retrieval quality on an evaluation set (format of ../shared/data/eval).

Builds an index of the corpus (+ optional news distractors) with the normal write path
(so the embedding cache makes rebuilds cheap), runs every query through the normal
search path and reports, at article level, nDCG@10, MRR@10 and Recall@1/10/100, plus
passage-level Recall@10 where the set gives answer offsets: the relevant passages are
those overlapping the answer span, located in the cleaned article text.

Query vectors are computed in batches before the timed search loop; ``qps`` counts
both (batch encoding time + retrieval time).
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from indexer.article import Article
from indexer.cleaning import normalize_unicode
from indexer.encoders import Encoder, create_encoder
from indexer.settings import Settings
from indexer.vietnamese import fold

from indexer.db import IndexDB

from .retrieval import SearchRequest, Searcher
from .retrieval.dense import QueryVectorCache
from .retrieval.request import normalize_query


@dataclass
class EvalQuery:
    """One evaluation query: its id, text, relevant input ids and answer spans."""

    qid: str
    query: str
    relevant: list[str]
    answers: list[dict]


@dataclass
class EvalRow:
    """Metrics of one mode."""

    mode: str
    ndcg10: float
    mrr10: float
    recall1: float
    recall10: float
    recall100: float
    passage_recall10: float | None
    queries: int
    qps: float
    toneless: bool = False

    def as_json(self) -> dict:
        """The row as ``vnsearch eval --json`` prints it (metrics rounded to 4 places)."""
        return {"mode": self.mode, "ndcg@10": round(self.ndcg10, 4), "mrr@10": round(self.mrr10, 4),
                "recall@1": round(self.recall1, 4), "recall@10": round(self.recall10, 4),
                "recall@100": round(self.recall100, 4),
                "passage_recall@10": None if self.passage_recall10 is None
                else round(self.passage_recall10, 4),
                "queries": self.queries, "qps": round(self.qps, 2), "toneless": self.toneless}


def load_queries(path: Path, limit: int | None = None) -> list[EvalQuery]:
    """The queries of an evaluation set (JSONL: qid, query, relevant, answers), at most ``limit``."""
    out: list[EvalQuery] = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            rec = json.loads(line)
            out.append(EvalQuery(str(rec["qid"]), rec["query"], [str(r) for r in rec["relevant"]],
                                 rec.get("answers") or []))
            if limit and len(out) >= limit:
                break
    return out


def corpus_articles(path: Path) -> Iterator[Article]:
    """The articles of an evaluation corpus (JSONL), ids kept as given."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                rec = json.loads(line)
                yield Article(id=str(rec["id"]), title=rec.get("title"), text=rec["text"],
                              url=rec.get("url"), source=rec.get("source"),
                              published=rec.get("published"), category=rec.get("category"))


def distractor_articles(paths: list[Path], limit: int | None) -> Iterator[Article]:
    """Up to ``limit`` articles of news files (any input format), added as distractors."""
    from indexer.readers import iter_inputs

    n = 0
    for item in iter_inputs(paths):
        if isinstance(item, Article):
            if limit is not None and n >= limit:
                return
            n += 1
            yield item


def dcg(relevant_ranks: list[int]) -> float:
    """Discounted cumulative gain of relevant items at these 1-based ranks."""
    return sum(1.0 / math.log2(r + 1) for r in relevant_ranks)


def article_metrics(ranking: list[str], relevant: set[str]) -> dict[str, float]:
    """nDCG@10, MRR@10, Recall@1/10/100 of one ranked article list (binary relevance)."""
    ranks = [i + 1 for i, a in enumerate(ranking[:100]) if a in relevant]
    top10 = [r for r in ranks if r <= 10]
    ideal = dcg(list(range(1, min(len(relevant), 10) + 1)))
    return {
        "ndcg10": dcg(top10) / ideal if ideal else 0.0,
        "mrr10": 1.0 / top10[0] if top10 else 0.0,
        "recall1": sum(1 for r in ranks if r <= 1) / len(relevant),
        "recall10": len(top10) / len(relevant),
        "recall100": len(ranks) / len(relevant),
    }


def _answer_passages(db: IndexDB, article_id: str, raw_text: str,
                     answers: list[dict]) -> set[int]:
    """Passage ids of ``article_id`` that contain an answer span (located after cleaning)."""
    clean = db.article_text(article_id)
    if clean is None:
        return set()
    passages = [(p.id, p.start, p.end) for p in db.passage_spans(article_id)]
    out: set[int] = set()
    for answer in answers:
        needle = " ".join(normalize_unicode(answer.get("text") or "").split())
        if not needle or answer.get("start") is None:
            continue
        # Cleaning may shift offsets: take the occurrence nearest the original relative spot.
        expected = answer["start"] * len(clean) / max(len(raw_text), 1)
        best, pos = None, clean.find(needle)
        while pos != -1:
            if best is None or abs(pos - expected) < abs(best - expected):
                best = pos
            pos = clean.find(needle, pos + 1)
        if best is None:
            continue
        for pid, start, end in passages:
            if start < best + len(needle) and best < end:
                out.add(pid)
    return out


def _all_answer_passages(db: IndexDB, queries: list[EvalQuery], external: dict[str, str],
                         raw_texts: dict[str, str]) -> dict[str, set[int]]:
    """Query id → the passages holding one of its answers (empty without answer offsets)."""
    answer_passages: dict[str, set[int]] = {}
    for q in queries:
        ids: set[int] = set()
        for rel in q.relevant:
            art = external.get(rel)
            if art and q.answers:
                ids |= _answer_passages(db, art, raw_texts.get(rel, ""), q.answers)
        answer_passages[q.qid] = ids
    return answer_passages


def run_eval(queries_path: Path, corpus_path: Path, distractors: list[Path], settings: Settings,
             modes: list[str], toneless: bool = False, max_distractors: int | None = None,
             limit: int | None = None, index_dir: Path | None = None,
             progress: bool = True, encoder: Encoder | None = None) -> list[EvalRow]:
    """Build (or reuse) the evaluation index and measure every mode."""
    from indexer.writer import index_articles

    encoder = encoder or create_encoder(settings)
    queries = load_queries(queries_path, limit)
    raw_texts = {a.id: a.text for a in corpus_articles(corpus_path)}
    tmp = None
    if index_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="vnsearch-eval-")
        index_dir = Path(tmp.name) / "index"

    def log(msg: str) -> None:
        if progress:
            print(msg, file=sys.stderr, flush=True)

    try:
        started = time.perf_counter()

        def articles() -> Iterator[Article]:
            yield from corpus_articles(corpus_path)
            if distractors:
                yield from distractor_articles(distractors, max_distractors)

        summary = index_articles(index_dir, articles(), settings, encoder, batch_articles=256)
        log(f"index: {summary.added} articles, {summary.passages_added} passages written, "
            f"{summary.embedded} embedded (+{summary.embedded_from_cache} cached) in "
            f"{time.perf_counter() - started:.0f} s")
        searcher = Searcher(index_dir, settings, encoder)
        searcher.wait_for_lexical()  # measure what the service serves once warm
        try:
            return _measure(searcher, queries, raw_texts, modes, toneless, log)
        finally:
            searcher.close()
    finally:
        if tmp is not None:
            tmp.cleanup()


def _measure(searcher: Searcher, queries: list[EvalQuery], raw_texts: dict[str, str],
             modes: list[str], toneless: bool, log: Callable[[str], None]) -> list[EvalRow]:
    """Run every query in every mode through the searcher's public API and score them."""
    with IndexDB(searcher.directory, readonly=True) as db:
        external = db.external_ids()
        passage_article = db.passage_articles()
        answer_passages = _all_answer_passages(db, queries, external, raw_texts)
    texts = [fold(q.query) if toneless else q.query for q in queries]
    normalised = [normalize_query(t) for t in texts]

    t0 = time.perf_counter()
    searcher.query_cache = QueryVectorCache(len(queries) + 16)
    needs_vectors = any(m in ("dense", "hybrid") for m in modes)
    if needs_vectors:
        unique = list(dict.fromkeys(t for t in normalised if t))
        for start in range(0, len(unique), 64):
            batch = unique[start:start + 64]
            for text, vector in zip(batch, searcher.encoder.encode_queries(batch)):
                searcher.query_cache.put(text, vector)
    encode_s = time.perf_counter() - t0
    log(f"queries: {len(queries)} encoded in {encode_s:.1f} s")

    rows: list[EvalRow] = []
    for mode in modes:
        sums = {"ndcg10": 0.0, "mrr10": 0.0, "recall1": 0.0, "recall10": 0.0, "recall100": 0.0}
        p_hits, p_total = 0.0, 0
        t1 = time.perf_counter()
        for q, text in zip(queries, texts):
            relevant = {external[r] for r in q.relevant if r in external}
            if not relevant:
                continue
            try:
                req = searcher.validate(SearchRequest(query=text, k=10, mode=mode))
                ranked = searcher.ranked_passages(req, 300)
            except Exception:  # an unsearchable query (e.g. only punctuation) scores 0
                ranked = []
            ranking: list[str] = []
            seen: set[str] = set()
            for pid, _ in ranked:
                art = passage_article.get(pid)
                if art is not None and art not in seen:
                    seen.add(art)
                    ranking.append(art)
            for key, value in article_metrics(ranking, relevant).items():
                sums[key] += value
            wanted = answer_passages[q.qid]
            if wanted:
                top = {pid for pid, _ in ranked[:10]}
                p_hits += 1.0 if top & wanted else 0.0
                p_total += 1
        search_s = time.perf_counter() - t1
        n = len(queries)
        rows.append(EvalRow(mode=mode, ndcg10=sums["ndcg10"] / n, mrr10=sums["mrr10"] / n,
                            recall1=sums["recall1"] / n, recall10=sums["recall10"] / n,
                            recall100=sums["recall100"] / n,
                            passage_recall10=(p_hits / p_total) if p_total else None,
                            queries=n, qps=n / (search_s + (encode_s if mode != "lexical" else 0.0)),
                            toneless=toneless))
        log(f"{mode}: done in {search_s:.1f} s")
    return rows


def format_table(rows: list[EvalRow]) -> str:
    """The rows as a Markdown table (what ``vnsearch eval`` prints)."""
    head = "| mode | toneless | nDCG@10 | MRR@10 | R@1 | R@10 | R@100 | passage R@10 | queries | q/s |"
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        p = "–" if r.passage_recall10 is None else f"{r.passage_recall10:.3f}"
        lines.append(f"| {r.mode} | {'yes' if r.toneless else 'no'} | {r.ndcg10:.3f} | {r.mrr10:.3f} | "
                     f"{r.recall1:.3f} | {r.recall10:.3f} | {r.recall100:.3f} | {p} | {r.queries} | "
                     f"{r.qps:.1f} |")
    return "\n".join(lines)
