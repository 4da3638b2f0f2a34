"""Reliability: real SIGKILLs of real indexing/delete/update runs, two writers, serving while
indexing, HTTP writes (auth, limits, durability across kill -9 of `vnsearch serve`),
corruption handling in the CLI, and resource-limit defaults (bind address, CORS).

Crash harness: model load (~10 s on 2 cores) dominates a CLI run, so a small driver
process loads the real model ONCE and forks one child per run; each child performs a real
``index_articles`` / ``IndexWriter.delete`` / update into its own directory and is
SIGKILLed by the driver at a seeded random time. Embeddings come from the warm cache of the
suite's VNSEARCH_HOME, so children never run torch after fork. A couple of real
``python -m search_api index`` processes are killed too.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from support import (
    REPO,
    assert_one_line_error,
    cli_env,
    copy_index,
    free_port,
    needs_shared,
    read_jsonl_head,
    wait_until_responds,
)

from indexer import layout
from indexer.article import Article
from indexer.check import check_index
from indexer.errors import IndexFormatError, IndexLockedError
from indexer.lock import WriteLock
from indexer.manifest import Manifest
from indexer.readers import iter_inputs
from indexer.settings import Settings
from indexer.snapshot import open_snapshot, recover
from indexer.writer import IndexWriter, index_articles

pytestmark = needs_shared

N_ARTICLES = 40
BATCH = 5  # articles per transaction in the forked runs (several commits per run)
TOKEN = "s3cret"
KILLED_INDEX_RUNS = 22  # see test_sigkill_during_indexing_many_points


# -- helpers --------------------------------------------------------------------------------------

def db_state(directory: Path) -> tuple[set[str], int]:
    conn = sqlite3.connect(f"file:{directory / layout.DATABASE}?mode=ro", uri=True)
    try:
        ids = {r[0] for r in conn.execute("SELECT id FROM articles")}
        passages = conn.execute("SELECT count(*) FROM passages").fetchone()[0]
        return ids, int(passages)
    finally:
        conn.close()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_consistent(directory: Path, model_id: str) -> tuple[set[str], int]:
    report = check_index(directory)
    assert report.ok, (directory, report.problems)
    snap = open_snapshot(directory, model_id)
    try:
        n = snap.db.counts()
        assert len(snap.vectors) == n["passages"]
    finally:
        snap.close()
    return db_state(directory)


LEXICAL_QUERIES = ["thi hành án dân sự", "giao thong", "bóng đá Việt Nam", "công an điều tra",
                   "giá vàng", "học sinh thi tốt nghiệp", "Cập nhật lúc"]


def assert_matrix_equals_fresh(directory: Path, scratch: Path) -> None:
    """The generation's mapped lexical files answer like a full build in a copy of the
    store, and every passage they name is in the store."""
    import numpy as np

    from indexer.db import IndexDB
    from indexer.lexical.files import write_lexical
    from search_api.retrieval.lexical.base import lexical_query
    from search_api.retrieval.lexical.mapped import MappedLexicalMatrix

    with IndexDB(directory, readonly=True) as db:
        generation, live = db.generation(), set(db.passage_id_array().tolist())
    shutil.copytree(directory, scratch, ignore=shutil.ignore_patterns("lexical.*", "write.lock"))
    with IndexDB(scratch) as db:
        assert write_lexical(scratch, db).mode == "full"
    mapped = MappedLexicalMatrix.open(directory, generation)
    fresh = MappedLexicalMatrix.open(scratch, generation)
    assert mapped is not None and fresh is not None
    try:
        for query in LEXICAL_QUERIES:
            got, want = mapped.top(lexical_query(query), 100), fresh.top(lexical_query(query), 100)
            assert [i for i, _ in got] == [i for i, _ in want], query
            assert np.allclose([x for _, x in got], [x for _, x in want], rtol=0, atol=1e-6)
            assert {i for i, _ in got} <= live, query
    finally:
        mapped.close()
        fresh.close()


def token_settings(settings, **changes) -> Settings:
    """Settings with a token: validated construction (model_copy(update=) skips validation,
    leaving a plain str where the app expects a SecretStr)."""
    data = {"home": settings.home, "admin_token": TOKEN, **changes}
    return Settings(**data)


# -- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def corpus60(tmp_path_factory, dantri300) -> Path:
    out = tmp_path_factory.mktemp("corpus60") / "dantri60.jsonl"
    with dantri300.open(encoding="utf-8") as src, out.open("w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i >= N_ARTICLES:
                break
            dst.write(line)
    return out


@pytest.fixture(scope="module")
def clean60(tmp_path_factory, settings, encoder, corpus60):
    """A clean in-process run (batches of 8): warms the cache; records batch boundaries."""
    directory = tmp_path_factory.mktemp("clean60") / "index"
    boundaries = [(0, 0)]

    def progress(total, n_new):
        if n_new:
            boundaries.append((total.added, total.passages_added))

    summary = index_articles(directory, iter_inputs([corpus60]), settings, encoder,
                             batch_articles=BATCH, progress=progress)
    assert summary.added == N_ARTICLES and summary.skipped == 0
    ids, passages = db_state(directory)
    assert boundaries[-1] == (N_ARTICLES, passages)
    return {"dir": directory, "ids": ids, "passages": passages, "boundaries": boundaries}


@pytest.fixture(scope="module")
def updated60(tmp_path_factory, settings, encoder, corpus60, clean60):
    """Changed texts for the 60 URLs and the reference state after applying them."""
    recs = read_jsonl_head(corpus60, N_ARTICLES)
    changed = []
    for i, rec in enumerate(recs):
        rec = dict(rec)
        rec["text"] = rec["text"] + f"\n\nCập nhật lúc {i} giờ: bài viết đã được bổ sung thông tin."
        changed.append(rec)
    path = tmp_path_factory.mktemp("upd") / "changed.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in changed),
                    encoding="utf-8")
    after = copy_index(clean60["dir"], tmp_path_factory.mktemp("upd-ref") / "index")
    with IndexWriter(after, settings, encoder) as writer:  # warms the cache for the children
        summary = writer.add_articles([Article(**{**{k: r.get(k) for k in (
            "title", "text", "url", "source", "published", "category")}, "id": r.get("id") or ""})
            for r in changed])
    assert summary.updated == N_ARTICLES
    ids, passages = db_state(after)
    assert ids == clean60["ids"]
    return {"path": path, "passages": passages}


DRIVER = textwrap.dedent(r'''
    """Load the real model once; fork one real writer per run; SIGKILL it at a random time."""
    import json, os, random, shutil, signal, sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from indexer.settings import Settings
    from indexer.encoders import create_encoder
    from indexer.readers import iter_inputs
    from indexer.writer import IndexWriter, index_articles
    from indexer.article import Article

    job = json.loads(Path(sys.argv[1]).read_text())
    settings = Settings(home=Path(job["home"]))
    encoder = create_encoder(settings)  # never used for encoding before a fork

    def articles(path):
        out = []
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            out.append(Article(id=r.get("id") or "", title=r.get("title"), text=r.get("text") or "",
                               url=r.get("url"), source=r.get("source"),
                               published=r.get("published"), category=r.get("category")))
        return out

    def work(kind, directory):
        if kind == "index":
            index_articles(directory, iter_inputs([job["corpus"]]), settings, encoder,
                           batch_articles=job["batch"])
        elif kind == "delete":
            urls = [a.url for a in articles(job["corpus"])]
            with IndexWriter(directory, settings, encoder) as w:
                (directory / ".opened").touch()
                w.delete(urls)
        elif kind == "update":
            batch = articles(job["changed"])
            with IndexWriter(directory, settings, encoder) as w:
                (directory / ".opened").touch()
                w.add_articles(batch)

    def ready(kind, directory):
        marker = "manifest.json" if kind == "index" else ".opened"
        return (directory / marker).exists()

    def one(kind, directory, delay):
        if kind != "index":
            shutil.copytree(job["clean"], directory, ignore=shutil.ignore_patterns("write.lock"))
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                work(kind, directory)
            except BaseException as exc:
                sys.stderr.write(f"child error: {exc!r}\n")
                code = 3
            os._exit(code)
        t0 = time.monotonic()
        while not ready(kind, directory) and time.monotonic() - t0 < 60:
            if os.waitpid(pid, os.WNOHANG) != (0, 0):
                return {"kind": kind, "dir": str(directory), "killed": False, "status": "exited"}
            time.sleep(0.001)
        t_ready = time.monotonic() - t0
        status = None
        if delay is not None:
            end = time.monotonic() + delay
            while time.monotonic() < end:
                done, st = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = st
                    break
                time.sleep(0.002)
            if status is None:
                os.kill(pid, signal.SIGKILL)
        if status is None:
            _, status = os.waitpid(pid, 0)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        return {"kind": kind, "dir": str(directory), "killed": killed, "delay": delay,
                "ready_s": round(t_ready, 3), "elapsed": round(time.monotonic() - t0, 3),
                "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None}

    rng = random.Random(job["seed"])
    base = Path(job["base"])
    results = []
    for kind, n in job["runs"]:
        timing = one(kind, base / f"{kind}-timing", None)  # an un-killed run: its duration
        results.append(timing)
        duration = max(timing["elapsed"] - timing["ready_s"], 0.05)
        for i in range(n):
            # The last tenth is left out: a run a little faster than the timing run (a
            # busy machine) would finish before a kill drawn there, and not count as killed.
            # A run that still finished first is run again in a fresh directory with the
            # kill at half the delay (up to 3 times), so how busy the machine is does not
            # decide how many real kills the harness gets; every run is checked all the same.
            delay = rng.uniform(0.0, 0.9 * duration)
            for attempt in range(4):
                suffix = f"-again{attempt}" if attempt else ""
                run = one(kind, base / f"{kind}-{i}{suffix}", delay)
                results.append(run)
                if run["killed"]:
                    break
                delay /= 2
    print(json.dumps(results))
''')


@pytest.fixture(scope="module")
def crash_runs(tmp_path_factory, settings, corpus60, clean60, updated60):
    """Run the fork driver: 22 killed index runs, 3 killed deletes, 3 killed updates."""
    base = tmp_path_factory.mktemp("crash")
    job = {"home": str(settings.home), "corpus": str(corpus60), "batch": BATCH, "seed": 20261126,
           "clean": str(clean60["dir"]), "changed": str(updated60["path"]), "base": str(base),
           "runs": [["index", KILLED_INDEX_RUNS], ["delete", 3], ["update", 3]]}
    (base / "job.json").write_text(json.dumps(job))
    (base / "driver.py").write_text(DRIVER)
    proc = subprocess.run([sys.executable, str(base / "driver.py"), str(base / "job.json"),
                           str(REPO)], cwd=REPO, env=cli_env(settings), capture_output=True,
                          text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "child error" not in proc.stderr, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- crash harness ----------------------------------------------------------------------------------

def test_sigkill_during_indexing_many_points(crash_runs, clean60, settings, encoder, corpus60) -> None:
    """Real SIGKILLs of forked indexing runs at seeded random points: each leaves the store
    at a batch boundary of the clean run, ``check`` passes, and a rerun completes it
    embedding nothing.

    22 kill points: the delays are seeded but land by wall-clock time, so on a fast or
    loaded machine fewer points spread over fewer batch boundaries (10 points once gave
    only 2 distinct states on a fresh-clone `make test`); ``seen_states`` asserts at least
    three.
    """
    runs = [r for r in crash_runs if r["kind"] == "index"]
    timing, killed = runs[0], [r for r in runs[1:] if r["killed"]]
    assert timing["exit"] == 0 and not timing["killed"]
    assert len(killed) >= 20, runs  # ≥ 20 real SIGKILLs at seeded random points
    boundaries = set(clean60["boundaries"])
    seen_states = set()
    for run in runs[1:]:
        directory = Path(run["dir"])
        ids, passages = assert_consistent(directory, encoder.info.model_id)
        # the store is exactly at a batch boundary of the clean run
        assert (len(ids), passages) in boundaries, (run, len(ids), passages)
        assert ids <= clean60["ids"]
        seen_states.add(len(ids))
        summary = index_articles(directory, iter_inputs([corpus60]), settings, encoder,
                                 batch_articles=BATCH)
        assert summary.added + summary.unchanged == N_ARTICLES and summary.updated == 0
        assert summary.embedded == 0  # killed runs' embeddings were cached before commit
        assert db_state(directory) == (clean60["ids"], clean60["passages"])
        assert check_index(directory).ok
    assert len(seen_states) >= 3, seen_states  # the kills landed at different points


def test_cli_check_after_sigkill(crash_runs, cli) -> None:
    dirs = [Path(r["dir"]) for r in crash_runs if r["kind"] == "index" and r["killed"]][:2]
    for directory in dirs:
        proc = cli("check", "--index", directory)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("ok: ")


@pytest.mark.parametrize("kind", ["delete", "update"])
def test_sigkill_during_delete_or_update_is_all_or_nothing(crash_runs, clean60, updated60, kind,
                                                           encoder, tmp_path) -> None:
    runs = [r for r in crash_runs if r["kind"] == kind]
    assert runs[0]["exit"] == 0
    assert sum(r["killed"] for r in runs[1:]) >= 2, runs
    before = (clean60["ids"], clean60["passages"])
    after = (set(), 0) if kind == "delete" else (clean60["ids"], updated60["passages"])
    assert db_state(Path(runs[0]["dir"])) == after
    for i, run in enumerate(runs[1:]):
        state = assert_consistent(Path(run["dir"]), encoder.info.model_id)
        assert state in (before, after), (run, len(state[0]), state[1])
        # The incremental matrix files, rolled forward after the kill, score exactly like a
        # fresh build of the store, and name only passages that are still there.
        assert_matrix_equals_fresh(Path(run["dir"]), tmp_path / f"fresh-{i}")
        if kind == "update" and state[1] == after[1]:
            conn = sqlite3.connect(Path(run["dir"]) / layout.DATABASE)
            n = conn.execute("SELECT count(*) FROM articles WHERE text LIKE '%Cập nhật lúc%'"
                             ).fetchone()[0]
            conn.close()
            assert n == N_ARTICLES


def test_fresh_index_is_recoverable_after_kill_before_manifest(tmp_path, settings) -> None:
    """SIGKILL a real writer child exactly where store.sqlite exists but the manifest not yet."""
    directory = tmp_path / "index"
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            Manifest.save = lambda self, d: os.kill(os.getpid(), signal.SIGKILL)
            with IndexWriter(directory, settings, _NoEmbed()):
                pass
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    assert (directory / layout.DATABASE).exists() and not (directory / layout.MANIFEST).exists()
    # a rerun of the same command must be able to finish creating the index
    with IndexWriter(directory, settings, _NoEmbed()) as writer:
        writer.delete(["nothing"])
    assert check_index(directory).ok


class _NoEmbed:
    """Model-free stand-in with the real model's identity (nothing is embedded)."""

    def __init__(self) -> None:
        from indexer.encoders import ModelInfo

        self.info = ModelInfo(name="fake", model_id="no-embed", path="", dimension=8,
                              max_tokens=512, query_prompt=None, passage_prompt=None,
                              backend="none")

    def encode_passages(self, texts, batch_size=32):  # pragma: no cover
        raise AssertionError("no embedding expected")

    def count_tokens(self, text: str) -> int:  # pragma: no cover
        return len(text.split())


