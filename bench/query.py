"""Query service benchmark: latency and throughput of ``GET /search`` under concurrency.

    .venv/bin/python bench/query.py --passages 2000                 # build + measure
    .venv/bin/python bench/query.py --index /tmp/bench-20k          # reuse (or build) DIR
    .venv/bin/python bench/query.py --index DIR --passages 20000 --max-embed 20000

Builds (or reuses, with ``--index DIR`` pointing at an existing index) an index of real
news from ../shared/data/news (the four files, interleaved round-robin so every outlet and
article length is represented), stops at ``--passages`` passages or ``--max-articles``
articles, starts ``vnsearch serve`` as a subprocess on 127.0.0.1, waits for /health, and
drives ``GET /search`` with 1, 8 and 32 keep-alive HTTP clients (threads), a fixed number
of requests each, using real questions of ../shared/data/eval/vinewsqa-dev.jsonl.

Rows per concurrency level:

* ``distinct``: every request a query not sent before in this run (the server's query-vector
  LRU never hits, so each request pays query encoding);
* ``repeated``: the same 16 queries over and over (after one warm pass: cache hits, no
  encoding) — the difference is the encoder's share;
* ``health`` (baseline, once): ``GET /health`` at concurrency 1 — HTTP + framework overhead.

The server is measured once its lexical index is ready (``/health`` ``lexical_index``);
``--compare-fts`` repeats everything with lexical search on FTS5 and prints the ratios;
``--rate R`` offers R requests/s (open loop) instead of saturating the server.

Each row is the median of ``--runs`` runs (p50/p95/p99 latency, requests/s); ratios are
against the concurrency-1 row of the same run (throughput scaling) and distinct/repeated.
Also printed: the server's peak RSS (VmHWM), the server-side ``took_ms`` median,
bytes on disk per passage (``vnsearch stats --json``).

Building: embedding dominates (the int8 default embeds 40-90 passages/s on 2 cores, so 20k
passages take ~5 min and 200k about an hour). Embeddings are cached in
``$VNSEARCH_HOME/embeddings.sqlite`` by text, so before building the script counts how many
passages are NOT in the cache and refuses when that exceeds ``--max-embed`` (default 5000):
a large index is built cheaply only from cached embeddings (e.g. after an earlier, resumable
run — every batch of 64 articles is committed, so an interrupted build resumes where it
stopped). The four news files hold ~19.7k articles; see bench/README.md for the big sizes.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from served import ServedProcess  # noqa: E402  (bench/ is on sys.path when run)

SHARED = ROOT.parent / "shared" / "data"
NEWS = [SHARED / "news" / name for name in
        ("dantri-unc.jsonl", "baomoi.jsonl.gz", "crawlnews-2026.jsonl", "danes-headlines.jsonl")]
QUERIES = SHARED / "eval" / "vinewsqa-dev.jsonl"
VNSEARCH = [sys.executable, "-m", "search_api"]


# -- corpus / index -------------------------------------------------------------------------
def interleaved_articles():
    """Articles of the news files, round-robin (one of each file in turn)."""
    from indexer.article import Article
    from indexer.readers import iter_inputs

    streams = [(a for a in iter_inputs([p]) if isinstance(a, Article)) for p in NEWS if p.exists()]
    for group in itertools.zip_longest(*streams):
        for article in group:
            if article is not None:
                yield article


def plan_corpus(encoder, settings, max_articles: int | None, max_passages: int | None):
    """Pick articles until the limits; count their passages and those missing from the cache.

    Chunks exactly as the writer does (same functions, same token limit) so the counts match.
    """
    from indexer.chunking import ChunkSettings, chunk_text
    from indexer.cleaning import clean_text
    from indexer.embed_cache import EmbeddingCache
    from indexer.writer import clean_title, embedding_text
    from indexer.writer import cache_key

    chunking = ChunkSettings(min_words=settings.chunk_min_words, max_words=settings.chunk_max_words)
    articles, texts = [], []
    for raw in interleaved_articles():
        if max_articles is not None and len(articles) >= max_articles:
            break
        if max_passages is not None and len(texts) >= max_passages:
            break
        title = clean_title(raw.title)
        text = clean_text(raw.text or "", title=title)
        if not text.strip():
            continue
        passages = chunk_text(text, chunking, encoder.count_tokens, encoder.info.max_tokens - 24)
        articles.append(raw)
        texts.extend(embedding_text(title, p.text, settings.chunk_title_context) for p in passages)
    unique = list(dict.fromkeys(texts))
    cache = EmbeddingCache(settings.embedding_cache_path, cache_key(encoder),
                           encoder.info.dimension)
    try:
        missing = len(unique) - len(cache.get_many(unique))
    finally:
        cache.close()
    return articles, unique, missing


def build_index(index_dir: Path, args) -> None:
    from indexer.encoders import create_encoder
    from indexer.settings import Settings
    from indexer.writer import index_articles

    settings = Settings()
    encoder = create_encoder(settings)
    t = time.perf_counter()
    articles, unique, missing = plan_corpus(encoder, settings, args.max_articles, args.passages)
    print(f"corpus: {len(articles)} articles, ~{len(unique)} distinct passages; {missing} not in "
          f"the embedding cache ({settings.embedding_cache_path}) [planned in "
          f"{time.perf_counter() - t:.0f} s]", flush=True)
    if args.stand_in_vectors:
        from standin import StandInEncoder, private_home, real_pool

        pool_texts = unique[:args.stand_in_vectors]
        pool = real_pool(encoder, settings, pool_texts)
        home = private_home(settings.home, Path(tempfile.mkdtemp(prefix="vnsearch-standin-")))
        settings = settings.model_copy(update={"home": home})
        encoder = StandInEncoder(encoder, pool_texts, pool)
        print(f"stand-in vectors: {len(pool_texts)} real, the rest copies + noise "
              f"(bench/standin.py); private home {home}", flush=True)
    elif missing > args.max_embed:
        sys.exit(f"refusing to embed {missing} passages (> --max-embed {args.max_embed}): at a few "
                 f"tens of passages/s on 2 cores that is ~{missing / 25 / 60:.0f} min. Build it once "
                 "with a larger --max-embed (resumable: re-running skips committed articles and "
                 "cached embeddings), or use a smaller --passages.")

    def progress(total, n_new):
        done = total.added + total.updated + total.unchanged + total.duplicates
        if done and done % 640 == 0:
            print(f"  {done} articles, {total.passages_added} passages, {total.embedded} embedded",
                  file=sys.stderr, flush=True)

    summary = index_articles(index_dir, articles, settings, encoder, progress=progress)
    rate = summary.embedded / summary.seconds if summary.seconds else 0.0
    print(f"indexed: {summary.added} added, {summary.unchanged} unchanged, {summary.duplicates} "
          f"duplicates; {summary.passages_added} passages; embedded {summary.embedded} "
          f"(+{summary.embedded_from_cache} cached) in {summary.seconds:.0f} s "
          f"({rate:.1f} embedded/s)", flush=True)


def index_stats(index_dir: Path) -> dict:
    out = subprocess.run([*VNSEARCH, "stats", "--index", str(index_dir), "--json"], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


# -- server ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vm_hwm_mib(pid: int) -> float | None:
    """Peak resident set size of a process (VmHWM), MiB."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / 2**20  # current, not peak
    except Exception:
        return None


