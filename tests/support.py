"""Plain helpers of the suite (no fixtures: those are in conftest.py).

Test modules import these from here, never from each other (``from test_cli import run_cli``
made a module's tests depend on another module's import side effects and fixtures).

* paths: ``REPO``, ``SHARED`` (the real corpora beside the repo), ``SEED``, ``DEMO_DATA``;
* ``free_port`` and ``wait_until_responds`` for servers on 127.0.0.1;
* ``serve_process``: one real ``vnsearch serve`` subprocess, stopped by its PID;
* the CLI runners: ``invoke_cli`` runs the root click group in-process (options, messages,
  exit codes: no interpreter, no torch import, no model load per call), ``run_cli_process``
  and ``run_cli_processes`` run ``python -m search_api`` for tests about the process itself
  (signals, forks, locks held by another PID, stdio, the module entry point);
* ``messages`` / ``assert_one_line_error`` read vnsearch's own stderr lines.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import traceback
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from indexer.encoders import Encoder, ModelInfo

REPO = Path(__file__).resolve().parents[1]
# The real corpora live beside the checkout (``../shared``); a checkout elsewhere (a git
# worktree, CI) names them with VNSEARCH_TEST_SHARED. Tests needing them skip without them.
SHARED = Path(os.environ.get("VNSEARCH_TEST_SHARED", REPO.parent / "shared"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED = FIXTURES / "000_6861bb89fb9d8f05.txt"
#: The repository's own demo corpus (``make demo``): the seed article + 200 articles.
DEMO_DATA = REPO / "data" / "demo"
TEST_HOME = Path(os.environ.get("VNSEARCH_TEST_HOME", REPO / ".cache" / "vnsearch-test"))

needs_shared = pytest.mark.skipif(not (SHARED / "data").is_dir(),
                                  reason=f"{SHARED}/data (real corpora) is not present; "
                                         "set VNSEARCH_TEST_SHARED to its directory")


def read_jsonl_head(path: Path, n: int) -> list[dict]:
    out = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            out.append(json.loads(line))
            if len(out) >= n:
                break
    return out


def copy_index(src: Path, dst: Path) -> Path:
    """A copy of an index directory without its lock file (a copy is a new, unlocked index)."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("write.lock"))
    return dst


# -- servers ----------------------------------------------------------------------------------------

def free_port() -> int:
    """A port free on 127.0.0.1 right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_responds(url: str, proc: subprocess.Popen | None = None, log: Path | None = None,
                        timeout_s: float = 180, path: str = "/health") -> None:
    """Poll ``url + path`` until it answers 200; fail early (with the log's tail) when the
    server process exits, or after ``timeout_s``."""
    def tail() -> str:
        return log.read_text(encoding="utf-8", errors="replace")[-3000:] if log else ""

    deadline = time.monotonic() + timeout_s
    while True:
        if proc is not None:
            assert proc.poll() is None, f"server exited with {proc.returncode}: {tail()}"
        try:
            with urllib.request.urlopen(url + path, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"{url} did not come up in {timeout_s} s: {tail()}"
        time.sleep(0.2)


def stop_process(proc: subprocess.Popen, timeout_s: float = 30) -> None:
    """SIGTERM the process (by its PID), SIGKILL it if it does not exit in time."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout_s)


@contextlib.contextmanager
def serve_app(app: Any, name: str = "uvicorn-test") -> Iterator[str]:
    """A real uvicorn server for ``app`` on a free 127.0.0.1 port, in a daemon thread of this
    process (the app can share the session's searcher); yields its base URL."""
    import threading

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on", access_log=False)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True,
                              name=name)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        sock.close()


def cli_env(settings: Any, **extra: str) -> dict[str, str]:
    """The environment of a ``vnsearch`` subprocess: the suite's home (model and embedding
    cache already there), UTF-8 stdio, no admin token inherited from the caller's shell."""
    env = dict(os.environ, VNSEARCH_HOME=str(settings.home), PYTHONIOENCODING="utf-8",
               TOKENIZERS_PARALLELISM="false")
    env.pop("VNSEARCH_ADMIN_TOKEN", None)
    env.update(extra)
    return env


@contextlib.contextmanager
def serve_process(settings: Any, index_dir: Path, log: Path, *args: str,
                  env: dict[str, str] | None = None, timeout_s: float = 180) -> Iterator[str]:
    """``python -m search_api serve --index DIR`` on a free 127.0.0.1 port: yields its base
    URL once ``/health`` answers; stopped by its PID on exit."""
    port = free_port()
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "search_api", "serve", "--index",
                                 str(index_dir), "--host", "127.0.0.1", "--port", str(port),
                                 *args], cwd=REPO, env=env or cli_env(settings),
                                stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_responds(url, proc, log, timeout_s)
            yield url
        finally:
            stop_process(proc)


# -- the command line ---------------------------------------------------------------------------------

@dataclass
class CliResult:
    """What a CLI run gave: the attributes of ``subprocess.CompletedProcess`` that tests read,
    so a test reads an in-process run and a subprocess alike."""

    args: tuple
    returncode: int
    stdout: str
    stderr: str


