"""Encoder throughput: passages/s of each backend on the same real passages.

    .venv/bin/python bench/encode.py [--passages 1000] [--runs 3]

Takes the first N passages (chunked exactly as the indexer does) of
../shared/data/news/dantri-unc.jsonl, embeds them with every backend, and prints the
median passages/s of several runs and the ratio to sentence-transformers fp32 measured in
the same run, plus the cosine between backends (quality check).
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
    out: list[str] = []
    with NEWS.open(encoding="utf-8") as handle:
        for line in handle:
            rec = json.loads(line)
            text = clean_text(rec["text"], title=rec.get("title"))
            out.extend(p.text for p in chunk_text(text, ChunkSettings()))
            if len(out) >= n:
                return out[:n]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="default: each backend's own (torch 32, onnx-int8 8)")
    args = parser.parse_args()
    if not NEWS.exists():
        sys.exit(f"{NEWS} not found (needs ../shared beside the repo)")
    passages = real_passages(args.passages)
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


if __name__ == "__main__":
    main()
