"""The ``vnsearch`` command line: the root group, the commands of this layer (``query``,
``serve``, ``eval``, ``calibrate``, ``mcp``) and, at the bottom, the one list that
registers every command — the indexer's, this layer's and the ``cluster`` group's.

Commands only parse options, call the library and print; errors become one line on stderr
and a non-zero exit (:class:`indexer.cli_support.VnsearchGroup`). No module registers a
command on import: a command is a plain ``click.command`` until the list here adds it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import click

from indexer.cli_support import (
    VnsearchGroup,
    adapter_option,
    existing_index_option,
    model_option,
    optional_existing_index_option,
    settings_from,
    verbose_option,
)
from indexer.commands import COMMANDS as INDEXER_COMMANDS
from indexer.errors import InputError
from indexer.maintenance.commands import COMMANDS as MAINTENANCE_COMMANDS

from .cluster.cli import cluster_group, cluster_index_cmd
from .cluster.commands import cluster_stats_cmd
from .cluster.serve_cli import cluster_serve_cmd
from .retrieval.request import SEARCH_MODES
from .search_fields import SEARCH_FIELDS


@click.group(cls=VnsearchGroup)
@click.version_option(package_name="vnsearch")
def main() -> None:
    """vnsearch — semantic search over Vietnamese news."""


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def search_options(after: dict[str, Decorator]) -> Decorator:
    """The ``vnsearch query`` options of the search fields (:data:`SEARCH_FIELDS`), in their
    order, each followed by ``after[name]`` when given; the option's dest is the field."""
    options: list[Decorator] = []
    for spec in SEARCH_FIELDS:
        if spec.cli is not None:
            cli = spec.cli
            kind = click.Choice(list(cli.choices)) if cli.choices else cli.type
            options.append(click.option(*cli.flags, spec.name, type=kind, default=spec.default,
                                        show_default=cli.show_default, is_flag=cli.is_flag,
                                        help=cli.help))
        if spec.name in after:
            options.append(after[spec.name])

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


@click.command("query")
@click.argument("text")
@existing_index_option
@model_option
@adapter_option
@verbose_option
@search_options(after={"group": click.option(
    "--no-group", is_flag=True, help="Raw passages (same as --group none).")})
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON response.")
def query_cmd(text: str, index_dir: Path, model: str | None, no_group: bool, as_json: bool,
              verbose: bool, **fields: Any) -> None:
    """Search an index (same results as GET /search)."""
    from indexer.encoders import create_encoder

    from .query_output import format_result
    from .retrieval import Searcher
    from .schemas import SearchResponse, answer, search_request

    settings = settings_from(model=model, verbose=verbose or None)
    searcher = Searcher(index_dir, settings, create_encoder(settings), lexical_matrix=False)
    if no_group:
        fields["group"] = "none"
    result = searcher.search(search_request(q=text, **fields))
    if as_json:
        click.echo(answer(SearchResponse, result).model_dump_json(indent=2))
        return
    # exit 0 also when nothing matched: an empty result is an answer, not an error
    click.echo(format_result(result))


@click.command("serve")
@optional_existing_index_option
@click.option("--cluster", "cluster_file", default=None,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Serve a set of shards as one index (a cluster.json) instead of --index.")
@model_option
@adapter_option
@verbose_option
@click.option("--host", default=None, help="Bind address [default 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [default 8000].")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Worker processes on the one port (threads = cores / workers); writes "
                   "stay single-writer. [default: the cores, at most 4; 1 with --cluster; "
                   "or VNSEARCH_WORKERS]")
def serve_cmd(index_dir: Path | None, cluster_file: Path | None, model: str | None,
              host: str | None, port: int | None, verbose: bool, workers: int | None) -> None:
    """Serve the search API and web page.

    One worker process per core by default (at most 4), all on the same port: the model is
    loaded once and shared, the index files are memory-mapped and shared. --workers 1: one
    process (model and index loaded once, a thread pool). With --cluster, the shards listed
    in a cluster.json answer as one index (same API and page; one process by default).
    """
    import uvicorn

    from .app import create_app
    from .network import check_serving, uvicorn_options
    from .workers import cluster_searcher, default_workers, run_workers

    if (index_dir is None) == (cluster_file is None):
        raise InputError("serve: give either --index DIR or --cluster FILE")
    overrides = {"model": model, "host": host, "port": port, "verbose": verbose or None}
    settings = settings_from(**overrides)
    if cluster_file is not None:
        from indexer.cluster.stats import load_cluster

        load_cluster(cluster_file)  # one-line error before the model loads
    settings, warnings = check_serving(settings)  # Host names, token (.network)
    for line in warnings:
        click.echo(line, err=True)
    workers = workers or settings.workers or (1 if cluster_file else default_workers())
    if workers > 1:
        run_workers(workers, settings, overrides, index_dir, cluster_file)
        return
    app = (create_app(settings, cluster_file, searcher_factory=cluster_searcher)
           if cluster_file is not None else create_app(settings, cast(Path, index_dir)))
    uvicorn.run(app, host=settings.host, port=settings.port, **uvicorn_options(settings))


