"""Train a LoRA delta of a sentence-transformers model on (query, passage[, negative]) pairs.

sentence-transformers' own trainer with MultipleNegativesRankingLoss (in-batch negatives,
plus the mined hard negative when the pairs have one), the E5 prompts ``query: `` for the anchor and
``passage: `` for the passages (the model's prompts, kept), a fixed seed, and a LoRA
adapter (peft) on every attention and feed-forward linear layer of the encoder. Only
the LoRA matrices train, so the delta is small (rank 8: 0.66 M parameters, 1.3 MB fp16).

Needs the ``adapt`` extra (peft, datasets, accelerate); materialising a delta does not.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError, ModelError
from ..progress import ProgressReporter
from .pairs import Pair

#: The encoder's linear layers that get a LoRA pair (HF BertModel names; pooler excluded).
TARGET_MODULES = (r".*encoder\.layer\.\d+\.(attention\.self\.(query|key|value)"
                  r"|attention\.output\.dense|intermediate\.dense|output\.dense)")


@dataclass(frozen=True)
class TrainConfig:
    """The training recipe; recorded in ``adapter.json``."""

    rank: int = 8
    alpha: int = 16
    lora_dropout: float = 0.0
    epochs: float = 1.0
    batch_size: int = 32
    learning_rate: float = 5e-4
    warmup_ratio: float = 0.1
    max_seq_length: int = 96
    seed: int = 20261201
    loss: str = "MultipleNegativesRankingLoss"
    query_prompt: str = "query: "
    passage_prompt: str = "passage: "
    target_modules: str = TARGET_MODULES


@dataclass
class TrainResult:
    """What a training run did: probe losses before/after, steps, time, the LoRA tensors."""

    loss_before: float
    loss_after: float
    steps: int
    seconds: float
    config: TrainConfig
    #: ``<module>.lora_A`` (rank × in) / ``<module>.lora_B`` (out × rank), float32 numpy.
    tensors: dict = field(default_factory=dict, repr=False)
    train_losses: list[float] = field(default_factory=list)

    def summary(self) -> dict:
        """The JSON-able part (``adapter.json``'s ``training``)."""
        return {"loss_before": round(self.loss_before, 4), "loss_after": round(self.loss_after, 4),
                "steps": self.steps, "seconds": round(self.seconds, 1),
                "train_loss_first": round(self.train_losses[0], 4) if self.train_losses else None,
                "train_loss_last": round(self.train_losses[-1], 4) if self.train_losses else None}


def _dataset(pairs: list[Pair]) -> Any:
    from datasets import Dataset

    with_neg = all(p.negative is not None for p in pairs)
    columns: dict[str, list[str | None]] = {"anchor": [p.anchor for p in pairs],
                                            "positive": [p.positive for p in pairs]}
    if with_neg:  # the loss reads columns by position: a negative column only when complete
        columns["negative"] = [p.negative for p in pairs]
    return Dataset.from_dict(columns)


def probe_loss(model: Any, loss: Any, pairs: list[Pair], config: TrainConfig) -> float:
    """Mean MNRL loss over ``pairs`` in batches of ``config.batch_size``, no gradient,
    dropout off: the before/after figure ``vnsearch adapt`` prints."""
    import torch

    model.eval()
    values = []
    with torch.no_grad():
        for start in range(0, len(pairs), config.batch_size):
            batch = pairs[start:start + config.batch_size]
            if len(batch) < 2:
                continue
            texts = [[config.query_prompt + p.anchor for p in batch],
                     [config.passage_prompt + p.positive for p in batch]]
            if all(p.negative is not None for p in batch):
                texts.append([config.passage_prompt + (p.negative or "") for p in batch])
            features = [{k: v.to(model.device) if hasattr(v, "to") else v
                         for k, v in model.preprocess(column).items()} for column in texts]
            values.append(float(loss(features, None)))
    return sum(values) / max(len(values), 1)


def lora_tensors(model: Any) -> dict:
    """The trained LoRA matrices of ``model`` as ``{"<module>.lora_A": array, ...}``."""
    out = {}
    for name, param in model[0].auto_model.named_parameters():
        if ".lora_A." in name or ".lora_B." in name:
            module, kind = name.split(".lora_")
            module = module.removeprefix("base_model.model.")
            out[f"{module}.lora_{kind[0]}"] = param.detach().float().cpu().numpy().copy()
    return out


def _step_callbacks(progress: ProgressReporter | None) -> list:
    """Trainer callbacks reporting each optimiser step to ``progress`` (none without it)."""
    if progress is None:
        return []
    from transformers import TrainerCallback

    reporter = progress  # narrowed: the methods below run later, mypy does not carry it

    class StepProgress(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            reporter.set_total(state.max_steps)

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            reporter.set(state.global_step)

    return [StepProgress()]


def train_lora(model_dir: Path, pairs: list[Pair], config: TrainConfig,
               probe: list[Pair] | None = None, threads: int | None = None,
               progress: ProgressReporter | None = None) -> TrainResult:
    """Train a LoRA delta of the model in ``model_dir`` on ``pairs`` (CPU unless a GPU is
    present); ``probe`` (default: the first 256 pairs) measures the loss before and after.
    ``progress`` is told the steps taken (of the total)."""
    if len(pairs) < 2:
        raise InputError("no training pairs (need at least 2): check the input files")
    try:
        import torch
        from peft import LoraConfig, inject_adapter_in_model
        from sentence_transformers import (
            SentenceTransformer,
            SentenceTransformerTrainer,
            SentenceTransformerTrainingArguments,
        )
        from sentence_transformers.sentence_transformer import losses
        from transformers import set_seed
    except ModuleNotFoundError as exc:
        raise ModelError(f"training a delta needs the adapt extra ({exc.name} missing): "
                         "pip install 'vnsearch[adapt]'") from None
    if threads:
        torch.set_num_threads(threads)
    set_seed(config.seed)
    model = SentenceTransformer(str(model_dir),
                                device="cuda" if torch.cuda.is_available() else "cpu")
    model.max_seq_length = config.max_seq_length
    # peft's in-place injection, not transformers' add_adapter (which wants a newer peft
    # than PyPI has for this transformers); only the LoRA matrices train.
    encoder: Any = model[0].auto_model  # a transformers model
    inject_adapter_in_model(LoraConfig(r=config.rank, lora_alpha=config.alpha,
                                       lora_dropout=config.lora_dropout,
                                       target_modules=config.target_modules, bias="none"), encoder)
    for name, param in encoder.named_parameters():
        param.requires_grad = "lora_" in name
    loss = losses.MultipleNegativesRankingLoss(model)
    probe = probe if probe is not None else pairs[:256]
    started = time.monotonic()
    before = probe_loss(model, loss, probe, config)
    steps = math.ceil(len(pairs) / config.batch_size * config.epochs)
    with tempfile.TemporaryDirectory(prefix="vnsearch-adapt-") as tmp:
        args = SentenceTransformerTrainingArguments(
            output_dir=tmp, num_train_epochs=config.epochs,
            per_device_train_batch_size=config.batch_size, learning_rate=config.learning_rate,
            warmup_steps=max(1, int(steps * config.warmup_ratio)), seed=config.seed,
            data_seed=config.seed, logging_steps=max(1, steps // 20), save_strategy="no",
            report_to=[], dataloader_drop_last=True, disable_tqdm=True,
            use_cpu=not torch.cuda.is_available(),
            prompts={"anchor": config.query_prompt, "positive": config.passage_prompt,
                     "negative": config.passage_prompt},
        )
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=_dataset(pairs),
                                             loss=loss, callbacks=_step_callbacks(progress))
        trainer.train()
        logged = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    after = probe_loss(model, loss, probe, config)
    return TrainResult(before, after, trainer.state.global_step, time.monotonic() - started,
                       config, lora_tensors(model), [float(v) for v in logged])


def config_dict(config: TrainConfig) -> dict:
    """The recipe as JSON (``adapter.json``'s ``recipe.training``)."""
    return asdict(config)


os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # no fork warnings from the trainer