# -- a real CLI indexer: lock held across processes, then SIGKILL --------------------------------------

def test_cli_indexer_holds_lock_then_sigkill(tmp_path, settings, encoder, clean60, corpus60) -> None:
    directory = tmp_path / "index"
    proc = subprocess.Popen([sys.executable, "-m", "search_api", "index", str(corpus60), "--index",
                             str(directory), "--batch-size", "8", "--quiet"], cwd=REPO,
                            env=cli_env(settings), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (directory / layout.MANIFEST).exists() and time.monotonic() < deadline:
            assert proc.poll() is None, "indexer exited before creating the index"
            time.sleep(0.005)
        # a second writer (this process) is refused, naming the live writer's pid
        with pytest.raises(IndexLockedError) as info:
            IndexWriter(directory, settings, encoder).open()
        assert "another vnsearch process" in str(info.value) and str(proc.pid) in str(info.value)
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    ids, passages = assert_consistent(directory, encoder.info.model_id)
    assert (len(ids), passages) in {(0, 0), (N_ARTICLES, clean60["passages"])}
    # the kernel released the dead writer's lock: the rerun gets in and completes
    index_articles(directory, iter_inputs([corpus60]), settings, encoder)
    assert db_state(directory) == (clean60["ids"], clean60["passages"])


# -- serving while indexing ---------------------------------------------------------------------------

UNIQUE_TITLE = "Zyxquor Blimvatt khánh thành cầu treo thứ bảy mươi"
UNIQUE_TEXT = ("Chiều nay, xã Zyxquor Blimvatt đã khánh thành cây cầu treo thứ bảy mươi bắc qua "
               "dòng suối lớn, giúp hàng trăm học sinh đi học an toàn trong mùa mưa lũ năm nay.")


def test_serving_while_indexing(tmp_path, settings, encoder, corpus60, clean60) -> None:
    from search_api.retrieval import Searcher, SearchRequest

    recs = read_jsonl_head(corpus60, N_ARTICLES)
    arts = [Article(id=r.get("id") or "", title=r.get("title"), text=r["text"], url=r.get("url"),
                    source=r.get("source"), published=r.get("published"),
                    category=r.get("category")) for r in recs]
    directory = tmp_path / "index"
    index_articles(directory, arts[:30], settings, encoder)
    searcher = Searcher(directory, settings, encoder)
    errors: list[BaseException] = []
    done = threading.Event()

    def writer() -> None:
        try:
            extra = arts[30:] + [Article(id="unique-1", title=UNIQUE_TITLE, text=UNIQUE_TEXT,
                                         url="https://example.vn/zyxquor")]
            index_articles(directory, extra, settings, encoder, batch_articles=4)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    searches = 0
    queries = ["giá vàng hôm nay", "tai nạn giao thông", "học sinh", "bóng đá Việt Nam"]
    try:
        while not done.is_set() or searches < 20:
            mode = "hybrid" if searches % 4 == 0 else "lexical"
            result = searcher.search(SearchRequest(query=queries[searches % 4], k=10, mode=mode))
            ids, _ = db_state(directory)
            for hit in result.results:
                assert hit.article_id in ids
            searches += 1
    finally:
        thread.join(timeout=120)
    assert not errors, errors
    assert searches >= 20
    # the writer is done: the searcher sees the new articles without a restart
    searcher.maybe_reload(0.0)
    try:
        n = searcher.snapshot.db.counts()
        assert n["articles"] == N_ARTICLES + 1 and len(searcher.snapshot.vectors) == n["passages"]
        result = searcher.search(SearchRequest(query="Zyxquor Blimvatt cầu treo", k=3, mode="hybrid"))
        assert result.results and result.results[0].article_id == db_article_by_url(
            directory, "https://example.vn/zyxquor")
        assert check_index(directory).ok
    finally:
        searcher.close()


def db_article_by_url(directory: Path, url: str) -> str | None:
    conn = sqlite3.connect(f"file:{directory / layout.DATABASE}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT article_id FROM article_urls WHERE url=?", (url,)).fetchone()
        return row[0] if row else None
    finally:
        conn.close()


# -- HTTP writes --------------------------------------------------------------------------------------

def assert_error(resp, status: int, field: str | None = "_any") -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"status", "error", "message", "field", "request_id"}
    assert body["error"]["status"] == status
    if field != "_any":
        assert body["error"]["field"] == field
    return body["error"]


