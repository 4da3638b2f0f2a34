"""Indexing throughput: ``vnsearch index`` vs ``vnsearch cluster index`` on Ray.

Indexes the same real articles (the first ``--articles`` of
``../shared/data/news/dantri-unc.jsonl``) three ways, each into a fresh directory with an
empty embedding cache (so every passage is embedded):

* ``index``: the library call behind ``vnsearch index`` (one process, all cores);
* ``cluster 1 actor`` / ``cluster 2 actors``: :func:`indexer.cluster.ray_index.cluster_index`
  on a private local Ray (127.0.0.1), 2 shards, threads per actor as the command chooses.

Prints passages/s over the whole run (Ray start, model loads, writing included) and over
the embedding phase, with ratios to ``index``. The model files come from ``--models``
(default: the test suite's materialised models), so nothing is downloaded.

Usage: ``.venv/bin/python bench/cluster.py [--articles 300] [--backend onnx-int8|torch]``;
``--part size --size 100k --shards 4``: N shards of a ``bench/growth.py`` index served on Ray
vs that one index (answers, latency, Ray overhead per request; ``bench/cluster_size.py``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NEWS = ROOT.parent / "shared" / "data" / "news" / "dantri-unc.jsonl"


@dataclass
class Row:
    """One way of indexing the corpus."""

    name: str
    passages: int
    seconds: float
    embed_seconds: float

    @property
    def rate(self) -> float:
        return self.passages / self.seconds if self.seconds else 0.0

    @property
    def embed_rate(self) -> float:
        return self.passages / self.embed_seconds if self.embed_seconds else 0.0


def fresh_settings(base: Path, models: Path, backend: str):  # -> Settings
    """Settings with an empty home (no cached vectors) over existing model files."""
    from indexer.settings import Settings

    home = Path(tempfile.mkdtemp(dir=base, prefix="home-"))
    (home / "models").symlink_to(models.resolve(), target_is_directory=True)
    return Settings(home=home, encoder_backend=backend)


def run_index(corpus: Path, base: Path, models: Path, backend: str) -> Row:
    """The library call behind ``vnsearch index`` (model load not timed, as in the CLI's
    passages/s)."""
    from indexer.encoders import create_encoder
    from indexer.readers import iter_inputs
    from indexer.writer import index_articles

    settings = fresh_settings(base, models, backend)
    encoder = create_encoder(settings)
    summary = index_articles(base / "single", iter_inputs([corpus]), settings, encoder)
    return Row("index (1 process)", summary.passages_added, summary.seconds, summary.seconds)


def run_cluster(corpus: Path, base: Path, models: Path, backend: str, actors: int) -> Row:
    """``cluster_index`` on a private Ray; the driver's token counter is loaded untimed."""
    from indexer.cluster.ray_index import cluster_index
    from indexer.encoders import create_encoder

    settings = fresh_settings(base, models, backend)
    encoder = create_encoder(settings)
    report = cluster_index([corpus], base / f"cluster-{actors}", 2, settings, actors=actors,
                           encoder=encoder)
    return Row(f"cluster {actors} actor{'s' if actors > 1 else ''} × "
               f"{report.threads_per_actor} thr", report.summary.passages_added,
               report.seconds, report.embed_seconds)


