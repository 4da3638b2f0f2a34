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
from dataclasses import dataclass, field
from pathlib import Path

from indexer.article import Article
from indexer.cleaning import normalize_unicode
from indexer.db import IndexDB
from indexer.encoders import Encoder, create_encoder
from indexer.errors import InputError, QueryError
from indexer.progress import indexing_callback, reporter
from indexer.settings import Settings
from indexer.vietnamese import fold

from ..retrieval import Searcher, SearchRequest
from ..retrieval.dense import QueryVectorCache
from ..retrieval.request import normalize_query
from .abstention import OFF_TOPIC, leave_out_ids, nonsense_queries


@dataclass
class EvalQuery:
    """One evaluation query: its id, text, relevant input ids and answer spans."""

    qid: str
    query: str
    relevant: list[str]
    answers: list[dict]


@dataclass
class EvalRow:
    """Metrics of one mode (article metrics over the answerable queries)."""

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
    #: The cut-off applied for the rates below and ``ndcg10_cut``.
    min_relevance: float = 0.0
    #: nDCG@10 of the answerable queries once hits under ``min_relevance`` are cut.
    ndcg10_cut: float | None = None
    #: Answerable queries that kept at least one result at ``min_relevance``.
    answered_rate: float | None = None
    #: Queries whose article was left out (``--leave-out``) that got 0 results.
    abstain_rate: float | None = None
    #: Nonsense strings / off-topic questions that got 0 results (with ``--leave-out``).
    nonsense_abstain_rate: float | None = None
    offtopic_abstain_rate: float | None = None
    left_out_queries: int = 0
    #: Share of the queries with answer offsets where one of the passages returned by
    #: ``endpoint`` (``/search`` or ``/retrieve``, k=``answer_k``, defaults) holds an answer.
    answer_recall: float | None = None
    endpoint: str = "search"
    answer_k: int = 5

    def as_json(self) -> dict:
        """The row as ``vnsearch eval --json`` prints it (metrics rounded to 4 places)."""
        def r4(x: float | None) -> float | None:
            return None if x is None else round(x, 4)

        return {"mode": self.mode, "ndcg@10": round(self.ndcg10, 4), "mrr@10": round(self.mrr10, 4),
                "recall@1": round(self.recall1, 4), "recall@10": round(self.recall10, 4),
                "recall@100": round(self.recall100, 4),
                "passage_recall@10": r4(self.passage_recall10),
                "queries": self.queries, "qps": round(self.qps, 2), "toneless": self.toneless,
                "min_relevance": self.min_relevance, "ndcg@10_cut": r4(self.ndcg10_cut),
                "answered_rate": r4(self.answered_rate), "abstain_rate": r4(self.abstain_rate),
                "nonsense_abstain_rate": r4(self.nonsense_abstain_rate),
                "offtopic_abstain_rate": r4(self.offtopic_abstain_rate),
                "left_out_queries": self.left_out_queries, "endpoint": self.endpoint,
                f"answer_recall@{self.answer_k}": r4(self.answer_recall)}


def load_queries(path: Path, limit: int | None = None) -> list[EvalQuery]:
    """The queries of an evaluation set (JSONL: qid, query, relevant, answers), at most
    ``limit``."""
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


def all_answer_passages(db: IndexDB, queries: list[EvalQuery], external: dict[str, str],
                        raw_texts: dict[str, str]) -> dict[str, set[int]]:
    """Query id → passages holding one of its answers (public: calibration labels with it)."""
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
             progress: bool = True, encoder: Encoder | None = None, leave_out: int = 0,
             min_relevance: float | None = None, endpoint: str = "search",
             answer_k: int = 5) -> list[EvalRow]:
    """Build (or reuse) the evaluation index and measure every mode.

    ``leave_out``: index the corpus without that many of its articles (chosen by
    :func:`.abstention.leave_out_ids`); their questions then measure abstention, and the
    nonsense and off-topic queries of :mod:`.abstention` are asked too.
    ``min_relevance``: the cut-off for the rates and ``ndcg10_cut`` (default: the setting).
    """
    from indexer.readers import estimate_records
    from indexer.writer import index_articles

    encoder = encoder or create_encoder(settings)
    queries = load_queries(queries_path, limit)
    raw_texts = {a.id: a.text for a in corpus_articles(corpus_path)}
    left_out = leave_out_ids(raw_texts, leave_out)
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
            yield from (a for a in corpus_articles(corpus_path) if a.id not in left_out)
            if distractors:
                yield from distractor_articles(distractors, max_distractors)

        total = len(raw_texts) - len(left_out) + (min(estimate_records(distractors), max_distractors
                                                      or math.inf) if distractors else 0)
        with indexing_callback(settings, quiet=not progress, total=int(total)) as tick:
            summary = index_articles(index_dir, articles(), settings, encoder, batch_articles=256,
                                     progress=tick)
        log(f"index: {summary.added} articles, {summary.passages_added} passages written, "
            f"{summary.embedded} embedded (+{summary.embedded_from_cache} cached) in "
            f"{time.perf_counter() - started:.0f} s")
        searcher = Searcher(index_dir, settings, encoder)
        searcher.wait_for_lexical()  # measure what the service serves once warm
        try:
            plan = EvalPlan(queries, raw_texts, toneless, left_out, min_relevance, endpoint,
                            answer_k, quiet=not progress)
            return _measure(searcher, plan, modes, log)
        finally:
            searcher.close()
    finally:
        if tmp is not None:
            tmp.cleanup()


