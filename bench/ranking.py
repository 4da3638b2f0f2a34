"""What the learned ranking costs per search: the same index, queries and encoder searched
with ``ranking = "fusion"`` and ``"learned"`` in one run, alternating rounds, medians.

    .venv/bin/python bench/ranking.py --index DIR --queries data/eval/keyword-dev.jsonl
    .venv/bin/python bench/ranking.py --index DIR --queries Q.jsonl --rounds 5 --limit 200

Prints per ranking the median ms of a whole search (``Searcher.search``, query vectors
cached: the encoder is the same for both and would only add noise) and of the scoring step
alone (features, ranker, relevance), and the difference learned − fusion.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from indexer.encoders import create_encoder
from indexer.settings import Settings
from search_api.retrieval import Searcher, SearchRequest


def _queries(path: Path, limit: int) -> list[str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    return [r["query"] for r in rows][:limit]


def _round(searcher: Searcher, queries: list[str], k: int) -> tuple[float, float]:
    """Median ms of a search and of its scoring step over ``queries``."""
    whole, scoring = [], []
    for q in queries:
        req = searcher.validate(SearchRequest(query=q, k=k))
        retrieval = searcher.retrieve(req, searcher.settings.candidates)
        t0 = time.perf_counter()
        searcher.score(req, retrieval, retrieval.ranked)
        scoring.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        searcher.search(SearchRequest(query=q, k=k))
        whole.append((time.perf_counter() - t0) * 1000)
    return statistics.median(whole), statistics.median(scoring)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--queries", type=Path, default=Path("data/eval/keyword-dev.jsonl"))
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args()
    settings = Settings()
    encoder = create_encoder(settings)
    searchers = {name: Searcher(args.index, settings.model_copy(update={"ranking": name}),
                                encoder, lexical_matrix=False) for name in ("fusion", "learned")}
    queries = _queries(args.queries, args.limit)
    for s in searchers.values():  # warm: query vectors cached, models loaded
        _round(s, queries[:20], args.k)
        for q in queries:
            s.query_vector(q)
    results: dict[str, list[tuple[float, float]]] = {n: [] for n in searchers}
    for _ in range(args.rounds):
        for name, s in searchers.items():
            results[name].append(_round(s, queries, args.k))
    med = {n: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs))
           for n, rs in results.items()}
    print(f"{len(queries)} queries x {args.rounds} rounds, index {args.index}")
    print("| ranking | search ms (median) | scoring ms (median) |\n|---|---|---|")
    for name, (whole, scoring) in med.items():
        print(f"| {name} | {whole:.2f} | {scoring:.2f} |")
    print(f"learned - fusion: search {med['learned'][0] - med['fusion'][0]:+.2f} ms, "
          f"scoring {med['learned'][1] - med['fusion'][1]:+.2f} ms")
    for s in searchers.values():
        s.close()


if __name__ == "__main__":
    main()