@pytest.fixture()
def write_index(tmp_path, clean60) -> Path:
    return copy_index(clean60["dir"], tmp_path / "index")


def client_for(directory: Path, settings, encoder):
    from fastapi.testclient import TestClient

    from search_api.app import create_app
    from search_api.retrieval import Searcher

    return TestClient(create_app(settings, directory, searcher=Searcher(directory, settings, encoder)))


ART = {"title": "Hợp tác xã Quixblat mở rộng vùng trồng bưởi da xanh",
       "text": "Hợp tác xã Quixblat vừa mở rộng thêm năm mươi héc ta trồng bưởi da xanh theo tiêu "
               "chuẩn VietGAP, dự kiến cho thu hoạch vào cuối năm sau.",
       "url": "https://example.vn/quixblat", "source": "example.vn"}
BAD_AUTH = [({}, 401), ({"Authorization": "Bearer nope"}, 403), ({"Authorization": "Basic x"}, 401),
            ({"Authorization": f"Bearer {TOKEN}x"}, 403)]


def test_http_write_auth(write_index, settings, encoder) -> None:
    with client_for(write_index, token_settings(settings), encoder) as client:
        for headers, status in BAD_AUTH:
            assert_error(client.post("/articles", json=ART, headers=headers), status)
            assert_error(client.delete("/articles/x", headers=headers), status)
    # no token configured: writes are off (403), even with a header
    with client_for(write_index, Settings(home=settings.home), encoder) as client:
        assert_error(client.post("/articles", json=ART), 403)
        assert_error(client.post("/articles", json=ART, headers={"Authorization": "Bearer "}), 403)
        assert_error(client.delete("/articles/x", headers={"Authorization": f"Bearer {TOKEN}"}), 403)
    assert len(db_state(write_index)[0]) == N_ARTICLES