_file = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("eval")
@click.argument("queries", type=_file)
@click.argument("more_distractors", nargs=-1, metavar="", type=_file)
@click.option("--corpus", required=True, type=_file)
@click.option("--distractors", multiple=True, type=_file,
              help="News JSONL(.gz) added to the corpus as distractors.")
@click.option("--max-distractors", type=int, default=None,
              help="Use at most N distractor articles.")
@click.option("--mode", type=click.Choice([*SEARCH_MODES, "all"]), default="hybrid",
              show_default=True)
@click.option("--toneless", is_flag=True, help="Strip tones from every query (đ→d).")
@click.option("--limit", type=int, default=None, help="Only the first N queries.")
@click.option("--index", "index_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None,
              help="Keep the evaluation index here (default: a temporary directory).")
@click.option("--leave-out", type=click.IntRange(min=0), default=0, show_default=True,
              help="Index the corpus without N of its articles (fixed choice) and report how "
                   "often their questions, nonsense and off-topic queries get no result.")
@click.option("--min-relevance", type=click.FloatRange(0.0, 1.0), default=None,
              help="Cut-off for the answered/abstain rates and cut nDCG@10 "
                   "[default: VNSEARCH_MIN_RELEVANCE].")
@click.option("--endpoint", type=click.Choice(["search", "retrieve"]), default="search",
              show_default=True, help="Whose answer answer_recall@k scores: /search "
                                      "(defaults, one passage per article) or /retrieve.")
@click.option("--answer-k", type=click.IntRange(1, 100), default=5, show_default=True,
              help="k of answer_recall@k.")
@model_option
@adapter_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per mode.")
@click.option("--quiet", is_flag=True, help="No progress on stderr (--json implies it).")
def eval_cmd(queries: Path, more_distractors: tuple[Path, ...], corpus: Path,
             distractors: tuple[Path, ...], max_distractors: int | None,
             mode: str, toneless: bool, limit: int | None, index_dir: Path | None,
             leave_out: int, min_relevance: float | None, endpoint: str, answer_k: int,
             model: str | None, as_json: bool, quiet: bool) -> None:
    """Measure retrieval quality (nDCG@10, MRR@10, Recall@k) on an evaluation set.

    nDCG@10 etc. rank every candidate (no cut); ``cut nDCG@10`` and ``answered`` apply
    ``min_relevance`` as a search would. ``--distractors A B C`` and
    ``--distractors A --distractors B`` both work. Progress (indexing, then the queries of
    each mode) goes to stderr as `vnsearch index`'s.
    """
    from .quality.eval_table import format_table
    from .quality.evaluation import run_eval

    if more_distractors and not distractors:
        raise InputError(f"unexpected argument {str(more_distractors[0])!r} "
                         "(extra files are only allowed after --distractors)")
    distractors = tuple(distractors) + tuple(more_distractors)
    settings = settings_from(model=model)
    modes = list(SEARCH_MODES) if mode == "all" else [mode]
    rows = run_eval(queries, corpus, list(distractors), settings, modes=modes, toneless=toneless,
                    max_distractors=max_distractors, limit=limit, index_dir=index_dir,
                    progress=not (as_json or quiet), leave_out=leave_out,
                    min_relevance=min_relevance,
                    endpoint=endpoint, answer_k=answer_k)
    if as_json:
        click.echo(json.dumps([r.as_json() for r in rows], indent=2))
    else:
        click.echo(format_table(rows))


_EVAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "eval"


@click.command("calibrate")
@click.option("--eval-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=_EVAL_DIR, show_default=True,
              help="Evaluation sets: <name>.jsonl + <name>.corpus.jsonl.")
@click.option("--set", "names", multiple=True, default=("vinewsqa-dev", "vicoqa-turn1"),
              show_default=True, help="Evaluation set name (repeatable).")
@click.option("--leave-out-fraction", type=click.FloatRange(0.0, 0.9), default=0.2,
              show_default=True, help="Share of each corpus left out of its index.")
