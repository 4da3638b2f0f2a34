"""``vnsearch adapt``: train a LoRA delta of the default model on news headlines and leads."""

from __future__ import annotations

from pathlib import Path

import click

from ..cli_support import settings_from, verbose_option


@click.command("adapt")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory the delta is written to (adapter.safetensors + adapter.json).")
@click.option("--from", "files", multiple=True, type=click.Path(path_type=Path),
              help="News JSONL(.gz) files with title + text (repeatable) [default: the shipped "
                   "recipe's DANeS + crawlnews files under ../shared/data/news].")
@click.option("--max-pairs", type=click.IntRange(2, None), default=None,
              help="Cap on training pairs (articles are sampled with the seed) "
                   "[default: the recipe's 1536].")
@click.option("--all-pairs", is_flag=True, help="No cap: every usable article (2 pairs each).")
@click.option("--epochs", type=click.FloatRange(0.01, 100), default=None, help="[default 1]")
@click.option("--seed", type=int, default=None, help="[default 20261201]")
@click.option("--exclude", multiple=True, type=click.Path(exists=True, dir_okay=False,
              path_type=Path), help="Corpora no training article may overlap (repeatable) "
              "[default: the evaluation corpora under ../shared/data/eval].")
@click.option("--hard-negatives", is_flag=True, help="Add a BM25-mined hard negative to each "
              "pair (same story excluded); ~1.7x the training time.")
@click.option("--threads", type=click.IntRange(1, 256), default=None, help="Torch threads.")
@click.option("--quiet", is_flag=True, help="No progress bar (nor progress lines).")
@verbose_option
def adapt_cmd(out: Path, files: tuple[Path, ...], max_pairs: int | None, all_pairs: bool,
              epochs: float | None, seed: int | None, exclude: tuple[Path, ...],
              hard_negatives: bool, threads: int | None, quiet: bool, verbose: bool) -> None:
    """Train a small LoRA delta of the default model on headline → lead pairs (CPU, offline).

    Point `--adapter DIR` (or VNSEARCH_MODEL_ADAPTER=DIR) at the result when indexing and
    searching. The shipped recipe (news-v1) took 9 minutes on 2 shared CPU cores. Training
    steps are shown on stderr as `vnsearch index` shows articles.
    """
    from ..progress import reporter
    from .run import RECIPE_MAX_PAIRS, adapt, with_epochs
    from .train import TrainConfig

    settings = settings_from(threads=threads, verbose=verbose or None)
    config = with_epochs(TrainConfig(), epochs, seed)
    cap = None if all_pairs else (max_pairs or RECIPE_MAX_PAIRS)
    with reporter(settings, "steps", quiet=quiet, verb="trained") as progress:
        report = adapt(settings, out, list(files) or None, max_pairs=cap, config=config,
                       exclude=list(exclude) or None, negatives=hard_negatives,
                       progress=progress)
    counts = report.pairs.counts()
    click.echo(f"articles: {counts['articles_read']} read, "
               f"{counts['removed_eval_overlap']} removed for overlap with the evaluation corpora, "
               f"{counts['removed_short']} too short or repeated, {counts['articles_used']} used")
    by_kind = ', '.join(f'{k} {v}' for k, v in counts['by_kind'].items())
    click.echo(f"pairs: {counts['pairs']} ({by_kind}; "
               f"{counts['with_negative']} with a hard negative)")
    result = report.training
    click.echo(f"loss (probe, {min(256, counts['pairs'])} pairs): {result.loss_before:.4f} → "
               f"{result.loss_after:.4f}; {result.steps} steps")
    click.echo(f"delta: {report.delta.path} ({report.delta.config['parameters']:,} parameters, "
               f"sha256 {report.delta.sha256[:12]})")
    click.echo(f"time: {report.seconds / 60:.1f} min")
