"""Pool the hybrid, lexical and dense top-20 articles of each topic query (issue 26).

Writes the pool's rankings (``data/eval/topic-dev.pool.json``: qid -> {mode: [ids]}) and a
working file for the judge (each pooled article's title, lead and best passage).

    vnsearch index ../shared/data/news/dantri-unc.jsonl ../shared/data/news/crawlnews-2026.jsonl \
        --index /tmp/idx-news
    python bench/topic_pool.py /tmp/idx-news [--topics TSV] [--pool JSON] [--work JSONL]

The index names an article by the hash of its URL; the pool and the judgments use the
corpus ``id`` (every article of the two files has its own URL).
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

MODES = ("hybrid", "lexical", "dense")
#: The corpus the index was built from, under ``$VNSEARCH_TEST_SHARED`` (default ``../shared``).
CORPORA = ("data/news/dantri-unc.jsonl", "data/news/crawlnews-2026.jsonl")


def corpus_id(articles: dict[str, dict], index_id: str) -> str:
    """The corpus ``id`` of an indexed article (its index id when it is not in the corpus)."""
    row = articles.get(index_id)
    return row["id"] if row else index_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("index", type=Path)
    parser.add_argument("--topics", type=Path, default=Path("data/eval/topic-dev.topics.tsv"))
    parser.add_argument("--pool", type=Path, default=Path("data/eval/topic-dev.pool.json"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/topicset/pool-work.jsonl"))
    parser.add_argument("-k", type=int, default=20)
    args = parser.parse_args()

    from indexer.cli_support import settings_from
    from indexer.encoders import create_encoder
    from indexer.writer.identity import stable_article_id
    from search_api.retrieval import Searcher
    from search_api.schemas import search_request

    articles = {}
    shared = Path(os.environ.get("VNSEARCH_TEST_SHARED", "../shared"))
    for name in CORPORA:
        with open(shared / name, encoding="utf-8") as lines:
            for line in lines:
                row = json.loads(line)
                # the index names an article by its URL's hash; the judgments use the corpus id
                articles[stable_article_id(row["url"], "")] = row
    by_id = {row["id"]: row for row in articles.values()}
    settings = settings_from()
    searcher = Searcher(args.index, settings, create_encoder(settings), lexical_matrix=False)
    topics = [line.split("\t") for line in args.topics.read_text(encoding="utf-8").splitlines()
              if line.strip()]
    pool: dict[str, dict[str, list[str]]] = {}
    args.work.parent.mkdir(parents=True, exist_ok=True)
    with open(args.work, "w", encoding="utf-8") as work:
        for qid, query in topics:
            runs: dict[str, list[str]] = {}
            seen: dict[str, dict] = {}
            for mode in MODES:
                result = searcher.search(search_request(
                    q=query, k=args.k, mode=mode, group="article", min_relevance=0))
                runs[mode] = [corpus_id(articles, hit.article_id) for hit in result.results]
                for hit in result.results:
                    aid = corpus_id(articles, hit.article_id)
                    entry = seen.setdefault(aid, {"ranks": {}, "passage": hit.text})
                    entry["ranks"][mode] = hit.rank
            pool[qid] = runs
            for aid, entry in seen.items():
                row = by_id.get(aid, {})
                work.write(json.dumps({
                    "qid": qid, "query": query, "id": aid, "ranks": entry["ranks"],
                    "title": row.get("title"), "lead": (row.get("text") or "")[:400],
                    "passage": entry["passage"][:400], "in_corpus": aid in by_id,
                }, ensure_ascii=False) + "\n")
            print(qid, query, {m: len(r) for m, r in runs.items()}, "pool", len(seen), flush=True)
    args.pool.write_text(json.dumps(pool, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
