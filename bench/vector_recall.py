"""Vector index kinds compared: recall@10 against exact search, bytes per passage, build
time and query latency, at several index sizes, on real passage vectors.

Vectors: the passage vectors stored in real indexes (``--real``, read-only, deduplicated),
shuffled with a fixed seed; beyond their number, noisy copies of them (σ 0.02 per
component, then re-normalised, as ``bench/standin.py``), so that the larger sizes keep
the real model's distribution. Queries: real question vectors (``--queries``, a .npy
written once by ``--encode-queries``) or, without one, 200 held-out real passage vectors.

Per kind and size: recall@10 against ``flat`` (exact), the FAISS file's bytes per passage,
the bytes a reader holds resident (a fresh process maps the file as the service does,
``mapped=True``, and runs every query: RSS after minus before), build seconds (FAISS's
threads) and query ms p50 (one thread, one query at a time, through ``VectorIndex.search``).
Kinds of ``indexer.vector_index`` plus two candidates measured for the choice and not
shipped: ``hnsw-sq8`` (HNSW over 8-bit codes), ``hnsw-sq8-refine`` (the same, its best 40
re-scored from exact float32 vectors kept in the same mapped file, ``IndexRefineFlat``) and
``ivf-sq8`` (IVF over 8-bit codes, nlist 4·√n). Each is searched at several settings of
its knob (:data:`KNOBS`: efSearch, nprobe) from the same built file.

    .venv/bin/python bench/vector_recall.py --encode-queries ../shared/data/eval/vinewsqa-dev.jsonl
    .venv/bin/python bench/vector_recall.py --sizes 10000,100000,300000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DIM = 384
SIGMA = 0.02
QUERIES = Path("/work/idx/vector-recall-queries.npy")
KINDS = ("flat", "hnsw", "hnsw-fp16", "hnsw-sq8", "hnsw-sq8-refine", "ivf-sq8")
RAW = ("hnsw-sq8", "hnsw-sq8-refine", "ivf-sq8")  # candidates: raw FAISS, not shipped


def real_vectors(dirs: list[Path]) -> np.ndarray:
    """Every distinct passage vector stored in the indexes ``dirs`` (read-only)."""
    from indexer.db import IndexDB

    parts = []
    for d in dirs:
        with IndexDB(d, readonly=True) as db:
            parts.append(db.load_all_vectors(DIM)[1])
    allv = np.vstack(parts)
    _, first = np.unique(allv.view(np.dtype((np.void, allv.dtype.itemsize * DIM))),
                         return_index=True)
    return allv[np.sort(first)]


def corpus(pool: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``n`` vectors: the real ones first, then noisy copies of random real ones."""
    rng = np.random.default_rng(seed)
    real = pool[rng.permutation(len(pool))[:n]]
    if n <= len(real):
        return real
    base = pool[rng.integers(0, len(pool), n - len(real))]
    noisy = base + rng.normal(0.0, SIGMA, base.shape).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    return np.vstack([real, noisy.astype(np.float32)])