def vm_rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def tree_pss_mib(pid: int) -> float | None:
    """Proportional set size of a process and all its descendants (shared pages counted
    once in all): what N worker processes really take together."""
    try:
        import psutil

        procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
        return sum(p.memory_full_info().pss for p in procs) / 2**20
    except Exception:
        return None


class Server(ServedProcess):
    """``vnsearch serve`` on 127.0.0.1."""

    name = "server"

    def __init__(self, index_dir: Path, port: int, log: Path, env: dict[str, str],
                 workers: int = 1) -> None:
        super().__init__([*VNSEARCH, "serve", "--index", str(index_dir), "--host", "127.0.0.1",
                          "--port", str(port), "--workers", str(workers)], port, log,
                         {**os.environ, **env}, cwd=ROOT)

    def wait_ready(self, want_lexical: str, timeout: float = 900) -> float:
        """Ready = answering and, when the index gets one, its lexical matrix in use
        ("memory" stands for the matrix: mapped from the writer's files or built)."""
        def ready(status: int, body: bytes) -> bool:
            got = json.loads(body)["lexical_index"]
            return status == 200 and (got == want_lexical or
                                      (want_lexical == "memory" and got == "mmap"))

        return self.poll_ready("/health", ready, timeout)


# -- load -----------------------------------------------------------------------------------
def load_queries() -> list[str]:
    out = []
    with QUERIES.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                out.append(json.loads(line)["query"])
    return list(dict.fromkeys(" ".join(q.split()) for q in out))


