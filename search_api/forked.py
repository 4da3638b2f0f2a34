"""``vnsearch serve --workers N`` over one index: N forked processes sharing one loaded model.

uvicorn's own supervisor starts each worker from scratch (``spawn``), so every worker loads
its own copy of the model: at 200k passages two such workers took 1.96x one worker's memory
(PSS). Here the supervisor binds the socket, loads the query encoder once (its onnxruntime
session with one intra-op thread, so no thread pool exists to be lost by the fork) and runs
one query through it, then forks the workers: the model's weights stay shared copy-on-write
pages in every worker (onnxruntime never writes them). Each worker then opens the index
itself (SQLite connections, FAISS, the mapped lexical files must not cross a fork) and runs
uvicorn on the inherited socket; the kernel hands each connection to one of them.

When workers get more than one thread each (fewer workers than cores), the session would
own a thread pool, which a fork does not carry: then each worker loads its own encoder.

Workers get SIGTERM from the kernel when the supervisor dies, even by SIGKILL (Linux).
The supervisor restarts a worker that dies (at most :data:`MAX_RESTARTS` in a row within a
minute), forwards SIGTERM/SIGINT to the workers and exits once they are gone: 0 after
SIGINT, 143 after SIGTERM (what a shell reports for a process killed by it). It counts the
restarts in ``vnsearch_worker_restarts_total`` (:mod:`.metrics`, multiprocess mode, set up
by :func:`.workers.run_workers` before it starts).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from indexer.settings import Settings

from .metrics import worker_exited, worker_restarts

logger = logging.getLogger("vnsearch.serve")

#: A worker that keeps dying is not restarted forever: this many deaths within a minute stop
#: the service (the error is in the worker's log above).
MAX_RESTARTS = 5


def bind(host: str, port: int) -> socket.socket:
    """The listening socket every worker accepts on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def shared_encoder(settings: Settings) -> Any:
    """The query encoder loaded in the supervisor (None when each worker must load its own)."""
    if (settings.threads or 1) > 1:
        return None
    from indexer.encoders import create_encoder

    encoder = create_encoder(settings)
    encoder.encode_queries(["khởi động"])  # first-run allocations happen once, before the fork
    return encoder


def _die_with_parent(supervisor: int) -> None:
    """Ask the kernel for SIGTERM when the supervisor dies, even by SIGKILL (Linux
    ``PR_SET_PDEATHSIG``), so no worker outlives it holding the port; elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != supervisor:  # it died before the request took effect
        os._exit(1)


def _worker(sock: socket.socket, settings: Settings, index_dir: Path, encoder: Any,
            supervisor: int) -> None:
    """The body of one forked worker: uvicorn on the inherited socket. Never returns."""
    code = 1
    try:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)  # uvicorn installs its own handlers
        _die_with_parent(supervisor)
        import uvicorn

        from .app import create_app
        from .network import uvicorn_options

        app = create_app(settings, index_dir, encoder=encoder)
        config = uvicorn.Config(app, **uvicorn_options(settings))
        uvicorn.Server(config).run(sockets=[sock])
        code = 0
    except BaseException:  # noqa: BLE001 - reported, then the worker exits non-zero
        logger.exception("worker %d failed", os.getpid())
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class Supervisor:
    """Forks the workers, restarts a dead one, stops them all on SIGTERM/SIGINT."""

    def __init__(self, workers: int, settings: Settings, index_dir: Path) -> None:
        self.workers = workers
        self.settings = settings
        self.index_dir = index_dir
        self.children: set[int] = set()
        self.stopping: int | None = None  # the signal that stops the service
        self.deaths: list[float] = []
        self.count_restart: Callable[[], None] = lambda: None

    def _spawn(self, sock: socket.socket, encoder: Any) -> None:
        supervisor = os.getpid()
        pid = os.fork()
        if pid == 0:
            _worker(sock, self.settings, self.index_dir, encoder, supervisor)
        self.children.add(pid)

    def _stop(self, signum: int, _frame: object) -> None:
        self.stopping = signum
        for pid in list(self.children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                self.children.discard(pid)

    def run(self) -> int:
        """Serve until stopped; the exit status."""
        sock = bind(self.settings.host, self.settings.port)
        self.count_restart = worker_restarts()  # vnsearch_worker_restarts_total, from 0
        encoder = shared_encoder(self.settings)
        self._check_index(encoder)
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        print(f"vnsearch: {self.workers} workers on http://{self.settings.host}:"
              f"{self.settings.port} (supervisor pid {os.getpid()}, model "
              f"{'shared' if encoder is not None else 'per worker'})", file=sys.stderr, flush=True)
        for _ in range(self.workers):
            self._spawn(sock, encoder)
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:  # pragma: no cover - PEP 475 retries os.wait
                continue
            self.children.discard(pid)
            worker_exited(pid)
            if self.stopping is None and self._may_restart(pid, status):
                self._spawn(sock, encoder)
                self.count_restart()
        sock.close()
        codes: dict[int | None, int] = {signal.SIGTERM: 143, signal.SIGINT: 0}
        return codes.get(self.stopping, 1)

    def _check_index(self, encoder: Any) -> None:
        """Refuse a missing index or one of another model with its one-line error here,
        not in workers that would die and be restarted (FAISS is not loaded before the fork:
        the manifest says enough)."""
        from indexer.manifest import Manifest
        from indexer.models import resolve_model

        model_id = encoder.info.model_id if encoder is not None else \
            resolve_model(self.settings)[1]
        Manifest.load(self.index_dir).check_model(model_id, self.index_dir)

    def _may_restart(self, pid: int, status: int) -> bool:
        now = time.monotonic()
        self.deaths = [t for t in self.deaths if now - t < 60] + [now]
        print(f"vnsearch: worker {pid} exited ({os.waitstatus_to_exitcode(status)}); "
              + ("restarting it" if len(self.deaths) <= MAX_RESTARTS else "stopping"),
              file=sys.stderr, flush=True)
        if len(self.deaths) > MAX_RESTARTS:
            self._stop(signal.SIGTERM, None)
            self.stopping = -1
            return False
        return True