@dataclass
class EvalPlan:
    """What one evaluation asks: the queries, the corpus texts, and the leave-out."""

    queries: list[EvalQuery]
    raw_texts: dict[str, str]
    toneless: bool = False
    left_out: set[str] = field(default_factory=set)
    min_relevance: float | None = None
    endpoint: str = "search"
    answer_k: int = 5
    quiet: bool = True  # no progress on stderr


def ranked_with_cut(searcher: Searcher, req: SearchRequest,
                    n: int) -> tuple[list[tuple[int, float]], int]:
    """The ranked passages of a validated request and how many of them pass its
    ``min_relevance`` (a prefix: relevance never rises down the ranking)."""
    retrieval = searcher.retrieve(req, n)
    scored = searcher.score(req, retrieval, retrieval.ranked)
    ranked = scored.ranked
    cut = req.min_relevance or 0.0
    kept = sum(1 for pid, _ in ranked if scored.relevance.get(pid, 0.0) >= cut)
    return ranked, kept


def _article_ranking(ranked: list[tuple[int, float]], passage_article: dict[int, str]) -> list[str]:
    """Articles in the order of their best passage in ``ranked``."""
    ranking: dict[str, None] = {}
    for pid, _ in ranked:
        art = passage_article.get(pid)
        if art is not None:
            ranking.setdefault(art, None)
    return list(ranking)


def encode_all(searcher: Searcher, texts: list[str]) -> float:
    """Put the vectors of ``texts`` in the searcher's LRU in batches; the seconds it took."""
    t0 = time.perf_counter()
    searcher.query_cache = QueryVectorCache(len(texts) + 16)
    unique = list(dict.fromkeys(normalize_query(t) for t in texts if normalize_query(t)))
    for start in range(0, len(unique), 64):
        batch = unique[start:start + 64]
        for text, vector in zip(batch, searcher.encoder.encode_queries(batch), strict=False):
            searcher.query_cache.put(text, vector)
    return time.perf_counter() - t0


def _abstained(searcher: Searcher, texts: list[str], mode: str,
               min_relevance: float | None) -> float:
    """Share of ``texts`` that get no result at ``min_relevance``."""
    empty = 0
    for text in texts:
        try:
            req = searcher.validate(SearchRequest(query=text, k=10, mode=mode,
                                                  min_relevance=min_relevance))
            _, kept = ranked_with_cut(searcher, req, 300)
        except QueryError:  # nothing searchable in it: no results
            kept = 0
        empty += kept == 0
    return empty / len(texts) if texts else 0.0


def _measure(searcher: Searcher, plan: EvalPlan, modes: list[str],
             log: Callable[[str], None]) -> list[EvalRow]:
    """Run every query in every mode through the searcher's public API and score them."""
    with IndexDB(searcher.directory, readonly=True) as db:
        external = db.external_ids()
        if plan.left_out & set(external):
            raise InputError("the --index directory holds left-out articles: "
                             "use a fresh directory for each --leave-out")
        passage_article = db.passage_articles()
        answer_passages = all_answer_passages(db, plan.queries, external, plan.raw_texts)
    texts = [fold(q.query) if plan.toneless else q.query for q in plan.queries]
    extra = nonsense_queries() + OFF_TOPIC if plan.left_out else []
    extra = [fold(t) for t in extra] if plan.toneless else extra
    needs_vectors = any(m in ("dense", "hybrid") for m in modes)
    encode_s = encode_all(searcher, texts + extra) if needs_vectors else 0.0
    log(f"queries: {len(texts) + len(extra)} encoded in {encode_s:.1f} s")
    context = (external, passage_article, answer_passages)
    rows = []
    for mode in modes:
        t1 = time.perf_counter()
        with reporter(searcher.settings, "queries", quiet=plan.quiet, total=len(texts),
                      verb=f"{mode}: searched") as progress:
            row = _measure_mode(searcher, plan, texts, mode, context, progress.advance)
        search_s = time.perf_counter() - t1
        row.answer_recall = _answer_recall(searcher, plan, texts, mode, answer_passages)
        row.endpoint, row.answer_k = plan.endpoint, plan.answer_k
        row.qps = len(texts) / (search_s + (encode_s if mode != "lexical" else 0.0))
        if plan.left_out:
            n_nonsense = len(nonsense_queries())
            row.nonsense_abstain_rate = _abstained(searcher, extra[:n_nonsense], mode,
                                                   plan.min_relevance)
            row.offtopic_abstain_rate = _abstained(searcher, extra[n_nonsense:], mode,
                                                   plan.min_relevance)
        rows.append(row)
        log(f"{mode}: done in {search_s:.1f} s")
    return rows


