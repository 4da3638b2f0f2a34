"""``vnsearch adapt``'s library side: pairs → LoRA training → a delta directory."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..progress import ProgressReporter
from ..settings import Settings
from .delta import Delta, save_delta
from .pairs import PairSet, build_pairs
from .train import TrainConfig, TrainResult, config_dict, train_lora

#: The shipped recipe's news files (permissive licences, ../shared/data/SOURCES.md).
RECIPE_FILES = ("data/news/danes-headlines.jsonl", "data/news/crawlnews-2026.jsonl")
#: Evaluation corpora no training article may overlap.
EVAL_CORPORA = ("data/eval/vinewsqa-dev.corpus.jsonl", "data/eval/vicoqa-turn1.corpus.jsonl")
#: Pairs of the shipped recipe (768 articles, 48 steps of 32): 9 min on 2 shared CPU cores
#: (README, "Model"). Hard negatives (``negatives=True``) cost ~1.7x per pair.
RECIPE_MAX_PAIRS = 1536
ATTRIBUTION = {
    "danes-headlines.jsonl": "DANeS, DATASET JSC & AIV Group — CC BY 4.0 "
                             "(https://github.com/dataset-vn/DANeS); headlines and leads",
    "crawlnews-2026.jsonl": "leduchuy20/crawl_news — MIT per its README (research and "
                            "education); article text © 24h, VnExpress, Dân trí, Thanh Niên",
}


@dataclass
class AdaptReport:
    """What ``vnsearch adapt`` did: the pairs, the training run and the written delta."""

    pairs: PairSet
    training: TrainResult
    delta: Delta
    seconds: float


def shared_root() -> Path | None:
    """``../shared`` next to the working directory or next to the repository, if present."""
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        candidate = (base / ".." / "shared").resolve()
        if candidate.is_dir():
            return candidate
    return None


def default_files() -> list[Path]:
    """The shipped recipe's input files under ``../shared`` (an error when absent)."""
    root = shared_root()
    if root is None:
        raise InputError("no ../shared/data/news here: give the news files with --from FILE ...")
    return [root / name for name in RECIPE_FILES]


def default_eval_corpora() -> list[Path]:
    """The evaluation corpora to decontaminate against (those present)."""
    root = shared_root()
    return [root / name for name in EVAL_CORPORA if (root / name).is_file()] if root else []


def adapt(settings: Settings, out: Path, files: list[Path] | None = None, *,
          max_pairs: int | None = RECIPE_MAX_PAIRS, config: TrainConfig | None = None,
          name: str | None = None, exclude: list[Path] | None = None,
          negatives: bool = False, progress: ProgressReporter | None = None) -> AdaptReport:
    """Build pairs from ``files`` (default: the shipped recipe's), train a LoRA delta of the
    default model and write it to ``out``. ``exclude``: corpora no training article may
    overlap (default: the evaluation sets under ../shared). ``progress``: told the
    training steps taken."""
    from ..models.default_model import ensure_default_model

    started = time.monotonic()
    config = config or TrainConfig()
    files = [Path(f) for f in (files or default_files())]
    for path in files:
        if not path.is_file():
            raise InputError(f"{path}: no such file")
    exclude = default_eval_corpora() if exclude is None else exclude
    pairs = build_pairs(files, exclude, max_pairs=max_pairs, seed=config.seed, negatives=negatives)
    if len(pairs.pairs) < 2:
        raise InputError(f"no training pairs from {', '.join(map(str, files))}: articles need a "
                         "title and a lead of 12+ words")
    base = ensure_default_model(settings.models_dir)
    result = train_lora(base.path, pairs.pairs, config, threads=settings.threads,
                        progress=progress)
    record = {
        "base_model": base.model_id,
        "recipe": {"files": [p.name for p in files], "max_pairs": max_pairs,
                   "decontaminated_against": [p.name for p in exclude],
                   "pairs": "headline → lead, toneless headline → lead"
                            + ("; BM25 hard negatives" if negatives else "; in-batch negatives"),
                   "training": config_dict(config)},
        "data": pairs.counts(),
        "training": result.summary(),
        "attribution": [ATTRIBUTION.get(p.name, p.name) for p in files],
    }
    delta = save_delta(out, result.tensors, name=name or Path(out).name,
                       scale=config.alpha / config.rank, record=record)
    return AdaptReport(pairs, result, delta, time.monotonic() - started)


def with_epochs(config: TrainConfig, epochs: float | None, seed: int | None) -> TrainConfig:
    """``config`` with the CLI's ``--epochs``/``--seed`` applied when given."""
    updates: dict[str, Any] = {k: v for k, v in (("epochs", epochs), ("seed", seed))
                               if v is not None}
    return replace(config, **updates) if updates else config
