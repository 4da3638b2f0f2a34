"""Training rows for ``vnsearch rank-fit``: every query of every dev set, run once, with the
raw columns (:mod:`search_api.retrieval.features`) of all its candidates and their labels.

Sets and their kinds (each query also run toneless, kind ``<kind>_toneless``):

* a question-answering set ``<dir>/<name>.jsonl`` + ``<name>.corpus.jsonl`` (vinewsqa-dev,
  vicoqa-turn1): kind ``qa``; indexed without a fixed share of its articles
  (:func:`.abstention.leave_out_ids`), whose questions become kind ``left_out``; the
  nonsense and off-topic queries of :mod:`.abstention` are run on this index too;
* a set over the news corpora (``data/eval/keyword-dev.jsonl``, ``topic-dev.jsonl``): kind
  ``keyword`` / ``topic`` (a ``grades`` object: article id → 0/1/2), searched in one index of
  the news files they were written on.

Labels per candidate passage: its article's grade (a relevant article 1, a graded article
its grade; in a QA set a passage holding the answer span 2). Rows are cached per set
(pickle in the index root), so refits do not search again.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from indexer.db import IndexDB
from indexer.settings import Settings
from indexer.vietnamese import strip_tones_query

from ..retrieval import Searcher, SearchRequest
from ..retrieval.features import QueryInfo, raw_candidates
from .abstention import OFF_TOPIC, leave_out_ids, nonsense_queries
from .evaluation import all_answer_passages, corpus_articles, encode_all, load_queries

#: Kinds whose queries have a relevant article (the others must find nothing).
ANSWERABLE = ("qa", "keyword", "topic")


@dataclass
class QueryRows:
    """One query's candidates (in the fused order) with raw columns and labels."""

    set_name: str
    kind: str
    text: str
    fold_key: str              #: queries sharing it stay in one fold (same article)
    pids: np.ndarray           #: candidate passage ids, fused order
    raw: np.ndarray            #: len(pids) × len(RAW)
    fused: np.ndarray          #: fused scores
    dense: np.ndarray          #: dense ranking as indices into pids
    dense_scores: np.ndarray
    lexical: np.ndarray        #: lexical ranking as indices into pids
    lexical_scores: np.ndarray
    articles: list[str]
    grades: np.ndarray         #: label per candidate (0, 1, 2)
    query: QueryInfo
    relevant: dict[str, int]   #: article → grade, for nDCG (grade ≥ 1 only)


def _fold_key(relevant: dict[str, int], text: str) -> str:
    best = sorted(relevant, key=lambda a: (-relevant[a], a))
    return best[0] if best else hashlib.md5(text.encode()).hexdigest()