def main() -> None:
    """Run the three ways and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--part", choices=["all", "index", "serve", "size"], default="all",
                        help="Only the indexing or only the serving comparison; 'size': N "
                             "shards of a growth index vs that index (bench/cluster_size.py).")
    parser.add_argument("--growth-root", type=Path, default=Path("/work/idx/growth"),
                        help="--part size: the root of bench/growth.py's indexes.")
    parser.add_argument("--size", default="100k", help="--part size: which growth index.")
    parser.add_argument("--shards", type=int, default=4, help="--part size: shards.")
    parser.add_argument("--requests", type=int, default=100,
                        help="--part size: requests per mode and clients.")
    parser.add_argument("--sample", type=int, default=50,
                        help="--part size: queries whose answers are compared, per mode.")
    parser.add_argument("--backend", choices=["onnx-int8", "torch"], default="onnx-int8")
    parser.add_argument("--models", type=Path, default=ROOT / ".cache" / "vnsearch-test" / "models")
    args = parser.parse_args()
    if args.part == "size":
        from cluster_size import run

        run(args.growth_root, args.size, args.shards, args.requests, args.sample)
        return
    if not NEWS.exists():
        sys.exit(f"{NEWS} is not present")
    with tempfile.TemporaryDirectory(prefix="vnsearch-bench-cluster-") as tmp:
        base = Path(tmp)
        corpus = base / "corpus.jsonl"
        with NEWS.open(encoding="utf-8") as src, corpus.open("w", encoding="utf-8") as dst:
            for i, line in enumerate(src):
                if i >= args.articles:
                    break
                dst.write(line)
        if args.part in ("all", "serve"):
            print_serving(bench_serving(corpus, base, args.models.parent, args.backend))
        if args.part == "serve":
            return
        rows = [run_index(corpus, base, args.models, args.backend)]
        for actors in (1, 2):
            rows.append(run_cluster(corpus, base, args.models, args.backend, actors))
    print(f"\n{args.articles} articles, backend {args.backend}, {os.cpu_count()} CPUs\n")
    print(f"{'way':<28}{'passages':>9}{'wall s':>8}{'p/s':>7}{'ratio':>7}"
          f"{'embed s':>9}{'embed p/s':>10}{'ratio':>7}")
    first = rows[0]
    for row in rows:
        print(f"{row.name:<28}{row.passages:>9}{row.seconds:>8.1f}{row.rate:>7.1f}"
              f"{row.rate / first.rate:>7.2f}{row.embed_seconds:>9.1f}{row.embed_rate:>10.1f}"
              f"{row.embed_rate / first.embed_rate:>7.2f}")


# -- serving ----------------------------------------------------------------------------------
SERVE_LEVELS = (1, 8)


@dataclass
class ServeRow:
    """Query latency of one way of serving at one number of clients."""

    name: str
    clients: int
    p50: float
    p99: float
    rps: float
    errors: int
    mode: str = "hybrid"


def build_for_serving(corpus: Path, base: Path, home: Path, backend: str) -> tuple[Path, Path]:
    """One index and 2 shards (+ cluster.json) of ``corpus``; vectors from ``home``'s cache
    when present (serving is measured, not embedding)."""
    from indexer.cluster.stats import build_cluster_file
    from indexer.encoders import create_encoder
    from indexer.readers import iter_inputs
    from indexer.settings import Settings
    from indexer.sharding import ShardSpec
    from indexer.writer import index_articles

    settings = Settings(home=home, encoder_backend=backend)
    encoder = create_encoder(settings)
    index_articles(base / "serve-one", iter_inputs([corpus]), settings, encoder)
    shards = [base / "serve-shards" / f"shard-{i}" for i in range(2)]
    for i, directory in enumerate(shards):
        index_articles(directory, iter_inputs([corpus]), settings, encoder, shard=ShardSpec(i, 2))
    build_cluster_file(shards, base / "serve-shards" / "cluster.json")
    return base / "serve-one", base / "serve-shards"


def bench_serving(corpus: Path, base: Path, home: Path, backend: str,
                  requests: int = 48) -> list[ServeRow]:
    """p50/p99 of ``GET /search`` (distinct real questions: every request encodes its query)
    with 1 and 8 clients, for ``vnsearch serve``, ``vnsearch serve --cluster`` and
    ``vnsearch cluster serve`` (private Ray, 1 replica per shard), each a subprocess on
    127.0.0.1 measured once ``/health`` answers."""
    one, shards = build_for_serving(corpus, base, home, backend)
    ways = {"vnsearch serve": ["serve", "--index", str(one)],
            "serve --cluster (1 process)": ["serve", "--cluster", str(shards / "cluster.json")],
            "cluster serve (Ray Serve)": ["cluster", "serve", str(shards)]}
    env = {**os.environ, "VNSEARCH_HOME": str(home), "VNSEARCH_ENCODER_BACKEND": backend}
    return measure_ways(ways, env, base, requests)[0]


def measure_ways(ways: dict[str, list[str]], env: dict[str, str], logs: Path,
                 requests: int = 48, modes: tuple[str, ...] = ("hybrid",),
                 sample: int = 0) -> tuple[list[ServeRow], dict[str, dict]]:
    """Start each way (``vnsearch`` arguments) in turn on a free port, warm it up, record the
    top-10 (article id, score) of ``sample`` queries per mode (``min_relevance=0``), then
    p50/p99 per mode at each of :data:`SERVE_LEVELS` clients (distinct queries, the same
    ones for every way); stop it (SIGTERM: ``cluster serve`` shuts its private Ray down)."""
    import subprocess
    import urllib.parse

    from bench.query import drive, free_port, load_queries, search_path

    queries = load_queries()
    rows: list[ServeRow] = []
    answers: dict[str, dict] = {}
    for name, args in ways.items():
        port = free_port()
        with (logs / f"serve-{port}.log").open("w") as log:
            proc = subprocess.Popen([sys.executable, "-m", "search_api", *args, "--port",
                                     str(port)], cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            _wait_for_health(port, proc)
            drive(port, [search_path(q, "hybrid", 10) for q in queries[:8]], 1)  # warm-up
            answers[name] = {mode: [_top(port, "/search?" + urllib.parse.urlencode(
                {"q": q, "mode": mode, "k": 10, "min_relevance": 0}))
                for q in queries[8:8 + sample]] for mode in modes} if sample else {}
            start = 8 + sample
            for mode in modes:
                for clients in SERVE_LEVELS:
                    batch = queries[start:start + requests]
                    start += requests
                    got = drive(port, [search_path(q, mode, 10) for q in batch], clients)
                    rows.append(ServeRow(name, clients, got["p50"], got["p99"], got["rps"],
                                         sum(got["errors"].values()), mode))
        finally:
            proc.terminate()  # SIGTERM: `cluster serve` shuts its private Ray down
            proc.wait(120)
    return rows, answers


def _top(port: int, path: str) -> list[tuple[str, float]]:
    import http.client
    import json

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", path)
    body = json.loads(conn.getresponse().read())
    conn.close()
    return [(hit["article_id"], hit["score"]) for hit in body["results"]]


def _wait_for_health(port: int, proc, timeout: float = 600) -> None:
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit(f"server on port {port} not ready after {timeout} s")


def print_serving(rows: list[ServeRow]) -> None:
    """The serving table, with p50 ratios to ``vnsearch serve`` at the same clients."""
    first = rows[0].name
    base = {(row.mode, row.clients): row.p50 for row in rows if row.name == first}
    print(f"\n{'serving':<30}{'mode':>8}{'clients':>8}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>8}"
          f"{'p50 ratio':>10}{'errors':>7}")
    for row in rows:
        print(f"{row.name:<30}{row.mode:>8}{row.clients:>8}{row.p50:>9.1f}{row.p99:>9.1f}"
              f"{row.rps:>8.1f}{row.p50 / base[(row.mode, row.clients)]:>10.2f}{row.errors:>7}")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"\n(bench ran {time.perf_counter() - started:.0f} s)")
