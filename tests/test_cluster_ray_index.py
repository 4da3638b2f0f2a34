"""Issue 15: ``vnsearch cluster index`` on Ray — a private Ray stays on the loopback and
goes away, a two-node local cluster indexes real articles into shards that hold the same
articles and passages as one index, and a killed encoder actor does not fail the job.

Every Ray process here is started by this module and bound to 127.0.0.1 (never ``ray
stop``: it would kill every Ray on the host); each fixture checks its processes are gone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, SHARED

pytest.importorskip("ray", reason="the ray extra is not installed (pip install vnsearch[ray])")

from search_api.cluster.ray_runtime import (keep_on_loopback, process_tree,  # noqa: E402
                                            processes_alive, ray_processes_listening_off_loopback,
                                            ray_session)

pytestmark = pytest.mark.ray
NEWS = SHARED / "data" / "news" / "dantri-unc.jsonl"
# ~1,200 passages, then 40 more articles: 2 torch actors of 1 thread embed ~20 passages/s
# here, so the module stays near 2 minutes.
FIRST, MORE = 60, 20  # small: the Ray tests must stay within ~3 minutes together


def _head(n: int, out: Path) -> Path:
    if not NEWS.exists():
        pytest.skip("../shared/data/news/dantri-unc.jsonl (real articles) is not present")
    with NEWS.open(encoding="utf-8") as src, out.open("w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i >= n:
                break
            dst.write(line)
    return out


def _articles(directory: Path) -> dict[str, list[str]]:
    """article id → its passage texts in order."""
    with sqlite3.connect(f"file:{directory / 'store.sqlite'}?mode=ro", uri=True) as con:
        rows = con.execute("SELECT a.id, p.text FROM articles a LEFT JOIN passages p "
                           "ON p.article_id = a.id ORDER BY a.id, p.ordinal").fetchall()
    out: dict[str, list[str]] = {}
    for article_id, text in rows:
        out.setdefault(article_id, [])
        if text is not None:
            out[article_id].append(text)
    return out


def _vectors(directory: Path) -> dict[tuple[str, int], np.ndarray]:
    with sqlite3.connect(f"file:{directory / 'store.sqlite'}?mode=ro", uri=True) as con:
        rows = con.execute("SELECT article_id, ordinal, vector FROM passages").fetchall()
    return {(a, o): np.frombuffer(v, np.float32) for a, o, v in rows}


# -- the private session -----------------------------------------------------------------

def test_private_session_stays_on_loopback_and_goes_away():
    import ray

    with ray_session(None, num_cpus=1) as session:
        assert session.started and session.address.startswith("127.0.0.1:")
        # A local function is pickled by value (the workers cannot import this test module).
        pid = ray.get(ray.remote(lambda: os.getpid()).remote())
        tree = process_tree(session.root_pids)
        assert pid in tree  # the task ran in a worker below the processes we started
        assert ray_processes_listening_off_loopback(session.root_pids + [os.getpid()]) == []
    assert not ray.is_initialized()
    assert processes_alive(tree) == []


def test_sigterm_shuts_down_a_started_session(tmp_path):
    script = ("import json, time\n"
              "from search_api.cluster.ray_runtime import ray_session, process_tree\n"
              "with ray_session(None, num_cpus=1) as s:\n"
              "    print(json.dumps(process_tree(s.root_pids)), flush=True)\n"
              "    time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        pids = json.loads(proc.stdout.readline())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
    assert pids and processes_alive(pids) == []


# -- a two-node local cluster ------------------------------------------------------------

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
    roots = [p.process.pid for node in cluster.list_all_nodes()
             for procs in node.all_processes.values() for p in procs if p.process]
    cluster.roots = roots
    try:
        yield cluster
    finally:
        tree = process_tree(roots)
        cluster.shutdown()
        assert processes_alive(tree) == [], "Ray processes left running"


@pytest.fixture(scope="module")
def ray_settings(settings, tmp_path_factory):
    """The suite's settings with a fresh home (empty embedding cache: every passage goes
    through Ray) whose models are the suite's materialised ones."""
    home = tmp_path_factory.mktemp("ray-home")
    (home / "models").symlink_to(settings.models_dir.resolve(), target_is_directory=True)
    return settings.model_copy(update={"home": home})


@pytest.fixture(scope="module")
def first_run(two_nodes, ray_settings, encoder, tmp_path_factory):
    """FIRST real articles into 2 shards with 2 encoder actors on the two-node cluster."""
    from search_api.cluster.ray_index import cluster_index

    base = tmp_path_factory.mktemp("cluster")
    corpus = _head(FIRST, base / "first.jsonl")
    found: list[list[str]] = []

    def progress(done: int) -> None:
        if not found:  # while the driver is connected and the actors are running
            found.append(ray_processes_listening_off_loopback(two_nodes.roots + [os.getpid()]))

    report = cluster_index([corpus], base / "out", 2, ray_settings, address=two_nodes.address,
                           actors=2, encoder=encoder, progress=progress)
    return corpus, report, found