def query_rows(searcher: Searcher, db: IndexDB, set_name: str, kind: str, text: str,
               relevant: dict[str, int], answers: set[int], passage_article: dict[int, str],
               fold_key: str) -> QueryRows:
    """Search ``text`` (hybrid, the service's candidate count) and label the candidates."""
    req = searcher.validate(SearchRequest(query=text, mode="hybrid"))
    retrieval = searcher.retrieve(req, searcher.settings.candidates)
    pids = [pid for pid, _ in retrieval.ranked]
    raw = raw_candidates(retrieval, pids, db, max(len(searcher.snapshot.vectors), 1),
                         db.fts_doc_freqs)
    where = {pid: i for i, pid in enumerate(pids)}
    articles = [passage_article.get(pid, "") for pid in pids]
    grades = np.array([2 if pid in answers else relevant.get(art, 0)
                       for pid, art in zip(pids, articles, strict=True)], np.int32)

    def order(ranking: list[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray]:
        kept = [(where[p], s) for p, s in ranking if p in where]
        return (np.array([i for i, _ in kept], np.int64), np.array([s for _, s in kept]))

    dense, dense_scores = order(retrieval.dense)
    lexical, lexical_scores = order(retrieval.lexical)
    return QueryRows(set_name, kind, text, fold_key, np.array(pids, np.int64), raw.matrix,
                     np.array([s for _, s in retrieval.ranked]), dense, dense_scores, lexical,
                     lexical_scores, articles, grades, raw.query,
                     {a: g for a, g in relevant.items() if g >= 1})


def _with_toneless(kind: str, text: str) -> list[tuple[str, str]]:
    folded = strip_tones_query(text)
    return [(kind, text)] + ([(f"{kind}_toneless", folded)] if folded != text else [])


#: One query to run: (kind, text, relevant article → grade, answer passages, fold key).
Job = tuple[str, str, dict[str, int], set[int], str]


def _run_jobs(index_dir: Path, settings: Settings, encoder: Any, name: str,
              make_jobs: Callable[[IndexDB], list[Job]],
              log: Callable[[str], None]) -> list[QueryRows]:
    """Open ``index_dir`` once, make the jobs from its database (ids are the index's), embed
    every query in batches and collect each job's rows."""
    searcher = Searcher(index_dir, settings, encoder, lexical_matrix=False)
    out: list[QueryRows] = []
    try:
        with IndexDB(index_dir, readonly=True) as db:
            passage_article = db.passage_articles()
            jobs = make_jobs(db)
            encode_all(searcher, [j[1] for j in jobs])
            for i, (kind, text, rel, ans, key) in enumerate(jobs):
                out.append(query_rows(searcher, db, name, kind, text, rel, ans,
                                      passage_article, key))
                if i % 500 == 0:
                    log(f"{name}: {i}/{len(jobs)} queries")
    finally:
        searcher.close()
    return out


def qa_rows(eval_dir: Path, name: str, settings: Settings, index_root: Path,
            leave_out_fraction: float, log: Callable[[str], None]) -> list[QueryRows]:
    """The rows of a question-answering set (indexed without its left-out articles)."""
    from indexer.encoders import create_encoder
    from indexer.writer import index_articles

    queries = load_queries(eval_dir / f"{name}.jsonl")
    corpus = eval_dir / f"{name}.corpus.jsonl"
    raw_texts = {a.id: a.text for a in corpus_articles(corpus)}
    left_out = leave_out_ids(raw_texts, round(leave_out_fraction * len(raw_texts)))
    index_dir = index_root / f"{name}-lo{len(left_out)}"
    encoder = create_encoder(settings)
    if not (index_dir / "manifest.json").exists():
        index_articles(index_dir, (a for a in corpus_articles(corpus) if a.id not in left_out),
                       settings, encoder, batch_articles=256)

    def make_jobs(db: IndexDB) -> list[Job]:
        external = db.external_ids()
        answers = all_answer_passages(db, queries, external, raw_texts)
        jobs: list[Job] = []
        for q in queries:
            kind = "left_out" if all(r in left_out for r in q.relevant) else "qa"
            rel = {external[r]: 1 for r in q.relevant if r in external}
            key = q.relevant[0] if q.relevant else q.qid
            for k, text in _with_toneless(kind, q.query):
                jobs.append((k.replace("left_out_toneless", "left_out"), text, rel,
                             answers.get(q.qid, set()), key))
        jobs += [("nonsense", t, {}, set(), t) for t in nonsense_queries()]
        return jobs + [("off_topic", t, {}, set(), t) for t in OFF_TOPIC]

    return _run_jobs(index_dir, settings, encoder, name, make_jobs, log)


def news_rows(path: Path, index_dir: Path, settings: Settings,
              log: Callable[[str], None]) -> list[QueryRows]:
    """The rows of a keyword or topic set (``path``) searched in the news index."""
    from indexer.encoders import create_encoder

    name = path.name.removesuffix(".jsonl")
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
               if line.strip()]

    def make_jobs(db: IndexDB) -> list[Job]:
        external = db.external_ids()
        jobs: list[Job] = []
        for rec in records:
            graded = rec.get("grades") or {r: 1 for r in rec["relevant"]}
            rel = {external[a]: int(g) for a, g in graded.items() if a in external}
            kind = "topic" if "grades" in rec else "keyword"
            key = rec["qid"] if kind == "topic" else rec.get("target", rec["relevant"][0])
            jobs += [(k, t, rel, set(), key) for k, t in _with_toneless(kind, rec["query"])]
        return jobs

    return _run_jobs(index_dir, settings, create_encoder(settings), name, make_jobs, log)


def cached(path: Path, build: Callable[[], list[QueryRows]]) -> list[QueryRows]:
    """``build()``'s rows, pickled at ``path`` (reused when present)."""
    if path.exists():
        with path.open("rb") as handle:
            return list(pickle.load(handle))
    rows = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        pickle.dump(rows, handle)
    return rows
