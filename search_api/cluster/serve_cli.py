"""``vnsearch cluster serve DIR``: serve a set of shards on Ray Serve.

Registered under ``vnsearch cluster`` in :mod:`search_api.cli`; Ray is imported only when
the command runs, so ``vnsearch --help`` works without the ``ray`` extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from indexer.cli_support import model_option, settings_from, verbose_option
from indexer.errors import IndexNotFoundError

CLUSTER_FILE = "cluster.json"


def cluster_file_in(directory: Path) -> Path:
    """``DIR/cluster.json`` (or DIR itself when it is a cluster file)."""
    if directory.is_file():
        return directory
    path = directory / CLUSTER_FILE
    if not path.is_file():
        raise IndexNotFoundError(f"{directory}: no {CLUSTER_FILE} here (write one with "
                                 "`vnsearch cluster index … --out DIR` or `vnsearch cluster "
                                 "stats SHARD_DIR… --out DIR/cluster.json`)")
    return path


@click.command("serve")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--replicas", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Replicas of each shard's deployment (throughput, and a spare when one "
                   "dies).")
@click.option("--address", default=None,
              help="Ray cluster address (host:port); default: a private Ray on 127.0.0.1 "
                   "for as long as this command runs.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address the HTTP proxy listens on (on the Ray head node).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True,
              help="Port of the HTTP proxy.")
@click.option("--timeout-s", type=click.FloatRange(0.05, 600), default=5.0, show_default=True,
              help="How long a search waits for a shard; a shard slower than this is "
                   "left out of the answer (partial: true, missing_shards).")
@model_option
@verbose_option
def cluster_serve_cmd(directory: Path, replicas: int, address: str | None, host: str,
                      port: int, timeout_s: float, model: str | None, verbose: bool) -> None:
    """Serve the shards of DIR (the --out of `vnsearch cluster index`, with cluster.json)
    on Ray Serve: the same HTTP API and page as `vnsearch serve`.

    One deployment per shard (--replicas each) and one ingress that encodes each query once
    and merges the shards' answers as one index would. Runs until SIGTERM or Ctrl-C; a
    private Ray (no --address) is then shut down, while with --address only this
    application is removed and the cluster keeps running.
    """
    from indexer.cluster.stats import load_cluster

    from .ray_serve import serve_until_stopped

    path = cluster_file_in(directory)
    load_cluster(path)  # one-line errors before Ray starts
    settings = settings_from(model=model, verbose=verbose or None)

    def ready(served: Any, session: Any) -> None:
        owner = ("private Ray" if session.started else "Ray") + f" at {session.address}"
        click.echo(f"vnsearch: serving {served.shards} shards × {served.replicas} replicas "
                   f"on {served.url} ({owner}); Ctrl-C or SIGTERM stops", err=True)

    serve_until_stopped(path, settings, address, ready, replicas=replicas, host=host,
                        port=port, timeout_s=timeout_s)
