"""``vnsearch cluster serve``: a set of shards served on Ray Serve with the same HTTP API and
page as ``vnsearch serve``.

One Serve application, ``vnsearch``:

* one deployment per shard (``shard-0`` … ``shard-N-1``, ``replicas`` replicas each): a
  replica opens a :class:`~.shard.ShardReader` of its shard with the cluster's global
  statistics and answers ``dense``, ``lexical`` and the pipeline's database reads
  (``read``). No model here: the query vector comes from the ingress. A replica reopens
  its shard by itself when a writer commits or ``cluster.json`` changes (checked at most
  once a second, on a call), since a call reaches only one replica of a shard;
* one ingress deployment: the FastAPI app of :func:`search_api.app.create_app`, whose
  searcher is a :class:`~.searcher.ClusterSearcher` over :class:`~.remote.RemoteShard`
  proxies of the shard deployments. It loads the model, encodes each query once, asks the
  shards in parallel and merges exactly as one index does; a shard that does not answer
  within ``timeout_s`` is reported in ``missing_shards`` (``partial: true``).

The HTTP proxy listens on ``host:port`` of the head node only (127.0.0.1 by default).
CPU requests are small and logical (scheduling hints): the shard replicas mostly wait on
memory and SQLite, and the ingress's encoder uses the threads its settings give it.
On a private Ray (127.0.0.1) every replica's gRPC server is kept on the loopback too
(:func:`keep_replica_grpc_on_loopback`); with ``--address`` the local token is sent
(:func:`send_token_to_address`). Every shard directory and ``cluster.json`` must be
readable at the same path on every node (shared storage).

Cost measured here (2 busy cores): one ingress→shard call is ~6 ms, and a search makes
~50 of them, mostly one after another (row reads per shard, FTS document frequencies per
term; the latter are cached per shard generation), so a first-time query takes ~0.4 s
against ~50 ms in one process; scale-out pays off only when shards are big.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.cluster.stats import load_cluster
from indexer.errors import InputError, VnsearchError
from indexer.settings import Settings

from .remote import READ_METHODS, RemoteShard, ShardState
from .shard import ShardReader

APP_NAME = "vnsearch"
INGRESS_NAME = "ingress"
SHARD_CPUS = 0.1
INGRESS_CPUS = 0.5
#: How often a shard replica looks at its shard and ``cluster.json`` for changes.
RELOAD_CHECK_S = 1.0


def keep_replica_grpc_on_loopback() -> None:
    """On a node whose address is 127.0.0.1, make this replica's inter-deployment gRPC
    server listen on 127.0.0.1 instead of every interface.

    Ray Serve 2.60 starts that server in every replica, bound to ``[::]:0``, after the
    user's constructor and unconditionally (it is used only with
    ``RAY_SERVE_USE_GRPC_BY_DEFAULT=1``, and then reached at the node's address): without
    this, a test cluster kept on the loopback still has one port per replica open to the
    network. Replicas call this first thing in their constructor; on a real cluster's
    nodes (a routable address) nothing changes.
    """
    import ray
    from ray.serve._private import replica

    if ray.util.get_node_ip_address() != "127.0.0.1" \
            or getattr(replica.add_port_to_grpc_server, "_vnsearch_loopback", False):
        return
    original = replica.add_port_to_grpc_server

    def on_loopback(server: Any, address: str) -> int:
        if address.startswith("[::]:") or address.startswith("0.0.0.0:"):
            address = "127.0.0.1:" + address.rsplit(":", 1)[1]
        return original(server, address)

    on_loopback._vnsearch_loopback = True  # type: ignore[attr-defined]
    replica.add_port_to_grpc_server = on_loopback


def shard_name(number: int) -> str:
    """The deployment name of shard ``number``."""
    return f"shard-{number}"


class ShardReplica:
    """One replica of one shard's deployment (see module docstring)."""

    def __init__(self, cluster_file: str, number: int) -> None:
        keep_replica_grpc_on_loopback()
        self.cluster_file = Path(cluster_file)
        self.number = number
        cluster = load_cluster(self.cluster_file)
        self._mtime, self._stats = cluster.mtime, cluster.stats
        self.reader = ShardReader(number, cluster.shards[number], cluster.stats,
                                  cluster.model_id)
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    def _fresh(self, min_interval_s: float = RELOAD_CHECK_S) -> None:
        """Reopen the shard when a writer committed, with new statistics when
        ``cluster.json`` changed (at most once per ``min_interval_s``)."""
        now = time.monotonic()
        if now - self._checked < min_interval_s:
            return
        with self._lock:  # sync methods run in a thread pool: one check at a time
            self._check(now)

    def _check(self, now: float) -> None:
        self._checked = now
        try:
            mtime = self.cluster_file.stat().st_mtime
        except OSError:
            mtime = self._mtime  # being replaced this instant: look again next time
        if mtime != self._mtime:
            cluster = load_cluster(self.cluster_file)
            self._mtime, self._stats = cluster.mtime, cluster.stats
            self.reader.reload(self._stats, force=True)
        else:
            self.reader.reload(self._stats)  # reopens only when a writer committed

    # -- what the ingress asks ------------------------------------------------------------
    def dense(self, vector: Any, n: int, filt: Any) -> list[tuple[int, float]]:
        """:meth:`ShardReader.dense`."""
        self._fresh()
        return self.reader.dense(vector, n, filt)

    def lexical(self, query: Any, n: int, filt: Any) -> list[tuple[int, float]]:
        """:meth:`ShardReader.lexical`."""
        self._fresh()
        return self.reader.lexical(query, n, filt)

    def read(self, method: str, *args: Any) -> Any:
        """``db.<method>(*args)`` on this shard's read-only database (read methods only)."""
        if method not in READ_METHODS:
            raise InputError(f"shard {self.number}: {method!r} is not a read method")
        return getattr(self.reader.db(), method)(*args)

    def state(self) -> ShardState:
        """This replica's shard directory, manifest, generation and process id."""
        snap = self.reader.snapshot
        return ShardState(self.number, str(self.reader.directory), snap.manifest,
                          snap.generation, os.getpid())

    def reload(self) -> ShardState:
        """Look for changes now (a writer's commit, a new ``cluster.json``); the state."""
        self._fresh(0.0)
        return self.state()


