"""A Ray session that stays on the loopback when we start it, and a check that it did.

Ray 2.60 on Linux, measured here (psutil on every process a session starts):

* ``ray.init(address="local", _node_ip_address="127.0.0.1")`` alone is **not** enough:
  ``services.resolve_ip_for_localhost`` rewrites 127.0.0.1 to the host's routable address
  (192.0.2.2 on the test machine), the GCS and the raylet listen on ``::`` and the agents on
  ``0.0.0.0``, and every connection between them goes through the routable address.
* With ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` in the environment (the switch Ray uses to
  keep laptops on the loopback: ``services.get_node_ip_address`` then returns 127.0.0.1),
  the node address is 127.0.0.1, every listening socket (GCS, raylet, object manager,
  dashboard and runtime-env agents, workers) is bound to 127.0.0.1 and every connection is
  loopback to loopback. The variable is read once, when ``ray`` is imported, so
  :func:`keep_on_loopback` also patches the imported constant; the started processes read
  it from the environment they inherit. The same holds for the nodes of
  ``ray.cluster_utils.Cluster`` started after :func:`keep_on_loopback`.

Also: ``RAY_USAGE_STATS_ENABLED=0`` (no usage report to the internet) and no dashboard.
Token authentication is on by default in 2.60: the first local start writes
``~/.ray/auth_token``; a worker machine joining a real cluster needs that token.

With an ``address`` (a cluster someone else runs) nothing is forced: a real cluster's nodes
must reach each other; only a loopback address (a test cluster) gets the loopback switch so
that the driver registers as 127.0.0.1 like the nodes. Such a session never shuts the
cluster down — it only disconnects.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from indexer.errors import InputError

LOOPBACK = "127.0.0.1"
_LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}


@dataclass
class RaySession:
    """A connected Ray driver: where it is, and whether we own the cluster."""

    address: str            # the GCS address (host:port) of the cluster
    started: bool           # True when this session started (and will stop) the cluster
    cpus: float             # CPUs the cluster offers (all nodes)
    #: The node processes we started (GCS, raylet, agents; workers are their children);
    #: empty when we only connected.
    root_pids: list[int] = field(default_factory=list)


def keep_on_loopback() -> None:
    """Make Ray processes started from now on (here and in children) use 127.0.0.1 only."""
    os.environ.update(_LOOPBACK_ENV)
    import sys

    constants: Any = sys.modules.get("ray._private.ray_constants")
    if constants is not None:
        # Imported before the environment was set: the value was frozen at import time.
        constants.ENABLE_RAY_CLUSTER = False


def _is_loopback_host(address: str) -> bool:
    host = address.split("://")[-1].rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[RaySession]:
    """Connect to the Ray cluster at ``address``, or start a private one on 127.0.0.1.

    A cluster we started is shut down on exit, on SIGTERM and on Ctrl-C; a cluster given by
    ``address`` is left running (we only disconnect).
    """
    import ray

    if ray.is_initialized():
        raise InputError("Ray is already initialised in this process; cannot start a session")
    if address is None or _is_loopback_host(address):
        keep_on_loopback()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    started = address is None
    previous = None
    try:
        # Inside the try: a start that fails half-way still stops what it started.
        _init(address, num_cpus)
        previous = _install_sigterm() if started else None
        node = ray._private.worker._global_node
        pids: list[int] = [p.process.pid for procs in node.all_processes.values() for p in procs
                if p.process is not None] if started and node is not None else []
        yield RaySession(address=ray.get_runtime_context().gcs_address, started=started,
                         cpus=float(ray.cluster_resources().get("CPU", 0)), root_pids=pids)
    finally:
        ray.shutdown()  # a started cluster: stops its processes; else only disconnects
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _init(address: str | None, num_cpus: int | None) -> None:
    """``ray.init`` quietly: no dashboard, no worker logs on our stdout."""
    import logging

    import ray

    common: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
              "logging_level": logging.WARNING, "configure_logging": True}
    try:
        if address is None:
            # "local", never None: None would join a cluster found via RAY_ADDRESS or
            # /tmp/ray/ray_current_cluster — someone else's.
            ray.init(address="local", _node_ip_address=LOOPBACK, num_cpus=num_cpus, **common)
        else:
            ray.init(address=address, **common)
    except ConnectionError as exc:
        raise InputError(f"--address {address}: cannot connect to Ray ({exc})") from exc


def _install_sigterm() -> Any:
    """SIGTERM → SystemExit in the main thread, so ``finally`` blocks shut Ray down."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, on_sigterm)


def _descendants(root_pids: Iterable[int]) -> list[Any]:
    """``root_pids`` and every process below them (psutil.Process objects)."""
    import psutil

    seen: dict[int, psutil.Process] = {}
    for pid in root_pids:
        try:
            root = psutil.Process(pid)
            for proc in [root, *root.children(recursive=True)]:
                seen.setdefault(proc.pid, proc)
        except psutil.NoSuchProcess:
            continue
    return list(seen.values())


def _off_loopback(ip: str) -> bool:
    """True for an address another machine could use (0.0.0.0 and :: included)."""
    addr = ipaddress.ip_address(ip.split("%")[0])
    mapped = getattr(addr, "ipv4_mapped", None)
    return not (mapped or addr).is_loopback


def ray_processes_listening_off_loopback(root_pids: Iterable[int]) -> list[str]:
    """Every socket of ``root_pids`` and their descendants bound or connected off loopback.

    One line per socket: ``"pid name STATUS local -> remote"``. Listening on 0.0.0.0 or ::
    counts as off-loopback. Processes that end while being inspected are skipped.
    """
    import psutil

    found: list[str] = []
    for proc in _descendants(root_pids):
        try:
            name = proc.name()
            conns = proc.net_connections(kind="inet")
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        for conn in conns:
            ends = [a for a in (conn.laddr, conn.raddr) if a]
            if any(_off_loopback(a.ip) for a in ends):
                remote = f"{conn.raddr.ip}:{conn.raddr.port}" if conn.raddr else "-"
                found.append(f"{proc.pid} {name} {conn.status} "
                             f"{conn.laddr.ip}:{conn.laddr.port} -> {remote}")
    return found


def processes_alive(pids: Iterable[int], timeout_s: float = 10.0) -> list[int]:
    """The ``pids`` still running (zombies count as gone) after waiting up to ``timeout_s``."""
    import psutil

    deadline = time.monotonic() + timeout_s
    while True:
        alive = []
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.NoSuchProcess:
                continue
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.2)


def process_tree(root_pids: Iterable[int]) -> list[int]:
    """The pids of ``root_pids`` and their descendants now (to check later that they end)."""
    return [proc.pid for proc in _descendants(root_pids)]