def drive(port: int, paths: list[str], concurrency: int, rate: float | None = None) -> dict:
    """Send every path once with ``concurrency`` keep-alive clients; latencies in ms.

    ``rate`` None: closed loop (each client sends its next request as soon as the last one
    is answered: the server is saturated, latency = clients / throughput). ``rate`` R: open
    loop, request i is due at start + i/R and its latency counts from that moment (so time
    spent waiting for a free client is included: no coordinated omission).
    """
    lock = threading.Lock()
    todo = iter(enumerate(paths))
    start = time.perf_counter() + 0.05
    latencies: list[float] = []
    took: list[float] = []
    errors: dict[str, int] = {}

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                item = next(todo, None)
            if item is None:
                break
            i, path = item
            if rate:
                t = start + i / rate
                wait = t - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
            else:
                t = time.perf_counter()
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                body = resp.read()
                ms = (time.perf_counter() - t) * 1000
                with lock:
                    if resp.status == 200:
                        latencies.append(ms)
                        if b'"took_ms"' in body:
                            took.append(json.loads(body)["took_ms"])
                    else:
                        errors[str(resp.status)] = errors.get(str(resp.status), 0) + 1
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    t = start
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 \
        else [latencies[0]] * 99 if latencies else [float("nan")] * 99
    return {"p50": q[49], "p95": q[94], "p99": q[98], "rps": len(latencies) / wall,
            "took": statistics.median(took) if took else float("nan"), "ok": len(latencies),
            "errors": errors}


PROBE_TOKEN = "bench-write-probe"


def _get_json(conn: http.client.HTTPConnection, path: str) -> dict:
    conn.request("GET", path)
    resp = conn.getresponse()
    return json.loads(resp.read())


def write_probe(port: int, lexical: str) -> dict:
    """POST one new article through the API while /health is polled every 10 ms: how long
    the write takes, when the article is found by a lexical search, and the longest stretch
    in which /health reported a lexical index other than ``lexical`` (an FTS5 window).
    Printed, and returned in ms (``ack_ms``, ``visible_ms`` — None if not found in 30 s —
    and ``fts_window_ms``)."""
    word = f"vnsearchprobe{int(time.time())}"
    body = json.dumps({"title": f"Bài thử {word}", "url": f"https://example.org/{word}",
                       "text": f"Đoạn văn thử nghiệm {word} cho phép đo ghi qua API. " * 8,
                       "source": "bench"}).encode()
    samples: list[tuple[float, str]] = []
    stop = threading.Event()

    def poll() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while not stop.is_set():
            samples.append((time.perf_counter(), _get_json(conn, "/health")["lexical_index"]))
            time.sleep(0.01)
        conn.close()

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.5)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    t0 = time.perf_counter()
    conn.request("POST", "/articles", body=body, headers={
        "Authorization": f"Bearer {PROBE_TOKEN}", "Content-Type": "application/json"})
    resp = conn.getresponse()
    resp.read()
    acked = time.perf_counter() - t0
    visible = None
    while time.perf_counter() - t0 < 30:
        found = _get_json(conn, search_path(word, "lexical", 3)).get("results")
        if found:
            visible = time.perf_counter() - t0
            break
        time.sleep(0.01)
    time.sleep(3)
    stop.set()
    poller.join()
    conn.close()
    worst = current = 0.0
    start = None
    for t, value in samples:
        if value != lexical and start is None:
            start = t
        elif value == lexical and start is not None:
            current, start = t - start, None
            worst = max(worst, current)
    if start is not None:
        worst = max(worst, samples[-1][0] - start)
    others = sorted({v for _, v in samples if v != lexical})
    print(f"write probe: POST /articles {resp.status} acknowledged in {acked * 1000:.0f} ms, "
          f"found by search after {visible * 1000 if visible else float('nan'):.0f} ms; "
          f"/health polled {len(samples)} times: longest stretch not on '{lexical}' "
          f"{worst * 1000:.0f} ms {others or ''}", flush=True)
    return {"ack_ms": acked * 1000, "visible_ms": visible * 1000 if visible else None,
            "fts_window_ms": worst * 1000}


