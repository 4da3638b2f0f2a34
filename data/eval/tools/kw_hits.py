"""Run every keyword-dev query once through one Searcher (hybrid, k=20, group=article,
min_relevance=0) and write the top hits and the target's rank, for judging by reading.
Usage: kw_hits.py INDEX_DIR QUERIES.jsonl OUT.jsonl"""
import json
import sys
from pathlib import Path

from indexer.cli_support import settings_from
from indexer.encoders import create_encoder
from search_api.retrieval import Searcher
from search_api.search_fields import search_request


def corpus_ids():
    """URL -> corpus id (the JSONL `id`): hits carry the index's own article id and the URL;
    the URLs of the two files are unique."""
    ids = {}
    for f in ("dantri-unc", "crawlnews-2026"):
        for line in open(f"/work/shared/data/news/{f}.jsonl"):
            a = json.loads(line)
            ids[a["url"]] = a["id"]
    return ids


def main(index_dir, queries, out):
    by_url = corpus_ids()
    settings = settings_from()
    searcher = Searcher(Path(index_dir), settings, create_encoder(settings), lexical_matrix=False)
    with open(out, "w") as fh:
        for line in open(queries):
            q = json.loads(line)
            res = searcher.search(search_request(q=q["query"], k=20, group="article",
                                                 mode="hybrid", min_relevance=0))
            hits = [{"rank": h.rank, "id": by_url.get(h.url or "", h.article_id),
                     "title": h.title, "text": h.text[:220], "rel": round(h.relevance, 3),
                     "also_in": [by_url.get(a.url or "", a.article_id) for a in h.also_in]}
                    for h in res.results]
            rank = next((h["rank"] for h in hits if h["id"] == q["target"]), None)
            also = next((h["rank"] for h in hits if q["target"] in h["also_in"]), None)
            fh.write(json.dumps({"qid": q["qid"], "query": q["query"], "target": q["target"],
                                 "rank": rank, "rank_also_in": also, "hits": hits},
                                ensure_ascii=False) + "\n")
            fh.flush()


if __name__ == "__main__":
    main(*sys.argv[1:4])