class IngressReplica:
    """The ingress: ``vnsearch serve``'s FastAPI app over remote shards."""

    def __init__(self, cluster_file: str, settings: Settings, shards: list[Any],
                 timeout_s: float) -> None:
        keep_replica_grpc_on_loopback()
        self.cluster_file = Path(cluster_file)
        self.settings = settings
        self.handles = shards  # DeploymentHandles (Serve turns the bound shards into them)
        self.timeout_s = timeout_s

    def __serve_build_asgi_app__(self) -> Any:
        """The app, built in the replica (the searcher opens in its lifespan)."""
        from ..app import create_app

        return create_app(self.settings, self.cluster_file, searcher_factory=self.searcher)

    def searcher(self, path: Path, settings: Settings, encoder: Any) -> Any:
        """A ClusterSearcher over remote shards (create_app's ``searcher_factory``)."""
        from .searcher import ClusterSearcher

        shards = [RemoteShard(i, handle, self.timeout_s) for i, handle in enumerate(self.handles)]
        # The shards check their manifest against cluster.json's model; the query
        # encoder must be that model too, or dense scores would be meaningless.
        shards[0].snapshot.manifest.check_model(encoder.info.model_id, Path(shards[0].directory))
        return ClusterSearcher(path, settings, encoder, shards=shards)


def build_application(cluster_file: Path, settings: Settings, replicas: int,
                      timeout_s: float) -> Any:
    """The Serve application (``bind``-ed ingress over the shard deployments)."""
    from ray import serve

    cluster = load_cluster(cluster_file)
    # Any: Ray's overloads of serve.deployment type a class argument as the decorator form.
    shard_deployment: Any = serve.deployment(ShardReplica)
    bound = [shard_deployment.options(name=shard_name(i), num_replicas=replicas,
                                      ray_actor_options={"num_cpus": SHARD_CPUS})
             .bind(str(cluster.path), i) for i in range(len(cluster.shards))]
    ingress_deployment: Any = serve.deployment(serve.ingress()(IngressReplica))
    ingress = ingress_deployment.options(
        name=INGRESS_NAME, num_replicas=1, ray_actor_options={"num_cpus": INGRESS_CPUS})
    return ingress.bind(str(cluster.path), settings, bound, timeout_s)


