"""A server process a benchmark starts on 127.0.0.1, waits for, and stops (vnsearch, txtai)."""

from __future__ import annotations

import http.client
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


class ServedProcess:
    """``argv`` run with its output in ``log``; :meth:`poll_ready` until it answers."""

    name = "server"

    def __init__(self, argv: list[str], port: int, log: Path, env: dict[str, str],
                 cwd: Path | None = None) -> None:
        self.port = port
        self.log = log.open("w")
        self.proc = subprocess.Popen(argv, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env)

    def poll_ready(self, path: str, ready: Callable[[int, bytes], bool],
                   timeout: float) -> float:
        """Seconds until ``GET path`` gives an answer ``ready(status, body)`` accepts."""
        t = time.perf_counter()
        while time.perf_counter() - t < timeout:
            if self.proc.poll() is not None:
                sys.exit(f"{self.name} exited with {self.proc.returncode}; see {self.log.name}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", path)
                resp = conn.getresponse()
                body = resp.read()
                conn.close()
                if ready(resp.status, body):
                    return time.perf_counter() - t
            except OSError:
                pass
            time.sleep(0.25)
        sys.exit(f"{self.name} not ready after {timeout} s; see {self.log.name}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
