"""``bench/cluster.py --part size``: a cluster of shards at size vs one index (issue 28, item 6).

From a growth index (``bench/growth.py``, e.g. ``/work/idx/growth/idx-100k``):

1. its articles (the same deterministic stream, ``bench/growth_build.py``) are written to a
   JSONL file and indexed with ``vnsearch cluster index --shards N`` on a private local Ray
   (127.0.0.1); ``VNSEARCH_HOME`` is the growth home, whose embedding cache holds every
   passage's vector, so nothing is embedded and the shards hold exactly the one index's
   passages and vectors;
2. the one index is copied with the exact (flat) vector kind, so that both sides search
   exactly (shards below the HNSW threshold are flat): answers must then be equal;
3. three servers, one after the other, each a subprocess on 127.0.0.1: ``vnsearch serve``
   on the one index, ``vnsearch serve --cluster`` (the same shards merged in one process)
   and ``vnsearch cluster serve`` (Ray Serve: one deployment per shard, an ingress that
   encodes once and merges); per mode, the top-10 (article id, score) of a sample of
   queries (``min_relevance=0``) and p50/p99 at 1 and 8 clients.

The Ray overhead per request is ``cluster serve`` − ``serve --cluster`` (same shards, same
merge, Ray's proxy and handle calls in between) at the same clients.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

MODES = ("hybrid", "lexical", "dense")


def export_articles(record: dict, path: Path) -> int:
    """The first ``articles_read`` articles of the growth stream as JSONL."""
    from growth_build import repeated_articles

    keys = ("id", "title", "text", "url", "source", "published", "category")
    n = 0
    with path.open("w", encoding="utf-8") as out:
        for article in repeated_articles():
            if n >= record["articles_read"]:
                break
            out.write(json.dumps({k: getattr(article, k) for k in keys
                                  if getattr(article, k) is not None}, ensure_ascii=False) + "\n")
            n += 1
    return n


def flat_copy(src: Path, dst: Path, env: dict[str, str]) -> None:
    """A copy of ``src`` whose vector file is exact (flat), rebuilt from the store."""
    shutil.copytree(src, dst)
    manifest = json.loads((dst / "manifest.json").read_text())
    manifest["vector_index"] = "flat"
    (dst / "manifest.json").write_text(json.dumps(manifest, indent=2))
    for old in dst.glob("vectors.*.faiss"):
        old.unlink()
    subprocess.run([sys.executable, "-m", "search_api", "check", "--index", str(dst)],
                   cwd=ROOT, env=env, check=True)


def prepare(growth_root: Path, size: str, shards: int, work: Path) -> tuple[Path, Path, dict]:
    """(one flat index, shards dir) of the growth index ``size``; built once, then kept."""
    import growth_build as gb

    n = gb.parse_size(size)
    record = gb.load_record(growth_root, n)
    if record is None:
        sys.exit(f"no growth index of {size} under {growth_root} (run bench/growth.py first)")
    env = {**os.environ, "VNSEARCH_HOME": str(growth_root / "home")}
    work.mkdir(parents=True, exist_ok=True)
    one, out = work / "one-flat", work / f"shards-{shards}"
    info_path = work / "prepare.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    if not (one / "manifest.json").exists():
        flat_copy(gb.index_path(growth_root, n), one, env)
    if not (out / "cluster.json").exists():
        corpus = work / "corpus.jsonl"
        info["articles"] = export_articles(record, corpus)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "search_api", "cluster", "index", "--out", str(out),
                        "--shards", str(shards), "--quiet", str(corpus)], cwd=ROOT, env=env,
                       check=True)
        info["cluster_index_s"] = time.perf_counter() - started
        info["passages"] = record["passages"]
        info_path.write_text(json.dumps(info, indent=1))
    return one, out, info


def compare(answers: dict[str, dict], reference: str, tol: float = 1e-6) -> dict[str, dict]:
    """Per way and mode: queries answered identically to ``reference`` (same article ids in
    the same order, every score within ``tol``) and the largest score difference."""
    out: dict[str, dict] = {}
    base = answers[reference]
    for way, got in answers.items():
        if way == reference:
            continue
        for mode in base:
            same, worst, total = 0, 0.0, len(base[mode])
            for want, have in zip(base[mode], got[mode], strict=True):
                ids_equal = [a for a, _ in want] == [a for a, _ in have]
                diff = max((abs(x - y) for (_, x), (_, y) in zip(want, have, strict=False)),
                           default=0.0)
                if ids_equal:
                    worst = max(worst, diff)
                same += ids_equal and diff <= tol
            out.setdefault(way, {})[mode] = {"same": same, "of": total, "max_score_diff": worst}
    return out


def run(growth_root: Path, size: str, shards: int, requests: int, sample: int) -> None:
    """Prepare, serve the three ways, print answers' agreement, latency and Ray overhead."""
    from cluster import SERVE_LEVELS, measure_ways, print_serving

    work = growth_root / f"cluster-{size}-{shards}"
    one, out, info = prepare(growth_root, size, shards, work)
    ways = {"vnsearch serve (one index)": ["serve", "--index", str(one)],
            f"serve --cluster ({shards} shards)": ["serve", "--cluster", str(out / "cluster.json")],
            "cluster serve (Ray Serve)": ["cluster", "serve", str(out)]}
    env = {**os.environ, "VNSEARCH_HOME": str(growth_root / "home")}
    rows, answers = measure_ways(ways, env, work, requests=requests, modes=MODES, sample=sample)
    print(f"\n{shards} shards × ~{info.get('passages', 0) // shards:,} passages "
          f"({info.get('passages', 0):,} in all; cluster index "
          f"{info.get('cluster_index_s', 0):.0f} s, every vector from the cache)")
    agreement = compare(answers, next(iter(ways)))
    for way, modes in agreement.items():
        cells = ", ".join(f"{m} {v['same']}/{v['of']} (max Δscore {v['max_score_diff']:.1e})"
                          for m, v in modes.items())
        print(f"same top-10 as the one index — {way}: {cells}")
    print_serving(rows)
    by = {(r.name, r.mode, r.clients): r for r in rows}
    local, ray = list(ways)[1], list(ways)[2]
    print("\nRay overhead per request (cluster serve − serve --cluster, p50):")
    overhead = {}
    for mode in MODES:
        for c in SERVE_LEVELS:
            delta = by[(ray, mode, c)].p50 - by[(local, mode, c)].p50
            overhead[f"{mode}_c{c}_ms"] = delta
            print(f"  {mode:8s} c={c}: {delta:+.1f} ms")
    result = {"info": info, "agreement": agreement, "overhead_p50_ms": overhead, "answers": answers,
              "rows": [r.__dict__ for r in rows], "load_avg": os.getloadavg()}
    (work / "result.json").write_text(json.dumps(result, indent=1))
    print(f"\nresult {work / 'result.json'}")
