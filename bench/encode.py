"""Encoder and indexing throughput: passages/s of each backend on the same real passages.

    .venv/bin/python bench/encode.py [--passages 1000] [--runs 3] [--no-index]

Takes the first N passages (chunked exactly as the indexer does) of
../shared/data/news/dantri-unc.jsonl, embeds them with every backend, and prints the
median passages/s of several runs and the ratio to sentence-transformers fp32 measured in
the same run, plus the cosine between backends (quality check). Then (unless
``--no-index``) the whole write path, once per backend: ``index_articles`` on the articles
those passages come from, into a fresh index with an empty embedding cache (a temporary
``VNSEARCH_HOME`` whose models dir is hard-linked to the real one), i.e. what
``vnsearch index`` does: clean, chunk, embed, write SQLite + FTS5 + FAISS.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer.chunking import ChunkSettings, chunk_text  # noqa: E402
from indexer.cleaning import clean_text  # noqa: E402
from indexer.encoders import create_encoder  # noqa: E402
from indexer.settings import Settings  # noqa: E402

NEWS = ROOT.parent / "shared" / "data" / "news" / "dantri-unc.jsonl"


def real_passages(n: int) -> list[str]:
    return real_corpus(n)[0]


def real_corpus(n: int) -> tuple[list[str], list[dict]]:
    """The first ``n`` passages and the records (articles) they come from."""
    out: list[str] = []
    records: list[dict] = []
    with NEWS.open(encoding="utf-8") as handle:
        for line in handle:
            rec = json.loads(line)
            records.append(rec)
            text = clean_text(rec["text"], title=rec.get("title"))
            out.extend(p.text for p in chunk_text(text, ChunkSettings()))
            if len(out) >= n:
                return out[:n], records
    return out, records


def index_rate(backend: str, records: list[dict]) -> tuple[float, int]:
    """(passages/s, passages) of index_articles with ``backend`` and a cold cache."""
    import os
    import shutil
    import tempfile

    from indexer.article import Article
    from indexer.writer import index_articles

    real = Settings()
    with tempfile.TemporaryDirectory(prefix="vnsearch-bench-encode-") as tmp:
        home = Path(tmp) / "home"

        def link(src, dst):
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)

        shutil.copytree(real.models_dir, home / "models", copy_function=link)
        settings = Settings(home=home, encoder_backend=backend)
        encoder = create_encoder(settings)
        articles = [Article(id=str(r.get("id", i)), title=r.get("title"), text=r["text"],
                            url=r.get("url")) for i, r in enumerate(records)]
        summary = index_articles(Path(tmp) / "index", articles, settings, encoder)
        return summary.passages_added / summary.seconds, summary.passages_added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-index", action="store_true", help="Skip the indexing rows.")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="default: each backend's own (torch 32, onnx-int8 8)")
    args = parser.parse_args()
    if not NEWS.exists():
        sys.exit(f"{NEWS} not found (needs ../shared beside the repo)")
    passages, records = real_corpus(args.passages)
    print(f"{len(passages)} passages, mean {statistics.mean(len(p.split()) for p in passages):.0f} "
          f"words; median of {args.runs} runs", flush=True)
    results: dict[str, float] = {}
    vectors = {}
    for backend in ("torch", "onnx-int8"):
        encoder = create_encoder(Settings(encoder_backend=backend))
        encoder.encode_passages(passages[:32], batch_size=args.batch_size)  # warm-up
        rates = []
        for _ in range(args.runs):
            t = time.perf_counter()
            vectors[backend] = encoder.encode_passages(passages, batch_size=args.batch_size)
            rates.append(len(passages) / (time.perf_counter() - t))
        results[backend] = statistics.median(rates)
        q = time.perf_counter()
        for text in ("kết quả thi hành án dân sự Gia Lai",) * 20:
            encoder.encode_queries([text])
        query_ms = (time.perf_counter() - q) / 20 * 1000
        print(f"{backend:10s} {results[backend]:7.1f} passages/s (runs: "
              f"{', '.join(f'{r:.1f}' for r in rates)}), one query {query_ms:.1f} ms", flush=True)
    base = results["torch"]
    for backend, rate in results.items():
        print(f"{backend:10s} ratio to sentence-transformers fp32: {rate / base:.2f}x")
    cos = (vectors["torch"] * vectors["onnx-int8"]).sum(axis=1)
    print(f"cosine onnx-int8 vs fp32: mean {cos.mean():.4f}, min {cos.min():.4f}")
    if args.no_index:
        return
    print(f"\nindexing {len(records)} articles (vnsearch index: clean, chunk, embed with an "
          "empty cache, write):", flush=True)
    rates = {}
    for backend in ("torch", "onnx-int8"):
        rates[backend], n = index_rate(backend, records)
        print(f"{backend:10s} {rates[backend]:7.1f} passages/s ({n} passages)", flush=True)
    print(f"onnx-int8 indexing vs sentence-transformers fp32: "
          f"{rates['onnx-int8'] / rates['torch']:.2f}x")


if __name__ == "__main__":
    main()
