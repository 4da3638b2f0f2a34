"""Issue 16, item 2: ``vnsearch serve --workers 2`` — two processes on one port answer what
one process answers, and a write through the API is seen by every worker within about a
second (each swaps to a new generation at most once a second)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from support import REPO, free_port

TOKEN = "w0rkers"
QUERY = "thi hành án dân sự Gia Lai"
ART = {"title": "Hợp tác xã Zorbavel mở rộng vùng trồng bưởi da xanh",
       "text": "Hợp tác xã Zorbavel vừa mở rộng thêm năm mươi héc ta trồng bưởi da xanh theo "
               "tiêu chuẩn VietGAP, dự kiến cho thu hoạch vào cuối năm sau.",
       "url": "https://example.vn/zorbavel", "source": "example.vn"}


def _get(url: str) -> dict:
    """One request on a new connection (so the kernel may hand it to either worker)."""
    with urllib.request.urlopen(url, timeout=60) as resp:
        return json.loads(resp.read())


def _spread(url: str, n: int = 24) -> list[dict]:
    """``n`` concurrent requests: concurrent connections reach both workers."""
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda _: _get(url), range(n)))


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory, settings, repo_index):
    """``vnsearch serve --workers 2`` over a copy of the repository's demo index (writes
    allowed; any real index does: the answers are compared with an in-process searcher)."""
    import psutil

    directory = tmp_path_factory.mktemp("workers") / "index"
    shutil.copytree(repo_index, directory, ignore=shutil.ignore_patterns("write.lock"))
    port = free_port()
    env = dict(os.environ, VNSEARCH_HOME=str(settings.home), PYTHONIOENCODING="utf-8",
               VNSEARCH_ADMIN_TOKEN=TOKEN, TOKENIZERS_PARALLELISM="false")
    log = directory.parent / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "search_api", "serve", "--index",
                                 str(directory), "--port", str(port), "--workers", "2"],
                                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        pids: set[int] = set()
        while len(pids) < 2:  # both workers loaded and answering
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "two workers did not come up: " + \
                log.read_text()[-3000:]
            try:
                pids |= {h["pid"] for h in _spread(base + "/health", 8)}
            except OSError:
                time.sleep(0.5)
        children = psutil.Process(proc.pid).children(recursive=True)
        assert pids <= {c.pid for c in children}
        yield {"base": base, "pids": pids}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
    # The supervisor stops its workers (and multiprocessing's resource tracker goes when its
    # pipe closes): give them a little while, then none of what the command started runs.
    _, alive = psutil.wait_procs(children, timeout=30)
    for leftover in alive:
        leftover.kill()
    assert alive == [], [p.cmdline() for p in alive]


def test_two_workers_answer_as_one(two_workers, repo_searcher) -> None:
    from search_api.schemas import search_request

    expected = repo_searcher.search(search_request(q=QUERY))
    want = [(h.article_id, h.passage_id, round(h.score, 6)) for h in expected.results]
    url = two_workers["base"] + "/search?" + urllib.parse.urlencode({"q": QUERY})
    answers = _spread(url)
    assert want
    for body in answers:
        assert [(h["article_id"], h["passage_id"], round(h["score"], 6))
                for h in body["results"]] == want
    seen = {h["pid"] for h in _spread(two_workers["base"] + "/health")}
    assert seen == two_workers["pids"]  # both workers took part


def test_a_write_is_seen_by_every_worker(two_workers) -> None:
    base = two_workers["base"]
    req = urllib.request.Request(base + "/articles", data=json.dumps(ART).encode(),
                                 headers={"Content-Type": "application/json",
                                          "Authorization": f"Bearer {TOKEN}"}, method="POST")
    with urllib.request.urlopen(req, timeout=120) as resp:
        assert resp.status == 200
        new_id = json.loads(resp.read())["article_ids"][0]
    written = time.monotonic()
    url = base + "/search?" + urllib.parse.urlencode({"q": "Zorbavel bưởi da xanh",
                                                      "mode": "lexical"})
    # Each worker swaps to the new generation within a second of its next request; give the
    # busy test machine one more second, then every answer, from either worker, has it.
    while time.monotonic() - written < 2.0:
        if all(new_id in [h["article_id"] for h in b["results"]] for b in _spread(url, 8)):
            break
    seen_after = time.monotonic() - written
    bodies = _spread(url, 24)
    assert all(new_id in [h["article_id"] for h in b["results"]] for b in bodies)
    health = _spread(base + "/health", 24)
    assert {h["pid"] for h in health} == two_workers["pids"]
    assert all(h["articles"] == health[0]["articles"] for h in health)
    print(f"\nthe write was in every answer {seen_after:.2f} s after it was acknowledged")


def test_threads_are_shared_out() -> None:
    from search_api.workers import threads_per_worker

    assert threads_per_worker(2, cores=2) == 1
    assert threads_per_worker(4, cores=16) == 4
    assert threads_per_worker(8, cores=2) == 1


def test_default_workers_are_the_cores_capped() -> None:
    from search_api.workers import MAX_AUTO_WORKERS, default_workers

    assert default_workers(cores=1) == 1
    assert default_workers(cores=2) == 2
    assert default_workers(cores=32) == MAX_AUTO_WORKERS == 4


def test_workers_go_when_the_supervisor_is_killed(tmp_path, settings, repo_index) -> None:
    """SIGKILL leaves the supervisor no chance to stop its workers: the kernel does
    (PR_SET_PDEATHSIG), so none keeps the port. Default --workers on this machine."""
    import psutil

    port = free_port()
    env = dict(os.environ, VNSEARCH_HOME=str(settings.home), TOKENIZERS_PARALLELISM="false")
    env.pop("VNSEARCH_WORKERS", None)
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "search_api", "serve", "--index",
                                 str(repo_index), "--port", str(port), "--workers", "2"],
                                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        pids: set[int] = set()
        while len(pids) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            try:
                pids |= {h["pid"] for h in _spread(f"http://127.0.0.1:{port}/health", 8)}
            except OSError:
                time.sleep(0.5)
        assert "model shared" in log.read_text()  # one model, loaded before the fork
        children = psutil.Process(proc.pid).children()
        proc.kill()
        proc.wait(30)
        _, alive = psutil.wait_procs(children, timeout=30)
        for leftover in alive:
            leftover.kill()
        assert alive == []
    finally:
        if proc.poll() is None:
            proc.kill()