def search_path(query: str, mode: str, k: int) -> str:
    return "/search?" + urllib.parse.urlencode({"q": query, "mode": mode, "k": k})


def median_row(runs: list[dict]) -> dict:
    out = {key: statistics.median(r[key] for r in runs) for key in ("p50", "p95", "p99", "rps",
                                                                      "took")}
    out["ok"] = sum(r["ok"] for r in runs)
    errors: dict[str, int] = {}
    for r in runs:
        for key, value in r["errors"].items():
            errors[key] = errors.get(key, 0) + value
    out["errors"] = errors
    return out


def fmt_row(label: str, c: int, row: dict, base_rps: float | None) -> str:
    ratio = f"{row['rps'] / base_rps:5.2f}x" if base_rps else "    – "
    err = ",".join(f"{k}:{v}" for k, v in row["errors"].items()) or "0"
    return (f"{label:9s} {c:4d} {row['p50']:9.1f} {row['p95']:9.1f} {row['p99']:9.1f} "
            f"{row['rps']:8.1f} {ratio:>7s} {row['took']:9.1f} {row['ok']:6d}  {err}")


def measure(index_dir: Path, args, levels: list[int], queries: list[str], stats: dict,
            lexical: str, env: dict[str, str], workers: int = 1,
            txtai_config: str | None = None) -> dict:
    """Start a server (vnsearch, or txtai's API with ``txtai_config``), drive it at every
    concurrency level; distinct-query rows by level, plus ``ready_s`` and ``pss_mib``."""
    port = args.port or free_port()
    log = Path(tempfile.gettempdir()) / f"vnsearch-bench-serve-{port}.log"
    if txtai_config:
        from txtai_api import TxtaiServer
        from txtai_api import search_path as txtai_path

        server = TxtaiServer(txtai_config, port, log)
        path_of, health_path = (lambda q: txtai_path(q, args.k)), "/count"
    else:
        if args.write_probe:
            env = {**env, "VNSEARCH_ADMIN_TOKEN": PROBE_TOKEN}
        server = Server(index_dir, port, log, env, workers)
        path_of, health_path = (lambda q: search_path(q, args.mode, args.k)), "/health"
    try:
        ready_s = server.wait_ready(lexical)
        if workers > 1:  # /health answered by one worker: let the others finish loading
            time.sleep(float(os.environ.get("BENCH_WORKER_SETTLE_S", "10")))
        pid = server.proc.pid
        pss_idle = tree_pss_mib(pid)
        rss_idle = vm_rss_mib(pid) if workers == 1 else pss_idle
        load = f"open loop, {args.rate:g} req/s offered" if args.rate else "closed loop"
        print(f"server pid {pid} ready in {ready_s:.1f} s (lexical index {lexical}), RSS {rss_idle:.0f} MiB; mode "
              f"{args.mode}, k {args.k}, {args.requests} requests per row, median of "
              f"{args.runs} runs; load: {load}; {len(queries)} distinct queries available",
              flush=True)
        fresh = iter(queries)
        warm = [path_of(q) for q in itertools.islice(fresh, 16)]
        drive(port, warm, 1)  # warm-up (first-request costs); these 16 become "repeated"
        needed = args.requests * args.runs * len(levels)
        if needed > len(queries) - 16:
            print(f"warning: {needed} distinct requests wanted, {len(queries) - 16} available: "
                  "queries repeat, some hit the query-vector cache", flush=True)
            fresh = itertools.cycle(queries[16:])

        health = median_row([drive(port, [health_path] * args.requests, 1)
                             for _ in range(args.runs)])
        print("\nrow       conc   p50 ms    p95 ms    p99 ms    req/s   vs c=1  took ms     ok  errors")
        print(fmt_row("health", 1, health, None), flush=True)
        distinct_rows, repeated_rows, peaks = {}, {}, {}
        for c in levels:
            runs = []
            for _ in range(args.runs):
                paths = [path_of(q) for q in itertools.islice(fresh, args.requests)]
                runs.append(drive(port, paths, c, args.rate))
            distinct_rows[c] = median_row(runs)
            repeated_rows[c] = median_row(
                [drive(port, [warm[i % len(warm)] for i in range(args.requests)], c, args.rate)
                 for _ in range(args.runs)])
            peaks[c] = tree_pss_mib(pid)  # all server processes, shared pages once
            base = distinct_rows[levels[0]]["rps"]
            print(fmt_row("distinct", c, distinct_rows[c], base), flush=True)
            print(fmt_row("repeated", c, repeated_rows[c],
                          repeated_rows[levels[0]]["rps"]), flush=True)
        if args.write_probe and not txtai_config:
            write_probe(port, "mmap" if lexical == "memory" else lexical)
    finally:
        server.stop()

    print("\nlatency p50 distinct/repeated (encoder share) and distinct/health (vs bare HTTP):")
    for c in levels:
        d, r = distinct_rows[c], repeated_rows[c]
        print(f"  c={c:<3d} p50 {d['p50'] / r['p50']:5.2f}x of repeated, "
              f"{d['p50'] / health['p50']:6.1f}x of /health; req/s distinct/repeated "
              f"{d['rps'] / r['rps']:.2f}; server PSS after this level "
              f"{peaks[c]:.0f} MiB")
    print(f"server RSS idle after startup {rss_idle:.0f} MiB, "
          f"PSS after load {max(peaks.values()):.0f} MiB; "
          f"{stats['bytes_per_passage']:.0f} bytes/passage on disk "
          f"({stats['passages']} passages); server log {log}")
    return {**distinct_rows, "ready_s": ready_s, "pss_mib": pss_idle,
            "pss_load_mib": max(peaks.values())}


