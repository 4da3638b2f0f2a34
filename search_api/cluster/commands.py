"""``vnsearch cluster stats``: write ``cluster.json`` for a set of shard directories."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("stats")
@click.argument("shard_dirs", nargs=-1, required=True,
                type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The cluster file to write (e.g. DIR/cluster.json).")
def cluster_stats_cmd(shard_dirs: tuple[Path, ...], out: Path) -> None:
    """Sum the shards' global statistics into a cluster file (serve it with
    `vnsearch serve --cluster FILE`). Run again after indexing into a shard."""
    from indexer.cluster.stats import build_cluster_file, load_cluster

    path = build_cluster_file(list(shard_dirs), out)
    cluster = load_cluster(path)
    click.echo(f"{path}: {len(cluster.shards)} shards, {cluster.stats.passages} passages, "
               f"average length {cluster.stats.average_length:.1f} tokens")
