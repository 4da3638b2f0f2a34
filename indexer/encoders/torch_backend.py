"""sentence-transformers on torch (fp32): the reference backend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import ModelError
from ..models.quiet import model_setup
from ..models.resolve import resolve_model
from ..settings import Settings
from .base import Encoder, ModelInfo


class SentenceTransformerEncoder(Encoder):
    """sentence-transformers on torch (fp32)."""

    def __init__(self, settings: Settings) -> None:
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - broken install
            raise ModelError(f"sentence-transformers is not installed: {exc}") from exc
        if settings.threads:
            torch.set_num_threads(settings.threads)
        # After the imports, so transformers' logger and "Loading weights" bar are quieted.
        with model_setup(settings.models_dir, getattr(settings, "verbose", False)):
            name, model_id, location = resolve_model(settings)
            self._model = _load(SentenceTransformer, location, settings.model)
        prompts = self._model.prompts or {}
        self._query_prompt = settings.query_prompt if settings.query_prompt is not None \
            else prompts.get("query")
        self._passage_prompt = settings.passage_prompt if settings.passage_prompt is not None \
            else prompts.get("document", prompts.get("passage"))
        get_dim = getattr(self._model, "get_embedding_dimension", None) \
            or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        self.info = ModelInfo(
            name=name, model_id=model_id, path=location, dimension=int(dim),
            max_tokens=int(self._model.max_seq_length or 512),
            query_prompt=self._query_prompt, passage_prompt=self._passage_prompt,
            backend="torch",
        )

    def _encode(self, texts: list[str], prompt: str | None, batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.info.dimension), dtype=np.float32)
        # sentence-transformers sorts each call's texts by length (less padding).
        vectors = self._model.encode(texts, prompt=prompt or None, batch_size=batch_size,
                                     normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed queries with the query prompt, 32 per forward pass."""
        return self._encode(texts, self._query_prompt, batch_size=32)

    def encode_passages(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """Embed passages with the passage prompt."""
        return self._encode(texts, self._passage_prompt,
                            batch_size=batch_size or self.default_batch_size)

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` with the passage prompt and special tokens."""
        full = (self._passage_prompt or "") + text
        return len(self._model.tokenizer(full, add_special_tokens=True)["input_ids"])

    def count_text_tokens(self, text: str) -> int:
        """Tokens of ``text`` alone (no prompt, no special tokens): what it costs in a prompt
        (``/retrieve``'s budgets)."""
        return len(self._model.tokenizer(text, add_special_tokens=False)["input_ids"])

    @property
    def sentence_transformer(self) -> Any:
        """The underlying model (for tests and benchmarks)."""
        return self._model


def _load(factory: Callable[..., Any], location: str, model: str) -> Any:
    """``SentenceTransformer(location)``, its many failure types reported as one ModelError."""
    try:
        return factory(location, device="cpu")
    except Exception as exc:  # hub/file errors come in many types; report one line
        raise ModelError(f"cannot load model {model!r}: "
                         f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                         ) from exc
