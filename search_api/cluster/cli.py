"""``vnsearch cluster …``: the group, and ``cluster index`` (build shards on Ray).

:mod:`search_api.cli` registers the group and its commands; Ray is imported only when a
command runs, so ``vnsearch --help`` works without the ``ray`` extra.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from indexer.cli_support import VnsearchGroup, model_option, settings_from, verbose_option
from indexer.commands import EXIT_MISSING_PATH, EXIT_SKIPPED, missing_paths, summary_lines
from indexer.progress import reporter


@click.group("cluster", cls=VnsearchGroup)
def cluster_group() -> None:
    """A set of index shards used as one index: stats, index on Ray, serve on Ray."""


@click.command("index")
@click.argument("paths", nargs=-1, required=True)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory of the shards (shard-0 … shard-N-1) and cluster.json.")
@click.option("--shards", type=click.IntRange(1, 4096), required=True,
              help="Number of shards (keep it the same on every run into --out).")
@click.option("--address", default=None,
              help="Ray cluster address (host:port); default: a private Ray on 127.0.0.1 "
                   "for this run.")
@click.option("--actors", type=click.IntRange(1, 1024), default=1, show_default=True,
              help="Encoder actors (one loaded model each).")
@click.option("--threads", "threads_per_actor", type=click.IntRange(1, 256), default=None,
              help="Threads per actor [default: (cluster CPUs - 1) / actors].")
@model_option
@click.option("--batch-size", type=click.IntRange(1, 1024), default=None,
              help="Passages per encoder forward pass.")
@click.option("--allow-skips", is_flag=True, help="Exit 0 even when records were skipped.")
@click.option("--quiet", is_flag=True, help="No progress bar (nor progress lines).")
@verbose_option
def cluster_index_cmd(paths: tuple[str, ...], out_dir: Path, shards: int, address: str | None,
                      actors: int, threads_per_actor: int | None, model: str | None,
                      batch_size: int | None, allow_skips: bool, quiet: bool,
                      verbose: bool) -> None:
    """Index JSONL/CSV/TXT/HTML files or folders into N shards, embedding on Ray.

    Each article goes to the shard its stable id hashes to (as ``vnsearch index --shard
    i/N``); re-running with more input adds and updates articles in their shards. Progress
    of the embedding (passages) on stderr as ``vnsearch index``'s. Exit status as
    ``vnsearch index``: 0; 2 when a record was skipped or there was nothing to index
    (--allow-skips: 0); 3 when a path given does not exist (wins over 2); 1 on an error.
    """
    from indexer.cluster.ray_index import cluster_index

    missing = missing_paths(paths)
    if len(missing) == len(paths):
        sys.exit(EXIT_MISSING_PATH)  # before Ray and the model start
    paths = tuple(p for p in paths if p not in missing)
    settings = settings_from(model=model, batch_size=batch_size, verbose=verbose or None)
    with reporter(settings, "passages", quiet=quiet, verb="embedded") as progress:
        report = cluster_index(paths, out_dir, shards, settings, address=address,
                               actors=actors, threads_per_actor=threads_per_actor,
                               progress=progress.set)
    for record in report.skipped_records:
        where = f"{record.path}:{record.line}" if record.line is not None else record.path
        click.echo(f"vnsearch: skipped {where}: {record.reason}", err=True)
    for line in summary_lines(report.summary):
        click.echo(line)
    per_shard = ", ".join(f"shard-{i}: {s.added + s.updated + s.unchanged} articles"
                          for i, s in enumerate(report.per_shard))
    click.echo(f"shards: {per_shard}; cluster file: {report.cluster_file}")
    if report.stories.articles:
        click.echo(f"stories: {report.stories.articles} articles assigned across shards "
                   f"({report.stories.changed} story ids changed) in "
                   f"{report.stories.seconds:.1f} s")
    if report.threads_per_actor:
        click.echo(f"ray: {report.embedded_on_ray} passages embedded by {report.actors} actors "
                   f"× {report.threads_per_actor} threads in {report.embed_seconds:.1f} s")
    else:
        click.echo("ray: not started (nothing to index)")
    summary = report.summary
    seen = summary.added + summary.updated + summary.unchanged + summary.duplicates \
        + summary.tombstoned + summary.skipped
    if not seen:
        click.echo(f"vnsearch: nothing to index in {' '.join(paths)}", err=True)
    if missing:
        sys.exit(EXIT_MISSING_PATH)
    if (summary.skipped or not seen) and not allow_skips:
        sys.exit(EXIT_SKIPPED)
