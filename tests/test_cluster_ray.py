"""Issue 15 on a real (local) Ray: ``vnsearch cluster index`` and ``vnsearch cluster serve``.

One module, one two-node ``ray.cluster_utils.Cluster`` (head + worker, 1 CPU each, all on
127.0.0.1) for everything that needs a cluster, so the Ray tests start Ray twice in all
(the cluster and the private Ray of ``cluster serve``, whose start, loopback check and
SIGTERM cover the private-session path):

- ``cluster index`` on the cluster indexes the suite's demo corpus (the seed article and 300
  real Dân trí articles) into 3 shards with 2 encoder actors: the shards hold exactly what the
  one-index ``demo_index`` holds, and no Ray process listens off the loopback;
- re-running it with new articles while an encoder actor is SIGKILLed adds them (the new
  passages are embedded by the Ray actors — each new article carries a sentence no cache can
  hold — and equal the model's vectors), every shard passes ``vnsearch check``, and copies
  of two new articles from another outlet, routed to other shards, join their originals'
  stories (the story step: one story id across shards);
- ``vnsearch cluster serve`` (a subprocess with its private Ray) on those shards answers over
  HTTP exactly as the in-process ``ClusterSearcher`` does, with ``/retrieve``, ``/articles``,
  ``/health``, the page and the seed queries; a killed shard replica gives ``partial: true``
  naming the shard, then Serve restarts it; SIGTERM leaves none of its processes running.

Never ``ray stop`` (it would kill every Ray on the host): each fixture stops what it started
and checks its processes are gone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from support import REPO, SEED, SHARED

pytest.importorskip("ray", reason="the ray extra is not installed (pip install vnsearch[ray])")

from rayutil import (  # noqa: E402
    articles_of,
    free_port,
    http_hits,
    local_hits,
    stories_of,
    vectors_of,
    wait_for_ready,
)

from indexer.cluster.ray_runtime import (  # noqa: E402
    keep_on_loopback,
    process_tree,
    processes_alive,
    ray_processes_listening_off_loopback,
    ray_session,
)

# Ray Serve's own pydantic models warn on import; not ours to fix.
pytestmark = [pytest.mark.ray, pytest.mark.filterwarnings("ignore::DeprecationWarning:ray")]
NEWS = SHARED / "data" / "news" / "dantri-unc.jsonl"
SHARDS = 3
MORE = 12  # new articles of the re-run (after the 300 of the demo corpus)
COPIES = 2  # of those, republished by another outlet into another shard (one story each)
TIMEOUT_S = 2.0  # how long the serving ingress waits for a shard
TONED, TONELESS = "thi hành án dân sự", "tai nan giao thong"
SEED_QUERIES = ["kết quả thi hành án dân sự Gia Lai 2025", "thi hanh an dan su gia lai"]


# -- cluster index on a two-node local cluster ------------------------------------------

@pytest.fixture(scope="module")
def two_nodes():
    """Head + one worker node, 1 CPU each, all on 127.0.0.1; gone after the module."""
    keep_on_loopback()
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, shutdown_at_exit=True,
                      head_node_args={"num_cpus": 1, "node_ip_address": "127.0.0.1",
                                      "include_dashboard": False})
    cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
    cluster.wait_for_nodes()
    cluster.roots = [p.process.pid for node in cluster.list_all_nodes()
                     for procs in node.all_processes.values() for p in procs if p.process]
    try:
        yield cluster
    finally:
        tree = process_tree(cluster.roots)
        cluster.shutdown()
        assert processes_alive(tree) == [], "Ray processes left running"


@pytest.fixture(scope="module")
def first_run(two_nodes, settings, encoder, dantri300, tmp_path_factory):
    """The demo corpus into 3 shards with 2 encoder actors on the two-node cluster (the
    suite's embedding cache holds most passages: the re-run is where the actors embed)."""
    from indexer.cluster.ray_index import cluster_index

    found: list[list[str]] = []

    def progress(done: int) -> None:
        if not found:  # while the driver is connected and the actors are running
            found.append(ray_processes_listening_off_loopback(two_nodes.roots + [os.getpid()]))

    report = cluster_index([SEED, dantri300], tmp_path_factory.mktemp("cluster") / "out", SHARDS,
                           settings, address=two_nodes.address, actors=2, encoder=encoder,
                           progress=progress)
    return report, found


def test_shards_hold_what_one_index_holds(first_run, demo_index):
    from indexer.check import check_index
    from indexer.sharding import shard_of

    report, off_loopback = first_run
    assert off_loopback == [[]]
    expected = articles_of(demo_index)  # the same inputs, indexed as one index
    seen: dict[str, list[str]] = {}
    for i, shard in enumerate(report.shard_dirs):
        assert check_index(shard).ok, check_index(shard).problems
        held = articles_of(shard)
        assert held and all(shard_of(a, SHARDS) == i for a in held)
        assert not set(held) & set(seen)  # each article in exactly one shard
        seen.update(held)
    assert seen == expected  # same ids, same passage texts in the same order
    assert report.summary.added == len(expected)
    one = vectors_of(demo_index)
    for shard in report.shard_dirs:  # the vectors the shards got are the one index's
        for key, vector in vectors_of(shard).items():
            assert np.allclose(vector, one[key], atol=1e-4)
    cluster = json.loads(report.cluster_file.read_text(encoding="utf-8"))
    assert len(cluster["shards"]) == SHARDS


def _new_articles(path: Path) -> Path:
    """MORE real articles after the demo corpus, each opened by a sentence of this run (so no
    embedding cache holds their first passage: the Ray actors must embed it)."""
    if not NEWS.exists():
        pytest.skip("../shared/data/news/dantri-unc.jsonl (real articles) is not present")
    marker = uuid.uuid4().hex[:12]
    copies: list[dict] = []
    with NEWS.open(encoding="utf-8") as src, path.open("w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i >= 300 + MORE:
                break
            if i >= 300:
                record = json.loads(line)
                record["text"] = f"Bản tin {marker} số {i} gửi bạn đọc. {record['text']}"
                dst.write(json.dumps(record, ensure_ascii=False) + "\n")
                if i < 300 + COPIES:
                    copies.append(_copy_elsewhere(record, i))
        for copy in copies:  # after every original: each story starts with its original
            dst.write(json.dumps(copy, ensure_ascii=False) + "\n")
    return path


def _copy_elsewhere(record: dict, n: int) -> dict:
    """A VnExpress copy of ``record`` whose URL routes it to another shard."""
    from storyutil import republished

    from indexer.sharding import shard_of
    from indexer.writer import stable_article_id

    home = shard_of(stable_article_id(record["url"], ""), SHARDS)
    for attempt in range(100):
        copy = republished(record, "VnExpress", "vne", n * 100 + attempt, False)
        if shard_of(stable_article_id(copy["url"], ""), SHARDS) != home:
            return copy
    raise AssertionError("no URL routes the copy to another shard")


def test_rerun_with_a_killed_actor_adds_the_new_articles(first_run, two_nodes, settings,
                                                         encoder, tmp_path):
    """The seed article again plus MORE new articles, into a copy of the shards, while
    an encoder actor is SIGKILLed: Ray restarts it and retries its batch."""
    import psutil

    from indexer.check import check_index
    from indexer.cluster.ray_index import cluster_index
    from indexer.readers import iter_inputs
    from indexer.sharding import shard_of
    from indexer.writer import index_articles

    first, _ = first_run
    # --address: the first run only disconnected; the user's cluster is still running.
    assert two_nodes.remaining_processes_alive()
    out = tmp_path / "out"
    shutil.copytree(first.out_dir, out)
    more = _new_articles(tmp_path / "more.jsonl")
    killed: list[int] = []

    def kill_one_actor(done: int) -> None:
        if killed:
            return
        for root in two_nodes.roots:
            for proc in psutil.Process(root).children(recursive=True):
                if "_EmbedActor" in " ".join(proc.cmdline()):
                    proc.send_signal(signal.SIGKILL)
                    killed.append(proc.pid)
                    return

    # The seed again (unchanged: same identity, same text) and the new articles.
    report = cluster_index([SEED, more], out, SHARDS, settings,
                           address=two_nodes.address, actors=2, encoder=encoder,
                           progress=kill_one_actor)
    assert killed, "no encoder actor process found to kill"
    assert (report.summary.unchanged, report.summary.added) == (1, MORE + COPIES)
    # Each copy (another outlet, another shard) joins its original's story, as in one index.
    stories = {aid: story for shard in report.shard_dirs for aid, story in stories_of(shard)}
    joined = [aid for aid, story in stories.items() if story != aid]
    assert len(joined) == COPIES and report.stories.changed == COPIES
    assert all(shard_of(aid, SHARDS) != shard_of(stories[aid], SHARDS) for aid in joined)
    # Each new article's opening passage is new to every cache: embedded on Ray.
    assert MORE <= report.embedded_on_ray <= report.summary.passages_added
    total = 0
    for i, shard in enumerate(report.shard_dirs):
        assert check_index(shard).ok, check_index(shard).problems
        held = articles_of(shard)
        assert all(shard_of(a, SHARDS) == i and passages for a, passages in held.items())
        total += len(held)
    assert total == first.summary.added + MORE + COPIES
    # The actors' vectors are the model's: three new articles embedded here, without a cache.
    fresh = settings.model_copy(update={"home": tmp_path / "home"})
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "models").symlink_to(settings.models_dir.resolve(),
                                              target_is_directory=True)
    single = tmp_path / "single"
    index_articles(single, list(iter_inputs([more]))[:3], fresh, encoder)
    ray_vectors = {k: v for shard in report.shard_dirs for k, v in vectors_of(shard).items()}
    mine = vectors_of(single)
    assert mine and all(np.allclose(v, ray_vectors[k], atol=1e-4) for k, v in mine.items())


def test_cli_refuses_another_shard_count(tmp_path):
    """A one-line error before any model or Ray starts: articles are routed by N."""
    from click.testing import CliRunner

    from indexer.layout import MANIFEST
    from search_api.cli import main

    for i in range(3):
        (tmp_path / f"shard-{i}").mkdir()
        (tmp_path / f"shard-{i}" / MANIFEST).write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(main, ["cluster", "index", str(tmp_path), "--out",
                                       str(tmp_path), "--shards", "2"])
    assert result.exit_code == 1
    assert "holds 3 shards" in result.output and "--shards 3" in result.output


# -- cluster serve: a subprocess with its private Ray ------------------------------------

@pytest.fixture(scope="module")
def served(first_run, settings, tmp_path_factory):
    """``vnsearch cluster serve OUT`` over the first run's shards, with this process connected
    to its Ray as a second driver (to find a replica's pid). On exit: SIGTERM, and every
    process the command started must be gone."""
    import httpx

    from search_api.cluster.ray_serve import send_token_to_address

    report, _ = first_run
    log = tmp_path_factory.mktemp("serve-log") / "serve.log"
    env = dict(os.environ, VNSEARCH_HOME=str(settings.home), PYTHONIOENCODING="utf-8")
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as err:
        proc = subprocess.Popen([sys.executable, "-m", "search_api", "cluster", "serve",
                                 str(report.out_dir), "--port", str(free_port()),
                                 "--timeout-s", str(TIMEOUT_S)],
                                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        url, address = wait_for_ready(proc, log).groups()
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
def local(first_run, settings, encoder):
    """The reference: the same shards searched in this process."""
    from search_api.cluster.searcher import ClusterSearcher

    searcher = ClusterSearcher(first_run[0].cluster_file, settings, encoder)
    yield searcher
    searcher.close()


@pytest.mark.parametrize("query", [TONED, TONELESS])
@pytest.mark.parametrize("mode", ["hybrid", "lexical"])
def test_http_answers_equal_in_process(served, local, query, mode) -> None:
    for page in ({"k": 10}, {"k": 5, "offset": 5}):
        remote, total, data = http_hits(served["client"], q=query, mode=mode, **page)
        expected, expected_total = local_hits(local, q=query, mode=mode, **page)
        assert not data["partial"] and data["missing_shards"] == []
        assert total == expected_total and len(remote) == len(expected) > 0
        for got, want in zip(remote, expected):
            # Scores are rounded to 6 decimals on both sides: one unit in the last place apart
            # when the true values straddle a rounding boundary.
            assert got[:2] == want[:2] and abs(got[2] - want[2]) <= 1.5e-6, (got, want)


def test_retrieve_article_health_and_page(served, local, demo_index) -> None:
    client = served["client"]
    body = client.post("/retrieve", json={"query": TONELESS, "k": 3}).json()
    assert body["passages"] and body["citations"] and not body["partial"]
    article_id = body["passages"][0]["article_id"]
    assert client.get(f"/articles/{article_id}").json()["id"] == article_id
    health = client.get("/health").json()
    assert health["articles"] == local.counts()["articles"] == len(articles_of(demo_index))
    assert [s["number"] for s in health["shards"]] == list(range(SHARDS))
    assert all(s["ok"] and s["articles"] for s in health["shards"])
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]


@pytest.mark.parametrize("q", SEED_QUERIES)
def test_seed_article_first_through_http(served, q) -> None:
    """`cluster index` + `cluster serve` answer the seed queries
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


def test_ray_processes_stay_on_loopback(served) -> None:
    assert served["address"].startswith("127.0.0.1:")
    assert ray_processes_listening_off_loopback([served["pid"], os.getpid()]) == []


def test_killed_shard_replica_gives_partial_answer_then_recovers(served) -> None:
    from ray import serve

    from indexer.sharding import shard_of
    from search_api.cluster.ray_serve import APP_NAME, shard_name

    handle = serve.get_deployment_handle(shard_name(1), app_name=APP_NAME)
    pid = handle.state.remote().result(timeout_s=30).pid
    assert pid in process_tree([served["pid"]])
    os.kill(pid, signal.SIGKILL)
    hits, _, data = http_hits(served["client"], q=TONELESS, k=20)
    assert data["partial"] and data["missing_shards"] == [1]
    assert hits and all(shard_of(article, SHARDS) != 1 for article, _, _ in hits)
    deadline = time.monotonic() + 60  # Serve replaces the dead replica
    while data["partial"] and time.monotonic() < deadline:
        time.sleep(1)
        hits, _, data = http_hits(served["client"], q=TONELESS, k=20)
    assert not data["partial"] and any(shard_of(a, SHARDS) == 1 for a, _, _ in hits)
    assert handle.state.remote().result(timeout_s=30).pid != pid


def test_routing_stage_and_collection_without_ray(settings):
    """Stage 2 cleans, identifies and routes as the writer does (a record with no text left
    is skipped with the writer's reason), and the driver puts the pipeline's rows, which Ray
    Data hands back in any order, into input order per shard."""
    import dataclasses

    from indexer.article import Article
    from indexer.cluster.ray_index import _collect, route_batch
    from indexer.metadata.normalise import MetadataRules
    from indexer.sharding import shard_of
    from indexer.writer import prepare, stable_article_id

    articles = [Article(id=f"a{i}", title=f"Tin {i}", text=f"Nội dung bài số {i}.",
                        url=f"https://example.vn/{i}", origin="in.jsonl") for i in range(6)]
    articles.insert(3, Article(id="empty", title="Trống", text="  ", origin="in.jsonl"))
    batch = {"i": np.arange(len(articles)), "article": np.asarray(
        [json.dumps(dataclasses.asdict(a)) for a in articles], dtype=object)}
    routed = route_batch(batch, settings, 2)
    rules = MetadataRules.from_settings(settings)
    for i, article in enumerate(articles):
        prepared = prepare(article, rules)
        if article.id == "empty":
            assert (routed["shard"][i], routed["reason"][i]) == (-1, "no text after cleaning")
            continue
        assert routed["shard"][i] == shard_of(
            stable_article_id(prepared.article.url, prepared.chash), 2)

    class Reversed:  # what Ray Data may do: hand the rows back in another order
        def iter_batches(self, **_):
            rows = {k: v[::-1] for k, v in routed.items()}
            yield {**rows, "text": np.asarray([""] * len(articles), dtype=object),
                   "vector": np.zeros((len(articles), 4), np.float32)}

    back, vectors = _collect(Reversed(), articles, 2, None)
    assert vectors == {} and [r.reason for r in back.skipped] == ["no text after cleaning"]
    for i, shard in enumerate(back.shards):
        assert shard == [a for j, a in enumerate(articles) if routed["shard"][j] == i]
