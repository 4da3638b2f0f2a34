"""Issue 15, part 3: ``vnsearch cluster serve`` on three shards of 150 real Dân trí
articles answers over HTTP exactly as the in-process :class:`ClusterSearcher` does (same
articles, passages and scores), with ``/retrieve``, ``/articles``, ``/health`` and the
page; a shard replica killed while serving gives ``partial: true`` naming the shard, then
Serve restarts it and answers are whole again; no process of its private Ray holds a
socket off the loopback, and SIGTERM leaves none of them running.

Every Ray process here is started by this module (the command's private Ray, on
127.0.0.1); never ``ray stop``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import re
import time
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="the ray extra is not installed (pip install vnsearch[ray])")

from indexer.readers import iter_inputs  # noqa: E402
from indexer.sharding import ShardSpec, shard_of  # noqa: E402
from indexer.writer import index_articles  # noqa: E402
from search_api.cluster.ray_runtime import (process_tree, processes_alive,  # noqa: E402
                                            ray_processes_listening_off_loopback)
from search_api.cluster.searcher import ClusterSearcher  # noqa: E402
from search_api.cluster.stats import build_cluster_file  # noqa: E402
from search_api.schemas import search_request  # noqa: E402

from conftest import REPO, SEED  # noqa: E402

# Ray Serve's own pydantic models warn on import; not ours to fix.
pytestmark = [pytest.mark.ray, pytest.mark.filterwarnings("ignore::DeprecationWarning:ray")]
CLI = [sys.executable, "-m", "search_api", "cluster", "serve"]
ARTICLES, SHARDS = 150, 3
TIMEOUT_S = 2.0  # how long the ingress waits for a shard
TONED, TONELESS = "thi hành án dân sự", "tai nan giao thong"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def cluster_file(tmp_path_factory, settings, encoder, dantri300):
    """The seed article and the first 150 Dân trí articles in three shards, built by
    ``vnsearch cluster index``'s library call (its routing, writers and cluster.json; the
    embeddings come from the suite's cache: the actors embed only passages not in it)."""
    from search_api.cluster.ray_index import cluster_index

    root = tmp_path_factory.mktemp("ray-serve")
    corpus = root / "head.jsonl"
    lines = dantri300.read_text(encoding="utf-8").splitlines(keepends=True)[:ARTICLES]
    corpus.write_text("".join(lines), encoding="utf-8")
    report = cluster_index([SEED, corpus], root / "shards", SHARDS, settings, encoder=encoder)
    assert report is not None
    cluster = root / "shards" / "cluster.json"
    assert cluster.exists()
    return cluster


READY = re.compile(r"serving \d+ shards × \d+ replicas on (http://\S+) \(private Ray at (\S+)\)")