def test_http_writes_searchable_then_deleted(write_index, settings, encoder) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with client_for(write_index, token_settings(settings), encoder) as client:
        resp = client.post("/articles", json=ART, headers=auth)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["added"] == 1 and len(body["article_ids"]) == 1
        art_id = body["article_ids"][0]
        hits = client.get("/search", params={"q": "Quixblat bưởi da xanh", "mode": "lexical"}).json()
        assert hits["results"][0]["article_id"] == art_id
        batch = [{"title": f"Tin Plovdrax số {i}", "text": f"Bản tin Plovdrax số {i} nói về mùa "
                  f"lúa thứ {i} ở đồng bằng sông Cửu Long năm nay.", "url": f"https://example.vn/p{i}"}
                 for i in range(3)]
        resp = client.post("/articles", json={"articles": batch}, headers=auth)
        assert resp.status_code == 200, resp.text
        assert resp.json()["added"] == 3
        hits = client.get("/search", params={"q": "Plovdrax", "mode": "lexical", "k": 10}).json()
        assert len(hits["results"]) == 3
        health = client.get("/health").json()
        assert health["articles"] == N_ARTICLES + 4
        assert_error(client.post("/articles", json={"articles": []}, headers=auth), 422, "articles")
        resp = client.delete(f"/articles/{art_id}", headers=auth)
        assert resp.status_code == 200 and resp.json()["deleted"] == 1
        assert_error(client.delete(f"/articles/{art_id}", headers=auth), 404)
        assert_error(client.get(f"/articles/{art_id}"), 404)
        hits = client.get("/search", params={"q": "Quixblat", "mode": "lexical"}).json()
        assert all(h["article_id"] != art_id for h in hits["results"])
    assert check_index(write_index).ok