def measure_txtai(index_dir: Path, args, levels: list[int], queries: list[str],
                  stats: dict) -> dict:
    """Index the same passages with txtai and measure its API (bench/txtai_api.py)."""
    from txtai_api import build

    from indexer.models import resolve_model
    from indexer.settings import Settings

    print("\n=== txtai API (txtai.api, uvicorn) ===", flush=True)
    config = args.txtai_config
    if config is None:
        work = Path(tempfile.mkdtemp(prefix="vnsearch-bench-txtai-"))
        built = build(index_dir, work, resolve_model(Settings())[2])
        config = built["config"]
        print(f"txtai indexed {built['passages']} passages in {built['index_s']:.0f} s "
              f"({built['passages'] / built['index_s']:.1f}/s); reuse: --txtai-config {config}",
              flush=True)
    return measure(index_dir, args, levels, queries, stats, "", {}, txtai_config=str(config))


def print_side_by_side(systems: dict[str, dict], levels: list[int]) -> None:
    """One table: every system measured in this run, distinct queries."""
    print("\nside by side, same run, same queries (distinct):")
    print(f"  {'system':26s} {'ready s':>8s} {'PSS MiB':>8s} {'loaded':>7s}  " + "  ".join(
        f"c={c}: p50/p99 ms, req/s".ljust(30) for c in levels))
    for name, rows in systems.items():
        cells = "  ".join(f"{rows[c]['p50']:7.1f} /{rows[c]['p99']:7.1f}, {rows[c]['rps']:6.1f}".ljust(30)
                          for c in levels)
        print(f"  {name:26s} {rows['ready_s']:8.1f} {rows['pss_mib'] or float('nan'):8.0f} "
              f"{rows['pss_load_mib'] or float('nan'):7.0f}  {cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=None,
                        help="Index directory: reused when it holds an index, else built there "
                             "(default: a temporary directory).")
    parser.add_argument("--passages", type=int, default=None,
                        help="Build: stop adding articles once this many passages are planned.")
    parser.add_argument("--max-articles", type=int, default=None, help="Build: at most N articles.")
    parser.add_argument("--max-embed", type=int, default=5000,
                        help="Build: refuse when more passages than this need embedding (not cached).")
    parser.add_argument("--stand-in-vectors", type=int, default=None, metavar="N",
                        help="Build: embed only the first N distinct passages for real; the "
                             "others get noisy copies of those vectors (bench/standin.py) — "
                             "for serving benchmarks only, dense answers mean nothing.")
    parser.add_argument("--concurrency", default="1,8,32", help="Comma-separated client counts.")
    parser.add_argument("--requests", type=int, default=200,
                        help="Requests per row and run (0: build the index only).")
    parser.add_argument("--runs", type=int, default=3, help="Runs per row (median reported).")
    parser.add_argument("--mode", choices=["hybrid", "dense", "lexical"], default="hybrid")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--rate", type=float, default=None,
                        help="Open loop: offer R requests/s in all (spread over the clients) "
                             "instead of saturating the server; latency counts from each "
                             "request's due time.")
    parser.add_argument("--compare-workers", type=int, default=None, metavar="N",
                        help="Then measure again with `vnsearch serve --workers N` and print "
                             "the ratios (memory: PSS of all server processes together).")
    parser.add_argument("--write-probe", action="store_true",
                        help="After the load rows, POST one article through the API and report "
                             "the write time, when it is searchable and the longest FTS5 window "
                             "(/health polled every 10 ms). Changes the index.")
    parser.add_argument("--txtai", action="store_true",
                        help="Then index the same passages with txtai (hybrid, same model) and "
                             "measure txtai's own API the same way (bench/txtai_api.py).")
    parser.add_argument("--txtai-config", type=Path, default=None,
                        help="With --txtai: reuse the txtai index a previous run built (the "
                             "config file it printed) instead of indexing again.")
    parser.add_argument("--compare-fts", action="store_true",
                        help="Then measure again with lexical search on FTS5 (no in-memory "
                             "matrix) and print the ratios.")
    args = parser.parse_args()
    levels = [int(x) for x in args.concurrency.split(",") if x.strip()]
    if args.passages is None and args.max_articles is None and args.index is None:
        args.passages = 2000

    tmp = None
    index_dir = args.index
    if index_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="vnsearch-bench-query-")
        index_dir = Path(tmp.name) / "index"
    try:
        if (index_dir / "manifest.json").exists() and args.passages is None \
                and args.max_articles is None:
            print(f"reusing index {index_dir}", flush=True)
        else:
            if args.passages is None and args.max_articles is None:
                args.passages = 2000
            build_index(index_dir, args)
        stats = index_stats(index_dir)
        print(f"index: {stats['articles']} articles, {stats['passages']} passages, vector index "
              f"{stats['vector_index']}, {stats['bytes'] / 2**20:.1f} MiB on disk, "
              f"{stats['bytes_per_passage']:.0f} bytes/passage", flush=True)

        if args.requests <= 0:
            return  # build only
        from indexer.settings import Settings

        queries = load_queries()
        configs = [("memory", {})]
        if args.compare_fts:
            configs.append(("fts5", {"VNSEARCH_LEXICAL_MATRIX_MIN_PASSAGES": str(10**12)}))
        elif stats["passages"] < Settings().lexical_matrix_min_passages:  # noqa: SIM114
            configs = [("fts5", {})]
        results = {}
        for lexical, env in configs:
            print(f"\n=== lexical index: {lexical} ===", flush=True)
            results[lexical] = measure(index_dir, args, levels, queries, stats, lexical, env)
        systems = {"vnsearch (1 worker)": results[configs[0][0]]}
        if args.compare_workers:
            lexical = configs[0][0]
            print(f"\n=== vnsearch serve --workers {args.compare_workers} ===", flush=True)
            many = measure(index_dir, args, levels, queries, stats, lexical, configs[0][1],
                           args.compare_workers)
            one = results[lexical]
            systems[f"vnsearch --workers {args.compare_workers}"] = many
            print(f"\n1 worker vs {args.compare_workers}, same run (distinct queries):")
            for c in levels:
                a, b = one[c], many[c]
                print(f"  c={c:<3d} req/s {a['rps']:.1f} -> {b['rps']:.1f} "
                      f"({b['rps'] / a['rps']:.2f}x), p50 {a['p50']:.1f} -> {b['p50']:.1f} ms, "
                      f"p99 {a['p99']:.1f} -> {b['p99']:.1f} ms")
        if args.txtai:
            systems["txtai API"] = measure_txtai(index_dir, args, levels, queries, stats)
        if len(systems) > 1:
            print_side_by_side(systems, levels)
        if len(results) == 2:
            print("\nin-memory lexical vs FTS5, same run (distinct queries):")
            for c in levels:
                m, f = results["memory"][c], results["fts5"][c]
                print(f"  c={c:<3d} p50 {f['p50']:.1f} -> {m['p50']:.1f} ms "
                      f"({f['p50'] / m['p50']:.2f}x), p99 {f['p99']:.1f} -> {m['p99']:.1f} ms, "
                      f"req/s {f['rps']:.1f} -> {m['rps']:.1f} ({m['rps'] / f['rps']:.2f}x)")
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