def _wait_for_ready(proc: subprocess.Popen, log: Path, timeout_s: float = 240) -> re.Match:
    """The CLI's ready line (printed once the app answers)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8")
        if (ready := READY.search(text)) is not None:
            return ready
        assert proc.poll() is None, text[-3000:]
        time.sleep(0.5)
    raise AssertionError("vnsearch cluster serve did not come up: "
                         + log.read_text(encoding="utf-8")[-3000:])


@pytest.fixture(scope="module")
def served(cluster_file, settings, tmp_path_factory):
    """``vnsearch cluster serve DIR`` in a subprocess (a private Ray), with this process
    connected to that Ray as a second driver (to find a replica's pid). On exit: SIGTERM,
    and every process the command started must be gone."""
    import httpx

    from search_api.cluster.ray_runtime import ray_session
    from search_api.cluster.ray_serve import send_token_to_address

    log = tmp_path_factory.mktemp("serve-log") / "serve.log"
    env = dict(os.environ, VNSEARCH_HOME=str(settings.home), PYTHONIOENCODING="utf-8")
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as err:
        proc = subprocess.Popen([*CLI, str(cluster_file.parent), "--port", str(_free_port()),
                                 "--timeout-s", str(TIMEOUT_S)],
                                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        url, address = _wait_for_ready(proc, log).groups()
        print(f"\nvnsearch cluster serve up in {time.monotonic() - started:.1f} s")
        send_token_to_address()  # as `cluster serve --address` does
        with ray_session(address) as session, httpx.Client(base_url=url, timeout=60) as client:
            assert not session.started  # only connected: leaving must not stop the cluster
            yield {"client": client, "pid": proc.pid, "address": address}
        tree = process_tree([proc.pid])
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(120)
    assert code == 128 + signal.SIGTERM, log.read_text(encoding="utf-8")[-3000:]
    assert len(tree) > 5 and processes_alive(tree, 30) == []  # the private Ray went too


@pytest.fixture(scope="module")
def local(cluster_file, settings, encoder):
    """The reference: the same cluster searched in this process."""
    searcher = ClusterSearcher(cluster_file, settings, encoder)
    yield searcher
    searcher.close()


def _http_hits(client, **params) -> tuple[list[tuple], int, dict]:
    body = client.get("/search", params={"min_relevance": 0, **params})
    assert body.status_code == 200, body.text
    data = body.json()
    return [(h["article_id"], h["passage_id"], h["score"]) for h in data["results"]], \
        data["total"], data


def _local_hits(searcher, **params) -> tuple[list[tuple], int]:
    result = searcher.search(search_request(min_relevance=0, **params))
    return [(h.article_id, h.passage_id, h.score) for h in result.results], result.total


@pytest.mark.parametrize("query", [TONED, TONELESS])
@pytest.mark.parametrize("mode", ["hybrid", "lexical"])
def test_http_answers_equal_in_process(served, local, query, mode) -> None:
    for page in ({"k": 10}, {"k": 5, "offset": 5}):
        remote, total, data = _http_hits(served["client"], q=query, mode=mode, **page)
        expected, expected_total = _local_hits(local, q=query, mode=mode, **page)
        assert not data["partial"] and data["missing_shards"] == []
        assert total == expected_total and len(remote) == len(expected) > 0
        for got, want in zip(remote, expected):
            assert got[:2] == want[:2] and abs(got[2] - want[2]) <= 1e-6, (got, want)


def test_retrieve_article_health_and_page(served, local) -> None:
    client = served["client"]
    body = client.post("/retrieve", json={"query": TONELESS, "k": 3}).json()
    assert body["passages"] and body["citations"] and not body["partial"]
    article_id = body["passages"][0]["article_id"]
    assert client.get(f"/articles/{article_id}").json()["id"] == article_id
    health = client.get("/health").json()
    assert health["articles"] == local.counts()["articles"] == ARTICLES + 1  # + the seed
    assert [s["number"] for s in health["shards"]] == list(range(SHARDS))
    assert all(s["ok"] and s["articles"] for s in health["shards"])
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]


def test_killed_shard_replica_gives_partial_answer_then_recovers(served) -> None:
    from ray import serve

    from search_api.cluster.ray_serve import APP_NAME, shard_name

    handle = serve.get_deployment_handle(shard_name(1), app_name=APP_NAME)
    pid = handle.state.remote().result(timeout_s=30).pid
    assert pid in process_tree([served["pid"]])
    os.kill(pid, signal.SIGKILL)
    hits, _, data = _http_hits(served["client"], q=TONELESS, k=20)
    assert data["partial"] and data["missing_shards"] == [1]
    assert hits and all(shard_of(article, SHARDS) != 1 for article, _, _ in hits)
    deadline = time.monotonic() + 60  # Serve replaces the dead replica
    while data["partial"] and time.monotonic() < deadline:
        time.sleep(1)
        hits, _, data = _http_hits(served["client"], q=TONELESS, k=20)
    assert not data["partial"] and any(shard_of(a, SHARDS) == 1 for a, _, _ in hits)
    assert handle.state.remote().result(timeout_s=30).pid != pid


def test_ray_processes_stay_on_loopback(served) -> None:
    assert served["address"].startswith("127.0.0.1:")
    assert ray_processes_listening_off_loopback([served["pid"], os.getpid()]) == []


SEED_QUERIES = ["kết quả thi hành án dân sự Gia Lai 2025", "thi hanh an dan su gia lai"]


@pytest.mark.parametrize("q", SEED_QUERIES)
def test_seed_article_first_through_http(served, q) -> None:
    """Done-criterion of issue 15: `cluster index` + `cluster serve` answer the seed queries
    (toned and toneless) with the seed article first, through /search, /retrieve and the
    page (which calls /search from the page's own script)."""
    client = served["client"]
    hits = client.get("/search", params={"q": q}).json()["results"]
    assert hits and "Thi hành án dân sự" in hits[0]["title"], hits[:1]
    packed = client.post("/retrieve", json={"query": q, "k": 3}).json()
    assert packed["passages"] and "Thi hành án dân sự" in packed["passages"][0]["title"]
    page = client.get("/", params={"q": q})
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert client.get("/static/app.js").status_code == 200