@click.option("--limit", type=int, default=None, help="Only the first N queries of each set.")
@click.option("--index-root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the indexes here (default: a temporary directory).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Model file to write [default: the one shipped in the package].")
@model_option
@adapter_option
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
def calibrate_cmd(eval_dir: Path, names: tuple[str, ...], leave_out_fraction: float,
                  limit: int | None, index_root: Path | None, out: Path | None,
                  model: str | None, quiet: bool) -> None:
    """Refit the relevance model on evaluation sets and write it (README, "Relevance").

    Progress (indexing, then labelling each query's candidates) goes to stderr as
    `vnsearch index`'s.
    """
    import tempfile

    from .quality.calibration import run_calibration
    from .retrieval.relevance import MODEL_PATH

    settings = settings_from(model=model)
    with tempfile.TemporaryDirectory(prefix="vnsearch-calibrate-") as tmp:
        report = run_calibration(eval_dir, list(names), settings, index_root or Path(tmp),
                                 out or MODEL_PATH, leave_out_fraction, limit,
                                 progress=not quiet)
    click.echo(report)


@click.command("rank-fit")
@click.option("--eval-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=_EVAL_DIR, show_default=True,
              help="Question-answering sets: <name>.jsonl + <name>.corpus.jsonl.")
@click.option("--set", "names", multiple=True, default=("vinewsqa-dev", "vicoqa-turn1"),
              show_default=True, help="Question-answering set name (repeatable).")
@click.option("--dev-set", "dev_sets", multiple=True, type=_file,
              help="A keyword or topic set over the news corpora (repeatable), e.g. "
                   "data/eval/keyword-dev.jsonl.")
@click.option("--news-index", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="The index of the news corpora the --dev-set queries were "
                                 "written on (see data/eval/keyword-dev.md).")
@click.option("--index-root", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Keep the QA indexes and the cached rows here (reused by the next run).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory for ranker_model.txt + learned_model.json [default: the package's].")
@click.option("--plots", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write reliability diagrams (PNG) here.")
@click.option("--check-slice", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a slice of rows and the ranker's nDCG on it (the test fixture "
                   "tests/fixtures/ranker-check.npz).")
@model_option
@adapter_option
def rank_fit_cmd(eval_dir: Path, names: tuple[str, ...], dev_sets: tuple[Path, ...],
                 news_index: Path | None, index_root: Path, out: Path | None,
                 plots: Path | None, check_slice: Path | None, model: str | None) -> None:
    """Fit the learned ranker and relevance models (k-fold report on stdout).

    Progress goes to stderr. The report's figures are also stored in learned_model.json.
    """
    import sys

    from .quality.rank_report import collect_rows, format_report, kfold_and_refit
    from .retrieval.learned import MODEL_PATH

    settings = settings_from(model=model)
    rows = collect_rows(eval_dir, list(names), list(dev_sets), news_index, settings,
                        index_root, lambda m: print(m, file=sys.stderr, flush=True))
    report = kfold_and_refit(rows, out or MODEL_PATH.parent, plots, check_slice)
    click.echo(format_report(report))


@click.command("mcp")
@existing_index_option
@model_option
@adapter_option
def mcp_cmd(index_dir: Path, model: str | None) -> None:
    """Serve the index to an MCP client (Claude Desktop, an agent) over stdin/stdout.

    Tools "search" (as POST /retrieve) and "get_article"; resource vnsearch://facets.
    Logs go to stderr: stdout carries the protocol.
    """
    import logging
    import sys

    from .mcp_server import serve_stdio

    # stderr only (stdout is the protocol); our own lines at INFO, libraries' from WARNING.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("vnsearch").setLevel(logging.INFO)
    serve_stdio(index_dir, settings_from(model=model))


# -- The one list of commands ------------------------------------------------------------
# Every command of ``vnsearch`` is added here and nowhere else, so what the root group
# offers is read in one place (``python -m indexer`` has its own group of the indexer's).

CLUSTER_COMMANDS = (cluster_index_cmd, cluster_stats_cmd, cluster_serve_cmd)
ROOT_COMMANDS = (*INDEXER_COMMANDS, *MAINTENANCE_COMMANDS, query_cmd, serve_cmd,
                 cluster_group, eval_cmd, calibrate_cmd, rank_fit_cmd, mcp_cmd)


def register_commands() -> None:
    """Add every command to the root group (and the ``cluster`` subcommands to theirs)."""
    for command in CLUSTER_COMMANDS:
        cluster_group.add_command(command)
    for command in ROOT_COMMANDS:
        main.add_command(command)


register_commands()


if __name__ == "__main__":  # pragma: no cover
    main()
