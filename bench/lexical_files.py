"""Lexical matrix files: start-up to full-speed lexical search, before
(matrix built in memory at start) and after (the writer's files mapped), and what a write
adds. One run, one machine, same index.

    .venv/bin/python bench/lexical_files.py --articles 2652 --out /tmp/lexbench

The index is built from ../shared/data/news/dantri-unc.jsonl (then crawlnews-2026) with a
model-free hashing encoder: vectors do not matter to the lexical side, and the real model
would spend the run embedding. Lexical search needs no query vector.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"

from indexer.encoders.base import Encoder, ModelInfo  # noqa: E402


class HashEncoder(Encoder):
    """Deterministic vectors from a text hash; one token a word."""

    def __init__(self, dimension: int = 32) -> None:
        self.info = ModelInfo(name="hash", model_id="bench-hash-32", path="",
                              dimension=dimension, max_tokens=512, query_prompt=None,
                              passage_prompt=None, backend="fake")

    def _vec(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:8],
                              "little")
        v = np.random.default_rng(seed).standard_normal(self.info.dimension).astype(np.float32)
        return v / np.linalg.norm(v)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vec("q:" + t) for t in texts])

    def encode_passages(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts])

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 2


def articles(n: int, skip: int = 0) -> list[dict]:
    out = []
    for name in ("dantri-unc.jsonl", "crawlnews-2026.jsonl"):
        with (SHARED / "news" / name).open(encoding="utf-8") as handle:
            for line in handle:
                out.append(json.loads(line))
    return out[skip:skip + n]


def queries(n: int) -> list[str]:
    path = SHARED / "eval" / "vinewsqa-dev.jsonl"
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line)["query"] for _, line in zip(range(n), handle)]


def build(directory: Path, settings, encoder, n: int) -> float:
    from indexer.readers import iter_inputs
    from indexer.writer import index_articles

    src = directory.parent / "corpus.jsonl"
    with src.open("w", encoding="utf-8") as out:
        for a in articles(n):
            out.write(json.dumps(a, ensure_ascii=False) + "\n")
    started = time.perf_counter()
    index_articles(directory, iter_inputs([src]), settings, encoder, batch_articles=256)
    return time.perf_counter() - started


def start_up(directory: Path, settings, encoder, mapped: bool, probe: str) -> dict:
    """Seconds from opening a searcher to its first lexical answer at full speed."""
    from search_api.retrieval import Searcher, SearchRequest
    from search_api.retrieval.lexical import service
    from search_api.retrieval.lexical.mapped import MappedLexicalMatrix

    real_open = MappedLexicalMatrix.open
    if not mapped:  # today's path: no files to map, the matrix is built in memory
        MappedLexicalMatrix.open = classmethod(lambda cls, d, g: None)
        service.FILE_WAIT_S = 0.0
    try:
        started = time.perf_counter()
        searcher = Searcher(directory, settings, encoder)
        searcher.wait_for_lexical()
        searcher.search(SearchRequest(query=probe, k=10, mode="lexical"))
        seconds = time.perf_counter() - started
        backend = searcher.lexical_backend
    finally:
        MappedLexicalMatrix.open = real_open
        service.FILE_WAIT_S = 3.0
    return {"seconds": seconds, "backend": backend, "searcher": searcher}


def latency(searcher, texts: list[str]) -> float:
    """Mean ms of the lexical ranking (top 100) of ``texts``."""
    from search_api.retrieval import SearchRequest

    reqs = [searcher.validate(SearchRequest(query=q, k=10, mode="lexical")) for q in texts]
    started = time.perf_counter()
    for req in reqs:
        searcher.lexical(req, 100)
    return 1000 * (time.perf_counter() - started) / len(reqs)


def writes(directory: Path, settings, encoder, rounds: int, skip: int) -> dict:
    """Per round: add 5 new articles, then delete 1; (seconds, lexical seconds, mode)."""
    from indexer.db import IndexDB
    from indexer.readers import iter_inputs
    from indexer.writer import IndexWriter

    src = directory.parent / "extra.jsonl"
    with src.open("w", encoding="utf-8") as out:
        for a in articles(rounds * 5, skip=skip):
            out.write(json.dumps(a, ensure_ascii=False) + "\n")
    extra = list(iter_inputs([src]))
    adds, deletes = [], []
    for r in range(rounds):
        started = time.perf_counter()
        with IndexWriter(directory, settings, encoder) as writer:
            writer.add_articles(extra[r * 5:(r + 1) * 5])
        lexical = writer.lexical_write
        adds.append((time.perf_counter() - started, lexical.seconds, lexical.mode))
        with IndexDB(directory, readonly=True) as db:
            victim = next(db.iter_articles()).id
        started = time.perf_counter()
        with IndexWriter(directory, settings) as writer:
            writer.delete([victim])
        lexical = writer.lexical_write
        deletes.append((time.perf_counter() - started, lexical.seconds, lexical.mode))
    return {"add": adds, "delete": deletes}


def full_build(directory: Path) -> float:
    from indexer.db import IndexDB
    from indexer.lexical.files import write_lexical

    copy = directory.parent / "full"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(directory, copy, ignore=shutil.ignore_patterns("lexical.*"))
    with IndexDB(copy) as db:
        result = write_lexical(copy, db)
    shutil.rmtree(copy)
    return result.seconds


def main() -> None:
    from indexer.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=2652)
    parser.add_argument("--out", type=Path, default=Path("/tmp/lexbench"))
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    settings = Settings(home=args.out / "home", lexical_matrix_min_passages=0)
    encoder = HashEncoder()
    directory = args.out / "index"
    index_s = build(directory, settings, encoder, args.articles)
    texts = queries(200)
    before = start_up(directory, settings, encoder, mapped=False, probe=texts[0])
    memory_ms = latency(before["searcher"], texts)
    before["searcher"].close()
    after = start_up(directory, settings, encoder, mapped=True, probe=texts[0])
    mmap_ms = latency(after["searcher"], texts)
    mmap_warm_ms = latency(after["searcher"], texts)  # the reader's cache of weighed terms
    passages = len(after["searcher"].snapshot.vectors)
    files = directory / f"lexical.{after['searcher'].snapshot.generation}"
    size = sum(p.stat().st_size for p in files.iterdir())
    after["searcher"].close()
    from search_api.retrieval import Searcher

    fts = Searcher(directory, settings, encoder, lexical_matrix=False)
    fts_ms = latency(fts, texts)
    fts.close()
    full_s = full_build(directory)
    write = writes(directory, settings, encoder, args.rounds, args.articles)
    print(f"{args.articles} articles, {passages} passages; indexing {index_s:.1f} s (hash encoder)")
    print(f"start-up to first full-speed lexical answer: before (built, {before['backend']}) "
          f"{before['seconds']:.3f} s, after ({after['backend']}) {after['seconds']:.3f} s, "
          f"ratio {before['seconds'] / after['seconds']:.1f}x")
    print(f"lexical top-100 latency, mean of {len(texts)} vinewsqa-dev queries: memory "
          f"{memory_ms:.2f} ms, mmap {mmap_ms:.2f} ms (again: {mmap_warm_ms:.2f} ms), "
          f"fts5 {fts_ms:.2f} ms")
    print(f"full build of the files: {full_s:.2f} s; files of one generation {size / 1e6:.1f} MB")
    for kind, rows in write.items():
        total = statistics.median(r[0] for r in rows)
        lex = statistics.median(r[1] for r in rows)
        print(f"{kind} (5 articles / 1 article): write {total:.3f} s median, of which lexical "
              f"files {lex:.3f} s ({100 * lex / total:.0f}%); modes {[r[2] for r in rows]}")


if __name__ == "__main__":
    main()
