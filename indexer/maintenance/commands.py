"""The commands ``vnsearch backup``, ``restore`` and ``compact`` (registered by the one
list of commands in :mod:`search_api.cli`)."""

from __future__ import annotations

from pathlib import Path

import click

from ..cli_support import existing_index_option, index_option


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


@click.command("backup")
@existing_index_option
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="New directory to write the backup to (must not exist): itself an index, "
                   "searchable as is or put back with `vnsearch restore`.")
def backup_cmd(index_dir: Path, out: Path) -> None:
    """Copy an index consistently while it is served and written to: the SQLite store by
    its online backup API and the FAISS and lexical files of the same generation. Takes
    no lock; the copy is checked before it is named OUT."""
    from .backup import backup_index

    report = backup_index(index_dir, out)
    click.echo(f"backed up {index_dir} at generation {report.generation}: {report.articles} "
               f"articles, {report.passages} passages, {report.bytes} bytes "
               f"({_mb(report.bytes)}) → {out} (derived files {report.derived}, "
               f"{report.seconds:.1f} s)")


@click.command("restore")
@click.option("--from", "source", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The backup directory (written by `vnsearch backup`).")
@index_option
@click.option("--force", is_flag=True,
              help="Replace the index already in --index (stop its servers first).")
def restore_cmd(source: Path, index_dir: Path, force: bool) -> None:
    """Restore a backup into --index: a checked copy, put in place by one rename. A
    non-empty --index is refused unless --force (which replaces only an index)."""
    from .restore import restore_index

    report = restore_index(source, index_dir, force)
    copy = report.copy
    click.echo(f"restored {source} into {index_dir}{' (replaced)' if report.replaced else ''}: "
               f"generation {copy.generation}, {copy.articles} articles, {copy.passages} "
               "passages; check ok")


@click.command("compact")
@existing_index_option
def compact_cmd(index_dir: Path) -> None:
    """Give the space of deleted articles back (VACUUM, WAL truncated, full-text index
    merged, lexical matrix rewritten without deleted rows, old generations' files
    removed) under the write lock, while searches go on. Prints the bytes before and after."""
    from .compact import compact_index

    report = compact_index(index_dir)
    click.echo(f"before: {report.bytes_before} bytes ({_mb(report.bytes_before)})")
    click.echo(f"after: {report.bytes_after} bytes ({_mb(report.bytes_after)}); "
               f"{report.bytes_freed} bytes given back, generation {report.generation_before} "
               f"→ {report.generation_after}, {report.seconds:.1f} s")
    if not report.wal_truncated:
        click.echo("note: searches kept the WAL from being truncated; run compact again "
                   "when the index is quieter", err=True)
    if report.lexical_kept:
        click.echo(f"note: lexical generations {report.lexical_kept} are still mapped by "
                   "searchers; the next write or compact removes them", err=True)


#: Registered on the root group by :mod:`search_api.cli`'s one list of commands.
COMMANDS = (backup_cmd, restore_cmd, compact_cmd)