def _measure_mode(searcher: Searcher, plan: EvalPlan, texts: list[str], mode: str,
                  context: tuple[dict[str, str], dict[int, str], dict[str, set[int]]],
                  tick: Callable[[], None] | None = None) -> EvalRow:
    """The metrics of one mode (``qps`` is filled in by the caller); ``tick()`` per query."""
    external, passage_article, answer_passages = context
    sums = {"ndcg10": 0.0, "mrr10": 0.0, "recall1": 0.0, "recall10": 0.0, "recall100": 0.0}
    p_hits, p_total, cut_sum = 0.0, 0, 0.0
    answered, answerable, abstained, unanswerable = 0, 0, 0, 0
    min_relevance = 0.0
    for q, text in zip(plan.queries, texts, strict=False):
        if tick:
            tick()
        relevant = {external[r] for r in q.relevant if r in external}
        try:
            req = searcher.validate(SearchRequest(query=text, k=10, mode=mode,
                                                  min_relevance=plan.min_relevance))
            min_relevance = req.min_relevance or 0.0
            ranked, kept = ranked_with_cut(searcher, req, 300)
        except Exception:  # an unsearchable query (e.g. only punctuation) scores 0
            ranked, kept = [], 0
        if not relevant:
            if all(r in plan.left_out for r in q.relevant):
                unanswerable += 1
                abstained += kept == 0
            continue
        answerable += 1
        answered += kept > 0
        ranking = _article_ranking(ranked, passage_article)
        for key, value in article_metrics(ranking, relevant).items():
            sums[key] += value
        cut_sum += article_metrics(_article_ranking(ranked[:kept], passage_article),
                                   relevant)["ndcg10"]
        wanted = answer_passages[q.qid]
        if wanted:
            p_hits += 1.0 if {pid for pid, _ in ranked[:10]} & wanted else 0.0
            p_total += 1
    n = max(len(plan.queries) - unanswerable, 1)
    return EvalRow(mode=mode, ndcg10=sums["ndcg10"] / n, mrr10=sums["mrr10"] / n,
                   recall1=sums["recall1"] / n, recall10=sums["recall10"] / n,
                   recall100=sums["recall100"] / n,
                   passage_recall10=(p_hits / p_total) if p_total else None,
                   queries=n, qps=0.0, toneless=plan.toneless, min_relevance=min_relevance,
                   ndcg10_cut=cut_sum / n, answered_rate=answered / max(answerable, 1),
                   abstain_rate=(abstained / unanswerable) if plan.left_out else None,
                   left_out_queries=unanswerable)


def _answer_recall(searcher: Searcher, plan: EvalPlan, texts: list[str], mode: str,
                   answer_passages: dict[str, set[int]]) -> float | None:
    """Answer-passage recall@k of the endpoint's own answer (None without answer offsets)."""
    from ..rag import RetrieveRequest, retrieve

    hits = total = 0
    for q, text in zip(plan.queries, texts, strict=False):
        if not answer_passages.get(q.qid):
            continue
        total += 1
        try:
            if plan.endpoint == "retrieve":
                got = {p.passage_id for p in retrieve(searcher, RetrieveRequest.of(dict(
                    q=text, k=plan.answer_k, mode=mode,
                    min_relevance=plan.min_relevance))).passages}
            else:
                got = {h.passage_id for h in searcher.search(SearchRequest(
                    query=text, k=plan.answer_k, mode=mode,
                    min_relevance=plan.min_relevance)).results}
        except Exception:  # an unsearchable query scores 0, as above
            got = set()
        hits += bool(got & answer_passages[q.qid])
    return hits / total if total else None