def test_http_write_limits(write_index, settings, encoder) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    limited = token_settings(settings, max_body_bytes=4000, max_batch_articles=2)
    with client_for(write_index, limited, encoder) as client:
        big = dict(ART, text="chữ " * 2000)
        assert_error(client.post("/articles", json=big, headers=auth), 413)
        batch = [dict(ART, url=f"https://example.vn/l{i}") for i in range(3)]
        assert_error(client.post("/articles", json={"articles": batch}, headers=auth), 422, "articles")
        assert_error(client.post("/articles", json=dict(ART, text=""), headers=auth), 422)
        # the body limit also applies to the search endpoints
        assert_error(client.post("/search", json={"q": "a" * 5000}), 413)
    assert len(db_state(write_index)[0]) == N_ARTICLES


def test_http_write_while_another_writer_holds_lock(write_index, settings, encoder) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with client_for(write_index, token_settings(settings), encoder) as client:
        with WriteLock(write_index).held():
            err = assert_error(client.post("/articles", json=ART, headers=auth), 409)
            assert "another vnsearch process" in err["message"]
        assert client.post("/articles", json=ART, headers=auth).status_code == 200


def test_http_write_not_refused_by_concurrent_reader_recovery(write_index, settings, encoder,
                                                               monkeypatch) -> None:
    """A reader's recovery (snapshot reload) holds the lock; a write must wait, not fail."""
    from indexer.db import IndexDB

    auth = {"Authorization": f"Bearer {TOKEN}"}
    inside, go = threading.Event(), threading.Event()
    real_check = IndexDB.check_schema

    def slow_check(db):  # recovery paused while holding the lock
        if threading.current_thread().name == "reader-recover":
            inside.set()
            go.wait(10)
        return real_check(db)

    monkeypatch.setattr(IndexDB, "check_schema", slow_check)
    with client_for(write_index, token_settings(settings), encoder) as client:
        # Make recovery necessary (it only takes the lock then): drop the vector file.
        for path in Path(write_index).glob("vectors.*.faiss"):
            path.unlink()
        reader = threading.Thread(target=recover, args=(write_index,), name="reader-recover")
        reader.start()
        assert inside.wait(10)
        try:
            timer = threading.Timer(0.5, go.set)  # the reader finishes half a second later
            timer.start()
            resp = client.post("/articles", json=ART, headers=auth)
        finally:
            go.set()
            reader.join(10)
        assert resp.status_code == 200, resp.text