def test_shards_hold_what_one_index_holds(first_run, settings, encoder, tmp_path):
    from indexer.check import check_index
    from indexer.readers import iter_inputs
    from indexer.sharding import shard_of
    from indexer.writer import index_articles

    corpus, report, off_loopback = first_run
    assert off_loopback == [[]]
    single = tmp_path / "single"
    index_articles(single, iter_inputs([corpus]), settings, encoder)
    expected = _articles(single)
    assert len(expected) >= FIRST - 5
    seen: dict[str, list[str]] = {}
    for i, shard in enumerate(report.shard_dirs):
        assert check_index(shard).ok, check_index(shard).problems
        held = _articles(shard)
        assert held and all(shard_of(a, 2) == i for a in held)
        assert not set(held) & set(seen)  # each article in exactly one shard
        seen.update(held)
    assert seen == expected  # same ids, same passage texts in the same order
    assert report.summary.added == len(expected)
    # Fresh cache: the vectors came from the Ray actors (each distinct text once).
    assert 0.95 * report.summary.passages_added <= report.embedded_on_ray \
        <= report.summary.passages_added
    one = _vectors(single)
    for shard in report.shard_dirs:  # the pipeline's vectors are the model's
        for key, vector in _vectors(shard).items():
            assert np.allclose(vector, one[key], atol=1e-4)
    cluster = json.loads((report.out_dir / "cluster.json").read_text(encoding="utf-8"))
    assert len(cluster["shards"]) == 2


def test_rerun_with_a_killed_actor_adds_the_new_articles(first_run, two_nodes, ray_settings,
                                                         encoder, tmp_path):
    """More input into a copy of the shards while an encoder actor is SIGKILLed."""
    import psutil

    from indexer.check import check_index
    from indexer.sharding import shard_of
    from search_api.cluster.ray_index import cluster_index

    _, first, _ = first_run
    # --address: the run only disconnected; the user's cluster is still running.
    assert two_nodes.remaining_processes_alive()
    out = tmp_path / "out"
    shutil.copytree(first.out_dir, out)
    corpus = _head(FIRST + MORE, tmp_path / "more.jsonl")
    killed: list[int] = []

    def kill_one_actor(done: int) -> None:
        if killed:
            return
        for proc in psutil.Process(two_nodes.roots[0]).children(recursive=True) + [
                p for r in two_nodes.roots[1:] for p in psutil.Process(r).children(True)]:
            if "_EmbedActor" in " ".join(proc.cmdline()):
                proc.send_signal(signal.SIGKILL)
                killed.append(proc.pid)
                return

    report = cluster_index([corpus], out, 2, ray_settings, address=two_nodes.address,
                           actors=2, encoder=encoder, progress=kill_one_actor)
    assert killed, "no encoder actor process found to kill"
    assert report.summary.unchanged == first.summary.added  # the first ones: already there
    assert report.summary.added >= MORE - 5
    total = 0
    for i, shard in enumerate(report.shard_dirs):
        assert check_index(shard).ok, check_index(shard).problems
        held = _articles(shard)
        assert all(shard_of(a, 2) == i and passages for a, passages in held.items())
        total += len(held)
    assert total == report.summary.added + report.summary.unchanged


def test_cli_refuses_another_shard_count(tmp_path):
    """A one-line error before any model or Ray starts: articles are routed by N."""
    from click.testing import CliRunner

    from indexer.layout import MANIFEST
    from search_api.cluster.cli import cluster_group

    for i in range(3):
        (tmp_path / f"shard-{i}").mkdir()
        (tmp_path / f"shard-{i}" / MANIFEST).write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(cluster_group, ["index", str(tmp_path), "--out", str(tmp_path),
                                                "--shards", "2"])
    assert result.exit_code == 1
    assert "holds 3 shards" in result.output and "--shards 3" in result.output


def test_routing_stage_and_collection_without_ray(settings):
    """Stage 2 cleans, identifies and routes as the writer does (a record with no text left
    is skipped with the writer's reason), and the driver puts the pipeline's rows, which Ray
    Data hands back in any order, into input order per shard."""
    import dataclasses

    from indexer.article import Article
    from indexer.metadata.normalise import MetadataRules
    from indexer.sharding import shard_of
    from indexer.writer import stable_article_id
    from indexer.writer.plan import prepare
    from search_api.cluster.ray_index import _collect, route_batch

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
