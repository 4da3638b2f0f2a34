"""Query operators (README "Query operators"): candidate widening and the evaluation guard.

    # results / median ms per query at OPERATOR_CANDIDATE_FACTOR 1, 2, 4 (min_relevance 0)
    .venv/bin/python bench/operators.py candidates --index DIR
    # nDCG@10 change caused by the operators' ranked text, on an index built by
    # `vnsearch eval … --index DIR` (only the questions whose text the parser changes are run)
    .venv/bin/python bench/operators.py eval-delta ../shared/data/eval/vinewsqa-dev.jsonl --index DIR [--toneless]

The index's model must be the one the settings resolve (set VNSEARCH_ENCODER_BACKEND=torch
and VNSEARCH_HOME for an index built by the test suite).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path

from indexer.db import IndexDB
from indexer.encoders import create_encoder
from indexer.settings import Settings
from indexer.vietnamese import fold
from search_api.quality.evaluation import article_metrics
from search_api.retrieval import SearchRequest, Searcher
from search_api.retrieval import operators
from search_api.retrieval.request import normalize_query

QUERIES = ['giá vàng -Mỹ', 'kinh tế -"Việt Nam"', 'Covid-19 -"Hà Nội"', 'bệnh viện -covid',
           '"ngân hàng" lãi suất', '"Trung Quốc" ô tô', '"tai nạn" giao thông',
           '"thi hành án" -"Gia Lai"']


def candidates(searcher: Searcher) -> None:
    """A Markdown table: results and median latency per query at each candidate factor."""
    factors = (1, 2, 4)
    print("| query | " + " | ".join(f"×{f}" for f in factors) + " |")
    print("|---" * (len(factors) + 1) + "|")
    for q in QUERIES:
        cells = []
        for factor in factors:
            operators.OPERATOR_CANDIDATE_FACTOR = factor
            req = SearchRequest(query=q, k=10, min_relevance=0.0)
            searcher.search(req)  # warm the query vector
            times, total = [], 0
            for _ in range(3):
                t0 = time.perf_counter()
                total = searcher.search(req).total
                times.append((time.perf_counter() - t0) * 1000)
            cells.append(f"{total} / {statistics.median(times):.0f} ms")
        print(f"| `{q}` | " + " | ".join(cells) + " |")


def eval_delta(searcher: Searcher, queries: Path, toneless: bool) -> None:
    """nDCG@10 of each mode with and without operator parsing, over the questions whose
    ranked text the parser changes, reported as a change of the whole set's mean."""
    with IndexDB(searcher.directory, readonly=True) as db:
        external, passage_article = db.external_ids(), db.passage_articles()
    rows = [json.loads(line) for line in queries.open(encoding="utf-8")]

    def ranking(req: SearchRequest) -> list[str]:
        seen: dict[str, None] = {}
        for pid, _ in searcher.ranked_passages(req, 300):
            if pid in passage_article:
                seen.setdefault(passage_article[pid])
        return list(seen)

    for mode in ("hybrid", "dense", "lexical"):
        delta, changed = 0.0, 0
        for row in rows:
            text = fold(row["query"]) if toneless else row["query"]
            if operators.parse_operators(normalize_query(text)).text == normalize_query(text):
                continue
            relevant = {external[r] for r in row["relevant"] if r in external}
            req = searcher.validate(SearchRequest(query=text, k=10, mode=mode))
            old = article_metrics(ranking(dataclasses.replace(req, operators=None)), relevant)
            new = article_metrics(ranking(req), relevant)
            delta += new["ndcg10"] - old["ndcg10"]
            changed += 1
            if new["ndcg10"] != old["ndcg10"]:
                print(f"  {mode}: {old['ndcg10']:.3f} -> {new['ndcg10']:.3f}  {text}")
        print(f"{mode}{' toneless' if toneless else ''}: {changed} of {len(rows)} questions "
              f"change text; nDCG@10 change {delta / len(rows):+.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["candidates", "eval-delta"])
    parser.add_argument("queries", nargs="?", type=Path)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--toneless", action="store_true")
    args = parser.parse_args()
    settings = Settings()
    searcher = Searcher(args.index, settings, create_encoder(settings), lexical_matrix=False)
    try:
        if args.what == "candidates":
            candidates(searcher)
        else:
            eval_delta(searcher, args.queries, args.toneless)
    finally:
        searcher.close()


if __name__ == "__main__":
    main()