def build(kind: str, vectors: np.ndarray):
    """An index of ``kind`` over ``vectors`` (ids 0..n-1); a raw FAISS index for candidates."""
    import faiss

    from indexer.vector_index import build_vector_index

    ids = np.arange(len(vectors), dtype=np.int64)
    if kind == "ivf-sq8":
        nlist = int(4 * np.sqrt(len(vectors)))
        ivf = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(DIM), DIM, nlist,
                                            faiss.ScalarQuantizer.QT_8bit,
                                            faiss.METRIC_INNER_PRODUCT)
        index = faiss.IndexIDMap2(ivf)
        index.train(vectors[:max(50 * nlist, 100_000)])
        index.add_with_ids(vectors, ids)
        return index
    if kind in ("hnsw-sq8", "hnsw-sq8-refine"):
        hnsw = faiss.IndexHNSWSQ(DIM, faiss.ScalarQuantizer.QT_8bit, 32,
                                 faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 80
        # refine: exact float32 vectors in the same file, re-scoring the best 4k candidates
        index = faiss.IndexIDMap2(hnsw if kind == "hnsw-sq8" else faiss.IndexRefineFlat(hnsw))
        index.train(vectors)
        index.add_with_ids(vectors, ids)
        return index
    return build_vector_index(kind, DIM, ids, vectors)


def rss() -> dict[str, int]:
    """This process's resident bytes (Linux): all, anonymous and file-backed (mapped)."""
    with open("/proc/self/status") as handle:
        fields = dict(line.split(":", 1) for line in handle)
    return {k: int(fields[k].split()[0]) * 1024 for k in ("VmRSS", "RssAnon", "RssFile")}


#: The search-time knob swept per kind (efSearch for HNSW, nprobe for IVF; flat: none).
KNOBS = {"flat": [0], "hnsw": [128, 256], "hnsw-fp16": [128, 256],
         "hnsw-sq8": [128, 256, 512], "hnsw-sq8-refine": [128, 256], "ivf-sq8": [64, 256]}


def serve_queries(path: str, kind: str, queries_path: str) -> dict:
    """In a fresh process: map the index as a reader does, run every query (one thread)
    at each setting of the kind's knob."""
    import faiss

    from indexer.vector_index import load_vector_index

    faiss.omp_set_num_threads(1)
    queries = np.load(queries_path)
    before = rss()
    if kind == "hnsw-sq8-refine":
        raw = faiss.read_index(path, faiss.IO_FLAG_MMAP_IFC)
        inner, id_map = faiss.downcast_index(raw.index), faiss.vector_to_array(raw.id_map)

        def search(q: np.ndarray, knob: int) -> np.ndarray:
            params = faiss.IndexRefineSearchParameters(
                k_factor=4, base_index_params=faiss.SearchParametersHNSW(efSearch=knob))
            return id_map[inner.search(q.reshape(1, -1), 10, params=params)[1][0]]
    elif kind in RAW:
        raw = faiss.read_index(path, faiss.IO_FLAG_MMAP_IFC)

        def search(q: np.ndarray, knob: int) -> np.ndarray:
            params = (faiss.SearchParametersIVF(nprobe=knob) if kind == "ivf-sq8"
                      else faiss.SearchParametersHNSW(efSearch=knob))
            return raw.search(q.reshape(1, -1), 10, params=params)[1][0]
    else:
        index = load_vector_index(Path(path), kind, DIM, mapped=True)

        def search(q: np.ndarray, knob: int) -> np.ndarray:
            if knob:
                index.ef_search = knob  # type: ignore[attr-defined]
            return index.search(q, 10).ids
    runs = []
    for knob in KNOBS[kind]:
        found, times = [], []
        for q in queries:
            t0 = time.perf_counter()
            found.append(search(q, knob))
            times.append((time.perf_counter() - t0) * 1000)
        runs.append({"knob": knob, "ids": [list(map(int, f)) for f in found],
                     "ms": float(np.median(times))})
    after = rss()
    return {"runs": runs, **{k: after[k] - before[k] for k in after}}


def measure(kind: str, vectors: np.ndarray, queries_path: Path, exact: list[set[int]],
            workdir: Path) -> list[dict]:
    t0 = time.perf_counter()
    index = build(kind, vectors)
    build_s = time.perf_counter() - t0
    path = workdir / f"{kind}.faiss"
    if hasattr(index, "save"):
        index.save(path)
    else:
        import faiss

        faiss.write_index(index, str(path))
    del index
    out = subprocess.run([sys.executable, __file__, "--serve", str(path), kind,
                          str(queries_path)],
                         check=True, capture_output=True, text=True).stdout
    got = json.loads(out.splitlines()[-1])
    size = path.stat().st_size
    path.unlink()
    n = len(vectors)
    rows = []
    for run_ in got["runs"]:
        recall = float(np.mean([len(set(f) & e) / 10
                                for f, e in zip(run_["ids"], exact, strict=True)]))
        rows.append({"kind": kind, "knob": run_["knob"], "n": n, "recall": recall,
                     "file_b": size / n, "resident_b": got["VmRSS"] / n,
                     "anon_b": got["RssAnon"] / n, "mapped_b": got["RssFile"] / n,
                     "build_s": build_s, "ms": run_["ms"]})
    return rows


def run(sizes: list[int], kinds: list[str], pool: np.ndarray, queries: np.ndarray) -> list[dict]:
    from indexer.vector_index import build_vector_index

    rows = []
    with tempfile.TemporaryDirectory(prefix="vector-recall-") as tmp:
        qpath = Path(tmp) / "queries.npy"
        np.save(qpath, queries)
        for n in sizes:
            vectors = corpus(pool, n)
            flat = build_vector_index("flat", DIM, np.arange(n, dtype=np.int64), vectors)
            exact = [set(map(int, flat.search(q, 10).ids)) for q in queries]
            del flat
            for kind in kinds:
                for row in measure(kind, vectors, qpath, exact, Path(tmp)):
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr, flush=True)
    return rows


def table(rows: list[dict], real: int) -> str:
    lines = ["| passages | kind | efSearch / nprobe | recall@10 | file B/passage | resident "
             "B/passage (mapped, after the queries) | build s | query ms p50 |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        note = "" if r["n"] <= real else " *"
        knob = r["knob"] or "-"
        lines.append(f"| {r['n']:,}{note} | {r['kind']} | {knob} | {r['recall']:.4f} "
                     f"| {r['file_b']:,.0f} "
                     f"| {r['resident_b']:,.0f} | {r['build_s']:.1f} | {r['ms']:.3f} |")
    lines.append(f"\n\\* beyond the {real:,} distinct real vectors: noisy copies (σ {SIGMA}).")
    return "\n".join(lines)


def encode_queries(path: Path, out: Path, count: int = 200) -> None:
    """Encode ``count`` questions of an eval set (every k-th) with the real model, once."""
    from indexer.encoders import create_encoder
    from indexer.settings import Settings

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    texts = [r["query"] for r in rows][::max(1, len(rows) // count)][:count]
    np.save(out, create_encoder(Settings()).encode_queries(texts).astype(np.float32))
    print(f"{len(texts)} query vectors → {out}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        path, kind, queries = sys.argv[2:5]
        print(json.dumps(serve_queries(path, kind, queries)))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real", type=Path, nargs="+",
                        default=[Path("/work/idx/news"), Path("/work/idx/distr")])
    parser.add_argument("--queries", type=Path, default=QUERIES)
    parser.add_argument("--encode-queries", type=Path, metavar="EVAL_JSONL")
    parser.add_argument("--sizes", default="10000,100000,300000")
    parser.add_argument("--kinds", default=",".join(KINDS))
    args = parser.parse_args()
    if args.encode_queries:
        encode_queries(args.encode_queries, args.queries)
        return
    pool = real_vectors(args.real)
    if args.queries.exists():
        queries = np.load(args.queries)
    else:  # held-out real passages, left out of the corpus
        queries, pool = pool[-200:], pool[:-200]
    print(f"{len(pool):,} distinct real vectors, {len(queries)} queries", file=sys.stderr)
    rows = run([int(s) for s in args.sizes.split(",")], args.kinds.split(","), pool, queries)
    print(table(rows, len(pool)))


if __name__ == "__main__":
    main()