@dataclass
class ServedCluster:
    """A running ``vnsearch`` Serve application."""

    url: str
    shards: int
    replicas: int


def start_serving(cluster_file: Path, settings: Settings, replicas: int = 1,
                  host: str = "127.0.0.1", port: int = 8000,
                  timeout_s: float = 5.0) -> ServedCluster:
    """Deploy the application on the connected Ray cluster; returns when it answers.

    Serve is started with its HTTP proxy on the head node at ``host:port`` (when Serve was
    already running on the cluster, its proxy settings stay as they were).
    """
    from ray import serve

    cluster = load_cluster(cluster_file)  # one-line errors before anything is deployed
    serve.start(proxy_location="HeadOnly", http_options={"host": host, "port": port})
    try:
        serve.run(build_application(cluster.path, settings, replicas, timeout_s),
                  name=APP_NAME, route_prefix="/")
    except RuntimeError as exc:
        # "Deploying application … failed: <a replica's traceback>": its last line names
        # the error (a model mismatch, a shard directory this node cannot read, …).
        lines = [line for line in str(exc).splitlines() if line.strip()]
        raise VnsearchError(f"cluster serve: the application did not start: "
                            f"{lines[-1] if lines else exc}") from None
    return ServedCluster(url=f"http://{host}:{port}", shards=len(cluster.shards),
                         replicas=replicas)


def stop_serving(owns_cluster: bool) -> None:
    """Shut Serve down on a cluster we started; on someone else's, delete only our app."""
    from ray import serve

    if owns_cluster:
        serve.shutdown()
    else:
        serve.delete(APP_NAME)


def send_token_to_address() -> None:
    """Authenticate to a cluster given by address with the local token, as Ray does for a
    cluster it finds by itself.

    Ray 2.60 starts local clusters with token authentication (the token in
    ``~/.ray/auth_token``) but, for an explicit address, sends the token only when
    ``RAY_AUTH_MODE=token``; without it the connection retries until it times out. When
    ``RAY_AUTH_MODE`` is unset and a token exists, this turns token mode on for this
    process (``RAY_AUTH_MODE=disabled`` or ``=token`` set by the user is respected).
    """
    from ray._private.authentication.authentication_token_setup import (
        maybe_enable_token_auth_if_token_available,
    )

    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


def _exit_on_sigterm() -> Any:
    """SIGTERM → SystemExit in the main thread, so ``finally`` blocks undo what we started;
    the previous handler (None off the main thread, where nothing is installed).

    Installed after connecting: ``ray.init`` installs its own SIGTERM handler, which logs
    and then aborts the process (exit status -6) before our clean-up could finish.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def on_sigterm(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, on_sigterm)


@contextmanager
def served_cluster(cluster_file: Path, settings: Settings, address: str | None = None,
                   **options: Any) -> Iterator[tuple[ServedCluster, Any]]:
    """Connect to Ray (or start a private one on 127.0.0.1), serve, and undo all of it on
    exit or SIGTERM: ``(the served app, the Ray session)``."""
    import signal

    from indexer.cluster.ray_runtime import ray_session

    if address is not None:
        send_token_to_address()
    with ray_session(address) as session:
        previous = _exit_on_sigterm()
        try:
            yield start_serving(cluster_file, settings, **options), session
        finally:
            stop_serving(session.started)
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


def serve_until_stopped(cluster_file: Path, settings: Settings, address: str | None,
                        on_ready: Callable[[ServedCluster, Any], None], **options: Any) -> None:
    """Serve until SIGTERM or Ctrl-C, then shut down what this call started."""
    try:
        with served_cluster(cluster_file, settings, address, **options) as (served, session):
            on_ready(served, session)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass  # Ctrl-C: the with-block above has shut everything down
