"""Soak test: a real `vnsearch serve` on a copy of an index, mixed reads and writes for N minutes.

    .venv/bin/python bench/soak.py --index demo-index --minutes 10

Starts the server on 127.0.0.1 (free port) with its own VNSEARCH_ADMIN_TOKEN, then drives it
with --readers threads (GET /search with real queries from vinewsqa-dev) and --writers
threads (POST /articles of real danes-headlines articles, DELETE some of them). Reports
errors (must be 0), latency p50/p99 per minute per kind (drift) and the server's RSS at
start and end. Exit status 1 when any request failed.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float | None:
    try:
        import psutil  # type: ignore

        return psutil.Process(pid).memory_info().rss / 2**20
    except ImportError:
        pass
    except Exception:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def read_jsonl(path: Path, limit: int) -> list[dict]:
    out = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                out.append(json.loads(line))
            if len(out) >= limit:
                break
    return out


def request(method: str, url: str, body: dict | None = None, token: str | None = None,
            timeout: float = 60) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", required=True, type=Path, help="index to copy and serve")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--readers", type=int, default=3)
    ap.add_argument("--writers", type=int, default=1)
    ap.add_argument("--max-requests", type=int, default=100_000, help="upper bound, all threads")
    ap.add_argument("--read-pause", type=float, default=0.0, help="seconds between reads/thread")
    ap.add_argument("--write-pause", type=float, default=0.5, help="seconds between writes/thread")
    ap.add_argument("--home", type=Path, default=None, help="VNSEARCH_HOME (default: env or ~/.cache)")
    args = ap.parse_args()

    queries = [r["query"] for r in read_jsonl(SHARED / "eval" / "vinewsqa-dev.jsonl", 2000)]
    articles = read_jsonl(SHARED / "news" / "danes-headlines.jsonl", 5000)
    work = Path(tempfile.mkdtemp(prefix="vnsearch-soak-"))
    index = work / "index"
    shutil.copytree(args.index, index, ignore=shutil.ignore_patterns("write.lock"))
    token = secrets.token_hex(16)
    port = free_port()
    env = dict(os.environ, VNSEARCH_ADMIN_TOKEN=token, PYTHONIOENCODING="utf-8")
    if args.home:
        env["VNSEARCH_HOME"] = str(args.home)
    log_path = work / "serve.log"
    log = log_path.open("w")
    server = subprocess.Popen([sys.executable, "-m", "search_api", "serve", "--index", str(index),
                               "--host", "127.0.0.1", "--port", str(port)], cwd=REPO, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.monotonic()
        while True:
            if server.poll() is not None:
                print(log_path.read_text()[-3000:], file=sys.stderr)
                return 2
            try:
                status, body = request("GET", base + "/health", timeout=2)
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() - t0 > 180:
                print("server did not come up", file=sys.stderr)
                return 2
            time.sleep(0.3)
        health0 = json.loads(body)
        rss_start = rss_mib(server.pid)
        print(f"server pid {server.pid} on {base}, up in {time.monotonic() - t0:.1f} s; "
              f"{health0['articles']} articles, {health0['passages']} passages; "
              f"RSS {rss_start:.0f} MiB" if rss_start else "RSS ?", flush=True)

        started = time.monotonic()
        deadline = started + args.minutes * 60
        lock = threading.Lock()
        lat: dict[tuple[int, str], list[float]] = defaultdict(list)
        counts: Counter = Counter()
        errors: list[str] = []
        sent = [0]
        next_article = [0]

        def record(kind: str, seconds: float, status: int, body: bytes, ok: set[int]) -> None:
            minute = int((time.monotonic() - started) // 60)
            with lock:
                lat[(minute, kind)].append(seconds * 1000)
                counts[kind] += 1
                if status not in ok:
                    errors.append(f"{kind} {status}: {body[:200].decode(errors='replace')}")

        def budget() -> bool:
            with lock:
                if sent[0] >= args.max_requests or time.monotonic() >= deadline:
                    return False
                sent[0] += 1
                return True

        def reader(seed: int) -> None:
            i = seed
            while budget():
                q = queries[i % len(queries)]
                mode = ("hybrid", "lexical", "hybrid", "dense")[i % 4]
                url = base + "/search?" + urllib.parse.urlencode({"q": q, "k": 10, "mode": mode})
                t = time.perf_counter()
                try:
                    status, body = request("GET", url)
                except OSError as exc:
                    status, body = -1, repr(exc).encode()
                record("search", time.perf_counter() - t, status, body, {200})
                i += 7
                if args.read_pause:
                    time.sleep(args.read_pause)

        def writer(seed: int) -> None:
            mine: list[str] = []
            while budget():
                with lock:
                    art = articles[next_article[0] % len(articles)]
                    next_article[0] += 1
                delete = len(mine) >= 3 and next_article[0] % 3 == 0
                t = time.perf_counter()
                try:
                    if delete:
                        target = mine.pop(0)
                        status, body = request("DELETE", base + "/articles/" + urllib.parse.quote(
                            target, safe=""), token=token)
                        kind = "delete"
                    else:
                        payload = {k: art.get(k) for k in ("id", "title", "text", "url", "source",
                                                           "published", "category")}
                        status, body = request("POST", base + "/articles", payload, token=token)
                        kind = "post"
                        if status == 200:
                            mine.extend(json.loads(body)["article_ids"])
                except OSError as exc:
                    status, body, kind = -1, repr(exc).encode(), "write"
                record(kind, time.perf_counter() - t, status, body, {200})
                time.sleep(args.write_pause)

        threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(args.readers)]
        threads += [threading.Thread(target=writer, args=(i,), daemon=True) for i in range(args.writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        rss_end = rss_mib(server.pid)
        _, body = request("GET", base + "/health")
        health1 = json.loads(body)

        print(f"\n{sum(counts.values())} requests in {elapsed:.0f} s "
              f"({sum(counts.values()) / elapsed:.1f}/s): {dict(counts)}")
        print(f"{'minute':>6} {'kind':>7} {'n':>6} {'p50 ms':>8} {'p99 ms':>8}")
        for (minute, kind) in sorted(lat):
            values = lat[(minute, kind)]
            print(f"{minute:>6} {kind:>7} {len(values):>6} {statistics.median(values):>8.1f} "
                  f"{pct(values, 0.99):>8.1f}")
        print(f"server RSS: start {rss_start or float('nan'):.0f} MiB, end "
              f"{rss_end or float('nan'):.0f} MiB")
        print(f"index: {health0['articles']} → {health1['articles']} articles, generation "
              f"{health0['generation']} → {health1['generation']}")
        print(f"errors: {len(errors)}")
        for line in Counter(errors).most_common(10):
            print(f"  {line[1]}× {line[0]}")
        check = subprocess.run([sys.executable, "-m", "search_api", "check", "--index", str(index)],
                               cwd=REPO, env=env, capture_output=True, text=True)
        print(f"check after soak (server still up): {(check.stdout or check.stderr).strip()}")
        return 1 if errors else 0
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