def invoke_cli(settings: Any, *args: Any, env: dict[str, str] | None = None) -> CliResult:
    """``vnsearch ARGS`` in-process: the root click group (the console script's ``main``) under
    click's CliRunner, with VNSEARCH_HOME set to the suite's home for the call.

    An exception that escapes the command (a crash, not a ``vnsearch: error:`` line) is written
    into ``stderr`` as the traceback a subprocess would print, so "no Traceback on stderr"
    assertions keep failing on a crash."""
    from click.testing import CliRunner

    from search_api.cli import main

    runner = CliRunner()
    result = runner.invoke(main, [str(a) for a in args],
                           env={"VNSEARCH_HOME": str(settings.home), **(env or {})},
                           catch_exceptions=True)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "Traceback (most recent call last):\n" + "".join(
            traceback.format_exception(*result.exc_info))
    return CliResult(tuple(args), result.exit_code, result.stdout, stderr)


class Cli:
    """``cli(*args, env=...)``: ``vnsearch ARGS`` in-process (:func:`invoke_cli`).

    A command that loads the model the session already loaded (same model, adapter, prompts,
    backend, threads) gets that encoder (``shared_encoder()``, created on first need) instead
    of a second copy: the same real weights, minus 5-10 s per call. ``models_requested``
    counts the commands' ``create_encoder`` calls, so a test can assert a command failed
    before loading any model. The patch lasts for the call only."""

    def __init__(self, settings: Any, shared_encoder: Any) -> None:
        self.settings = settings
        self.shared_encoder = shared_encoder
        self.models_requested = 0

    @staticmethod
    def encoder_key(s: Any) -> tuple:
        """What a loaded model depends on: equal keys load the same weights the same way."""
        return (s.models_dir, s.model, s.model_adapter, s.query_prompt, s.passage_prompt,
                s.encoder_backend, s.threads)

    def __call__(self, *args: Any, env: dict[str, str] | None = None) -> CliResult:
        import indexer.encoders

        real = indexer.encoders.create_encoder

        def create_encoder(s: Any) -> Any:
            self.models_requested += 1
            if self.encoder_key(s) == self.encoder_key(self.settings):
                return self.shared_encoder()
            return real(s)

        import search_api.quality.evaluation as evaluation  # imports create_encoder by name

        with pytest.MonkeyPatch.context() as patch:
            for module in (indexer.encoders, evaluation):
                patch.setattr(module, "create_encoder", create_encoder)
            return invoke_cli(self.settings, *args, env=env)


def run_cli_process(settings: Any, *args: Any, timeout: float = 300,
                    env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m search_api ARGS`` as a real subprocess (each loads torch and, for model
    commands, the model: keep these for tests about the process)."""
    return subprocess.run([sys.executable, "-m", "search_api", *map(str, args)], cwd=REPO,
                          env=env or cli_env(settings), capture_output=True, text=True,
                          timeout=timeout)


def run_cli_processes(settings: Any, *commands: tuple, timeout: float = 300
                      ) -> list[subprocess.CompletedProcess]:
    """Several CLI subprocesses at once (their model loads overlap)."""
    env = cli_env(settings)
    procs = [(args, subprocess.Popen([sys.executable, "-m", "search_api", *map(str, args)],
                                     cwd=REPO, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)) for args in commands]
    out = []
    for args, proc in procs:
        stdout, stderr = proc.communicate(timeout=timeout)
        out.append(subprocess.CompletedProcess(args, proc.returncode, stdout, stderr))
    return out


def messages(stderr: str) -> list[str]:
    """vnsearch's own stderr lines (the model loader's progress bars are not ours)."""
    return [line for line in stderr.splitlines() if line.startswith("vnsearch:")]


def assert_one_line_error(proc: Any) -> str:
    """Non-zero exit, no traceback, exactly one ``vnsearch:`` error line on stderr."""
    assert proc.returncode != 0, proc.stdout[-500:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "Traceback" not in proc.stdout
    errors = [m for m in messages(proc.stderr) if "error" in m or "failed" in m]
    assert len(errors) == 1, proc.stderr[-3000:]
    return errors[0]


# -- HTTP answers ------------------------------------------------------------------------------------

ERROR_KEYS = {"status", "error", "message", "field", "request_id"}


def search(client, **params) -> dict:
    r = client.get("/search", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def assert_error(r, status: int, field: str | None = "__any__") -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert set(err) == ERROR_KEYS, err
    assert err["status"] == status
    assert isinstance(err["error"], str) and err["error"]
    assert isinstance(err["message"], str) and err["message"]
    assert err["request_id"] == r.headers["x-request-id"], err
    if field != "__any__":
        assert err["field"] == field, err
    return err


# -- a model-free encoder ------------------------------------------------------------------------------

class FakeEncoder(Encoder):
    """Deterministic, model-free: hash-seeded normalised vectors; 1 token per word."""

    def __init__(self, dimension: int = 16, model_id: str = "fake-hash-16") -> None:
        self.info = ModelInfo(name="fake", model_id=model_id, path="", dimension=dimension,
                              max_tokens=512, query_prompt=None, passage_prompt=None,
                              backend="fake")

    def _vec(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:8],
                              "little")
        v = np.random.default_rng(seed).standard_normal(self.info.dimension).astype(np.float32)
        return v / np.linalg.norm(v)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vec("q:" + t) for t in texts]) if texts else \
            np.zeros((0, self.info.dimension), np.float32)

    def encode_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts]) if texts else \
            np.zeros((0, self.info.dimension), np.float32)

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 2
