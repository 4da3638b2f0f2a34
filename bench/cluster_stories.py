"""The cost of ``cluster index``'s story step, and that it equals one index at scale.

Reads the first ``--articles`` articles of the real corpora of ``../shared/data/news``
(Báo Mới, dantri-unc, crawlnews-2026, DANeS, interleaved so outlets mix), cleans each as
the writer does and stores it, with its places, signature and local story
(:func:`indexer.writer.tag_article`), into one index database and into ``--shards``
shard databases (by :func:`indexer.sharding.shard_of`); no passages, no model — the step
reads only the story tables. Then it times :func:`indexer.cluster.stories.unify_run_stories`
over all the articles as one run and checks every article's story id equals the one
index's.

Usage: ``.venv/bin/python bench/cluster_stories.py [--articles 10000] [--shards 3]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from itertools import zip_longest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NEWS = ROOT.parent / "shared" / "data" / "news"
FILES = ("baomoi.jsonl.gz", "dantri-unc.jsonl", "crawlnews-2026.jsonl", "danes-headlines.jsonl")


def _articles(limit: int) -> list:
    """``limit`` articles, one from each corpus in turn."""
    from indexer.article import Article
    from indexer.readers import iter_inputs

    streams = [iter_inputs([str(NEWS / name)]) for name in FILES]
    out = []
    for row in zip_longest(*streams):
        out += [a for a in row if isinstance(a, Article)]
        if len(out) >= limit:
            break
    return out[:limit]


def _store(articles: list, dirs: list[Path]) -> tuple[list[tuple[int, int, str]], float]:
    """Write every article into its shard with the writer's story step; (position, shard,
    id) of each, and the seconds of tagging (places + signature + local story)."""
    from indexer.db import IndexDB
    from indexer.layout import utc_now
    from indexer.metadata.normalise import MetadataRules
    from indexer.settings import Settings
    from indexer.sharding import shard_of
    from indexer.writer import prepare, stable_article_id, tag_article
    from indexer.writer.plan import Prepared

    rules = MetadataRules.from_settings(Settings())
    dbs = []
    for directory in dirs:
        directory.mkdir(parents=True)
        db = IndexDB(directory)
        db.init_schema()
        dbs.append(db)
    storied: list[tuple[int, int, str]] = []
    seen: set[str] = set()
    tagging = 0.0
    now = utc_now()
    for db in dbs:
        db.conn.execute("BEGIN")
    for position, raw in enumerate(articles):
        item = prepare(raw, rules)
        if not isinstance(item, Prepared):
            continue
        aid = stable_article_id(item.article.url, item.chash)
        if aid in seen:
            continue
        seen.add(aid)
        number = shard_of(aid, len(dirs))
        db = dbs[number]
        db.insert_article(aid, item.article, item.chash, now)
        started = time.perf_counter()
        tag_article(db, aid, item.article.title, item.article.text, item.article.source)
        tagging += time.perf_counter() - started
        storied.append((position, number, aid))
    for db in dbs:
        db.conn.execute("COMMIT")
        db.close()
    return storied, tagging


def _stories(directory: Path) -> dict[str, str]:
    from indexer.db import IndexDB

    with IndexDB(directory, readonly=True) as db:
        ids = [a.id for a in db.iter_articles()]
        return {aid: r.story_id for aid, r in db.article_regions(ids, False).items()}


def main() -> None:
    """Print the step's time per 10k articles and whether the shards equal one index."""
    from indexer.cluster.stories import unify_run_stories

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--shards", type=int, default=3)
    args = parser.parse_args()
    articles = _articles(args.articles)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _, one_tagging = _store(articles, [root / "one"])
        dirs = [root / f"shard-{i}" for i in range(args.shards)]
        storied, _ = _store(articles, dirs)
        step = unify_run_stories(dirs, storied)
        one = _stories(root / "one")
        shards = {aid: s for d in dirs for aid, s in _stories(d).items()}
    per_10k = step.seconds / len(storied) * 10_000
    shared = sum(1 for aid, s in one.items() if s != aid)
    print(f"{len(storied)} articles, {args.shards} shards: story step {step.seconds:.2f} s "
          f"({per_10k:.2f} s per 10k articles; {step.articles} signed articles replayed, "
          f"{step.changed} story ids changed); one index's tagging {one_tagging:.2f} s")
    print(f"articles joined to an earlier one's story: {shared}; shards equal one index: "
          f"{shards == one}")


if __name__ == "__main__":
    main()
