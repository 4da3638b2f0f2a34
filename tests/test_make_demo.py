"""``make demo`` as a newcomer runs it: the Makefile's own demo recipe, on the repository's
``data/demo/``, must index with exit status 0, serve, and find the seed article first for
the README's example query (toned and toneless).

The commands come from ``make -n demo`` (what make would run), so a change to the Makefile
or to what lies in the demo folder is tested as the user meets it. They run as processes:
this test is about the commands, their exit statuses and the server they start.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from support import REPO, TEST_HOME, free_port, wait_until_responds

#: The example query the README shows for the demo (checked to be there).
DEMO_QUERY = "thi hành án dân sự Gia Lai"
SEED_TITLE = "Thi hành án dân sự tỉnh phải bứt phá vào tốp 10 toàn quốc năm 2025"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def demo_commands(index: Path, port: int) -> list[list[str]]:
    """The vnsearch commands of ``make demo``'s recipe, with this environment's vnsearch."""
    out = subprocess.run(["make", "-n", "demo", f"DEMO_INDEX={index}", f"PORT={port}",
                          "HOST=127.0.0.1"], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout
    vnsearch = Path(sys.executable).with_name("vnsearch")
    commands = []
    for line in out.splitlines():
        words = shlex.split(line)
        if words and words[0].endswith("/bin/vnsearch"):
            commands.append([str(vnsearch), *words[1:]])
    return commands


def test_readme_shows_the_demo_query():
    assert DEMO_QUERY in (REPO / "README.md").read_text(encoding="utf-8")


def test_make_demo_indexes_serves_and_finds_the_seed(tmp_path, settings, encoder):
    port = free_port()
    index_cmd, serve_cmd = demo_commands(tmp_path / "demo-index", port)
    assert index_cmd[1] == "index" and serve_cmd[1] == "serve", (index_cmd, serve_cmd)
    env = dict(os.environ, VNSEARCH_HOME=str(TEST_HOME), PYTHONIOENCODING="utf-8")
    done = subprocess.run(index_cmd, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, f"make demo would stop here:\n{done.stdout}\n{done.stderr}"
    assert "0 skipped" in done.stdout and "201 added" in done.stdout, done.stdout

    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(serve_cmd, cwd=REPO, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_responds(base, server, tmp_path / "serve.log", timeout_s=240)
        with httpx.Client(base_url=base, timeout=60) as http:
            assert http.get("/health").json()["articles"] == 201
            page = http.get("/")
            assert page.status_code == 200 and "<html" in page.text.lower()
            for query in (DEMO_QUERY, "thi hanh an dan su gia lai"):
                hits = http.get("/search", params={"q": query, "k": 3}).json()["results"]
                assert hits and SEED_TITLE in hits[0]["title"], (query, hits[:1])
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the supervisor and its forked workers
        server.wait(timeout=60)
        log.close()

