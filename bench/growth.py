"""Growth curves: what each cost of vnsearch does as the index grows (issue 28, item 1).

    .venv/bin/python bench/growth.py                                  # 10k,100k,300k,1m
    .venv/bin/python bench/growth.py --sizes 10k,100k --requests 60   # smaller, faster
    .venv/bin/python bench/growth.py --parts serve,write              # re-measure kept indexes

Builds (or reuses) one index per size under ``--root`` (default /work/idx/growth; see
``bench/growth_build.py`` for the corpus — real news, repeated beyond ~92k passages with a
distinct URL and title per pass — and the vectors — real where an embedding exists, stand-in
copies + noise beyond), then measures each size on this machine in one run:

* build time and passages/s (from the build record: the sum of the incremental stages);
* disk bytes per passage, by file kind (SQLite store, FAISS vectors, lexical matrix files);
* ``vnsearch serve`` with 1 worker: RSS idle and loaded, seconds until ``/health`` reports the
  lexical matrix, seconds until a query answers at steady latency (the first of three
  consecutive distinct hybrid queries within 1.5x the steady p50), p50/p99 of ``GET /search``
  for 1 and 8 clients in each mode (distinct real questions, closed loop, over HTTP), and
  the time from ``POST /articles`` (one article) until a search finds it;
* ``vnsearch serve --workers 2``: PSS of all its processes idle and loaded (hybrid, 8 clients).

Then prints the table, the fitted exponent b of each cost (cost ≈ a·n^b, least squares on
logs) and a·n^b at ``--extrapolate`` sizes (labelled as extrapolation), writes the plot
(``--plot``, default docs/img/growth.png) and the table as JSON (``--json``). Measurements
are kept per size in ``ROOT/idx-SIZE.measure.json``, so ``--parts`` re-measures only some
costs and a crashed run keeps what it had.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import growth_build as gb  # noqa: E402
import growth_fit  # noqa: E402
from query import (  # noqa: E402
    PROBE_TOKEN,
    Server,
    drive,
    free_port,
    load_queries,
    search_path,
    tree_pss_mib,
    vm_rss_mib,
    write_probe,
)

MODES = ("hybrid", "lexical", "dense")
LEVELS = (1, 8)
PARTS = ("build", "disk", "serve", "workers2", "write")


def disk_by_kind(index_dir: Path) -> dict[str, int]:
    """Bytes on disk of an index's files: store (SQLite + WAL), vectors (FAISS files,
    segments), lexical (matrix files), other."""
    out = {"store": 0, "vectors": 0, "lexical": 0, "other": 0}
    seen: set[tuple[int, int]] = set()  # a file hard-linked into two generations counts once
    for path in sorted(index_dir.rglob("*")):
        if not path.is_file() or path.name == "write.lock":
            continue
        stat = path.stat()
        if (stat.st_dev, stat.st_ino) in seen:
            continue
        seen.add((stat.st_dev, stat.st_ino))
        rel = path.relative_to(index_dir).parts[0]
        kind = ("store" if rel.startswith("store.sqlite") else
                "vectors" if rel.startswith("vectors.") else
                "lexical" if rel.startswith("lexical") else "other")
        out[kind] += stat.st_size
    return out


def steady_time(probes: list[tuple[float, float]], steady_ms: float) -> float | None:
    """Seconds since start of the first of three consecutive probe queries answered within
    1.5x ``steady_ms``; ``probes`` are (answered at s since start, latency ms)."""
    ok = [ms <= 1.5 * steady_ms for _, ms in probes]
    for i in range(len(probes) - 2):
        if ok[i] and ok[i + 1] and ok[i + 2]:
            return probes[i][0]
    return None


class Queries:
    """Distinct real questions, handed out in order (cycling past the end)."""

    def __init__(self) -> None:
        self._it = itertools.cycle(load_queries())

    def take(self, n: int) -> list[str]:
        return list(itertools.islice(self._it, n))


def serve_one(index_dir: Path, requests: int, queries: Queries, write: bool) -> dict:
    """1 worker: readiness, steady-speed time, memory, latency rows, optional write probe."""
    port = free_port()
    env = {"VNSEARCH_ADMIN_TOKEN": PROBE_TOKEN} if write else {}
    started = time.perf_counter()
    server = Server(index_dir, port, Path(f"/tmp/vnsearch-growth-{port}.log"), env)
    row: dict = {}
    try:
        row["health_s"] = server.wait_ready("memory")
        probes = []
        for q in queries.take(30):
            got = drive(port, [search_path(q, "hybrid", 10)], 1)
            probes.append((time.perf_counter() - started, got["p50"]))
        pid = server.proc.pid
        row["rss_idle_mib"] = vm_rss_mib(pid)
        for mode in MODES:
            for c in LEVELS:
                got = drive(port, [search_path(q, mode, 10) for q in queries.take(requests)], c)
                row[f"{mode}_c{c}_p50"], row[f"{mode}_c{c}_p99"] = got["p50"], got["p99"]
                row[f"{mode}_c{c}_rps"] = got["rps"]
                if got["errors"]:
                    row[f"{mode}_c{c}_errors"] = got["errors"]
        row["rss_load_mib"] = vm_rss_mib(pid)
        row["full_speed_s"] = steady_time(probes, row["hybrid_c1_p50"])
        row["first_query_ms"] = probes[0][1]
        if write:
            probe = write_probe(port, "mmap")
            row["write_ack_ms"], row["write_visible_ms"] = probe["ack_ms"], probe["visible_ms"]
            row["write_fts_window_ms"] = probe["fts_window_ms"]
    finally:
        server.stop()
    return row


def serve_two(index_dir: Path, requests: int, queries: Queries) -> dict:
    """2 forked workers: PSS of all their processes idle and after hybrid load (8 clients)."""
    port = free_port()
    server = Server(index_dir, port, Path(f"/tmp/vnsearch-growth-{port}.log"), {}, workers=2)
    try:
        row = {"health2_s": server.wait_ready("memory")}
        # /health is answered by one worker: let the other finish loading
        time.sleep(float(os.environ.get("BENCH_WORKER_SETTLE_S", "10")))
        drive(port, [search_path(q, "hybrid", 10) for q in queries.take(16)], 2)
        row["pss2_idle_mib"] = tree_pss_mib(server.proc.pid)
        got = drive(port, [search_path(q, "hybrid", 10) for q in queries.take(requests)], 8)
        row["pss2_load_mib"] = tree_pss_mib(server.proc.pid)
        row["hybrid2_c8_p50"], row["hybrid2_c8_p99"] = got["p50"], got["p99"]
        row["hybrid2_c8_rps"] = got["rps"]
    finally:
        server.stop()
    return row


def measure_size(root: Path, record: dict, parts: set[str], requests: int) -> dict:
    """Every requested cost of one size, merged into its kept measurement file."""

    index_dir = gb.index_path(root, record["size"])
    kept = root / f"idx-{gb.size_label(record['size'])}.measure.json"
    row = json.loads(kept.read_text()) if kept.exists() else {}
    if not parts:  # report only: the kept figures as they are
        return row
    row.update(size=record["size"], passages=record["passages"])
    if "build" in parts:
        row.update(build_s=record["build_seconds"], build_stages=record["stages"],
                   build_pps=record["passages"] / record["build_seconds"],
                   real_vectors=record["real_from_cache"])
    if "disk" in parts:
        disk = disk_by_kind(index_dir)
        n = record["passages"]
        row.update(disk_bytes=sum(disk.values()), disk_bpp=sum(disk.values()) / n,
                   **{f"disk_{k}_bpp": v / n for k, v in disk.items()})
    queries = Queries()
    if "serve" in parts or "write" in parts:
        print(f"  {index_dir.name}: vnsearch serve, 1 worker", flush=True)
        got = serve_one(index_dir, requests if "serve" in parts else 1, queries, "write" in parts)
        keep = [k for k in got if "serve" in parts or k.startswith("write")]
        row.update({k: got[k] for k in keep})
    if "workers2" in parts:
        print(f"  {index_dir.name}: vnsearch serve --workers 2", flush=True)
        row.update(serve_two(index_dir, requests, queries))
    row["load_avg"] = os.getloadavg()
    row["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    kept.write_text(json.dumps(row, indent=1))
    return row


def print_sizing(rows: list[dict], totals: list[int], root: Path) -> list[dict]:
    """Deployments of ``totals`` passages in shards of the largest measured size and of 1M
    passages; the Ray overhead per request from ``bench/cluster.py --part size`` if run."""

    overhead = None
    results = sorted(root.glob("cluster-*/result.json"), key=lambda p: p.stat().st_mtime)
    if results:
        overhead = json.loads(results[-1].read_text())["overhead_p50_ms"].get("hybrid_c1_ms")
    largest = max(r["passages"] for r in rows)
    plans = [growth_fit.sizing(rows, total, shard, overhead)
             for total in totals for shard in sorted({largest, 1_000_000})]
    where = results[-1] if results else "no bench/cluster.py --part size run"
    print(f"\nsizing (Ray overhead per request {overhead} ms, from {where}):\n")
    print(growth_fit.sizing_table(plans))
    return plans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,100k,300k,1m",
                        help="Index sizes in passages (k, m suffixes).")
    parser.add_argument("--root", type=Path, default=Path("/work/idx/growth"),
                        help="Where the indexes are built and kept (never inside the repo).")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"Costs to (re)measure: {', '.join(PARTS)}; 'none': print the "
                             "table of the kept measurements.")
    parser.add_argument("--requests", type=int, default=120,
                        help="Requests per latency row (mode × clients).")
    parser.add_argument("--no-build", action="store_true",
                        help="Measure only the sizes already built (e.g. while a build runs).")
    parser.add_argument("--pool", type=int, default=4000,
                        help="Build: passages embedded for real as the stand-in pool.")
    parser.add_argument("--cache", type=Path, default=gb.DEFAULT_CACHE,
                        help="Build: embedding cache copied into the private home (real vectors).")
    parser.add_argument("--extrapolate", default="10m,50m",
                        help="Sizes printed as a·n^b (extrapolation).")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "img" / "growth.png")
    parser.add_argument("--json", type=Path, default=ROOT / "docs" / "img" / "growth.json")
    args = parser.parse_args()
    if ROOT in args.root.resolve().parents or args.root.resolve() == ROOT:
        sys.exit("--root must be outside the repository")
    sizes = [gb.parse_size(s) for s in args.sizes.split(",") if s.strip()]
    parts = {p.strip() for p in args.parts.split(",") if p.strip() and p.strip() != "none"}
    if unknown := parts - set(PARTS):
        sys.exit(f"unknown parts: {', '.join(sorted(unknown))}")
    if args.no_build:
        records = [r for r in (gb.load_record(args.root, n) for n in sizes) if r is not None]
    else:
        records = gb.build_sizes(args.root, sizes, args.pool, args.cache)
    rows = []
    for record in records:
        print(f"measuring {record['passages']} passages", flush=True)
        rows.append(measure_size(args.root, record, parts, args.requests))
    extra = [gb.parse_size(s) for s in args.extrapolate.split(",") if s.strip()]
    print("\n" + growth_fit.table(rows, extra))
    command = " ".join(["bench/growth.py", *sys.argv[1:]])
    if not parts and args.json.exists():  # report only: the figures come from earlier runs
        command = json.loads(args.json.read_text())["meta"]["command"]
    meta = {"command": command, "cpus": os.cpu_count(),
            "requests_per_row": args.requests, "extrapolated_sizes": extra,
            "sizing": print_sizing(rows, extra, args.root)}
    growth_fit.write_json(args.json, rows, meta)
    growth_fit.plot(args.plot, rows, f"vnsearch growth ({os.cpu_count()} CPUs, "
                                     f"{len(rows)} sizes measured in one run)")
    print(f"\nJSON {args.json}, plot {args.plot}")


if __name__ == "__main__":
    main()