def test_serve_post_then_kill9_is_durable(tmp_path, cli, settings, encoder, clean60) -> None:
    directory = copy_index(clean60["dir"], tmp_path / "index")
    port = free_port()
    env = cli_env(settings, VNSEARCH_ADMIN_TOKEN=TOKEN)
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "search_api", "serve", "--index", str(directory),
                             "--port", str(port)], cwd=REPO, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_responds(base, proc, tmp_path / "serve.log", timeout_s=150)
        req = urllib.request.Request(base + "/articles", data=json.dumps(ART).encode(),
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {TOKEN}"}, method="POST")
        with urllib.request.urlopen(req, timeout=60) as r:
            assert r.status == 200
            body = json.loads(r.read())
        os.kill(proc.pid, signal.SIGKILL)  # immediately after the acknowledgement
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        log.close()
    assert proc.returncode == -signal.SIGKILL
    assert body["added"] == 1
    ids, _ = assert_consistent(directory, encoder.info.model_id)
    assert body["article_ids"][0] in ids and len(ids) == N_ARTICLES + 1
    proc = cli("export", "--index", directory)
    assert proc.returncode == 0
    assert any(json.loads(line)["url"] == ART["url"] for line in proc.stdout.splitlines())


# -- corruption ----------------------------------------------------------------------------------------

def _truncate_faiss(d: Path) -> Path:
    f = next(d.glob("vectors.*.faiss"))
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    return f


def _damage_sqlite_middle(d: Path) -> Path:
    import random

    f = d / layout.DATABASE
    data = bytearray(f.read_bytes())
    mid = len(data) // 2
    data[mid: mid + 65536] = random.Random(7).randbytes(65536)
    f.write_bytes(bytes(data))
    return f


def _damage_sqlite_header(d: Path) -> Path:
    f = d / layout.DATABASE
    data = bytearray(f.read_bytes())
    data[0:100] = b"\x00" * 100
    f.write_bytes(bytes(data))
    return f


def _manifest_edit(**changes):
    def damage(d: Path) -> Path:
        f = d / layout.MANIFEST
        data = json.loads(f.read_text(encoding="utf-8"))
        data.update(changes)
        f.write_text(json.dumps(data), encoding="utf-8")
        return f
    return damage


def _damaged_copy(tmp_path, clean60, damage) -> tuple[Path, Path, str]:
    directory = copy_index(clean60["dir"], tmp_path / "index")
    assert check_index(directory).ok  # settle derived files first
    damaged = damage(directory)
    return directory, damaged, sha(damaged)


@pytest.mark.parametrize("damage, commands, word", [
    (_truncate_faiss, ("check",), "vectors."),
    (_damage_sqlite_header, ("stats", "check", "export"), "store.sqlite"),
    (_manifest_edit(format_version=999), ("stats", "check", "export"), "manifest.json"),
], ids=["truncated-faiss", "sqlite-header", "format-999"])
def test_corruption_refused_one_line_never_overwritten(tmp_path, cli, clean60, damage,
                                                       commands, word) -> None:
    directory, damaged, digest = _damaged_copy(tmp_path, clean60, damage)
    for command in commands:
        line = assert_one_line_error(cli(command, "--index", directory))
        assert damaged.name in line, line
    assert sha(damaged) == digest  # never overwritten in place
    # the library API refuses too (no silent rebuild over the damaged file)
    with pytest.raises(IndexFormatError):
        open_snapshot(directory)
    assert sha(damaged) == digest


def test_corruption_query_model_mismatch(tmp_path, cli, clean60) -> None:
    """`query` (loads the model) on an index whose manifest names another model."""
    d2, f2, h2 = _damaged_copy(tmp_path, clean60, _manifest_edit(model_id="other/model@1"))
    line = assert_one_line_error(cli("query", "giá vàng", "--index", d2))
    assert "manifest.json" in line and "other/model@1" in line
    assert sha(f2) == h2
    # stats/check on another model's index are fine (nothing is damaged) and say which model
    proc = cli("stats", "--index", d2, "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["model_id"] == "other/model@1"
    assert sha(f2) == h2


def test_truncated_faiss_moved_away_is_rebuilt(tmp_path, cli, clean60) -> None:
    directory, damaged, _ = _damaged_copy(tmp_path, clean60, _truncate_faiss)
    damaged.rename(tmp_path / "damaged.faiss")  # "move it away", as the message says
    proc = cli("check", "--index", directory)
    assert proc.returncode == 0, proc.stderr
    # rebuilt from the store (named by the generation that wrote it) and consistent
    assert any(directory.glob("vectors.*.faiss")) and check_index(directory).ok


def test_damaged_vector_file_message_names_a_real_command(tmp_path, cli, clean60) -> None:
    directory, _, _ = _damaged_copy(tmp_path, clean60, _truncate_faiss)
    line = assert_one_line_error(cli("check", "--index", directory))
    assert "--repair" not in line and "vnsearch check" in line


def test_sqlite_mid_file_damage_one_line(tmp_path, cli, clean60) -> None:
    directory, damaged, digest = _damaged_copy(tmp_path, clean60, _damage_sqlite_middle)
    try:
        for command in ("check", "export"):
            line = assert_one_line_error(cli(command, "--index", directory))
            assert "store.sqlite" in line
    finally:
        assert sha(damaged) == digest


def test_sqlite_mid_file_damage_not_overwritten(tmp_path, cli, clean60) -> None:
    directory, damaged, digest = _damaged_copy(tmp_path, clean60, _damage_sqlite_middle)
    for command in ("stats", "check", "export"):
        cli(command, "--index", directory)
    assert sha(damaged) == digest


# -- resource limits ---------------------------------------------------------------------------------

def test_default_bind_address_is_loopback(monkeypatch) -> None:
    monkeypatch.delenv("VNSEARCH_HOST", raising=False)
    assert Settings().host == "127.0.0.1"


def test_cors_only_when_configured(settings, demo_index, searcher) -> None:
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    origin = {"Origin": "https://cms.example.vn"}
    with TestClient(create_app(settings, demo_index, searcher=searcher)) as client:
        resp = client.get("/health", headers=origin)
        assert resp.status_code == 200
        assert "access-control-allow-origin" not in resp.headers
        pre = client.options("/search", headers={**origin, "Access-Control-Request-Method": "GET"})
        assert "access-control-allow-origin" not in pre.headers
    allowed = settings.model_copy(update={"cors_origins": ["https://cms.example.vn"]})
    with TestClient(create_app(allowed, demo_index, searcher=searcher)) as client:
        resp = client.get("/health", headers=origin)
        assert resp.headers.get("access-control-allow-origin") == "https://cms.example.vn"
        resp = client.get("/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in resp.headers
