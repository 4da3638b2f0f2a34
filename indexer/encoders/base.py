"""The encoder seam: what identifies a model, and the two roles an encoder plays.

A caller that only embeds queries (search) needs a :class:`QueryEncoder`; one that embeds
passages (the index writer) needs a :class:`PassageEncoder`; a delete or an export needs
neither. :class:`Encoder` is the base of the shipped backends, which play both roles.

Prompts (E5's ``query: `` / ``passage: ``) live in the model's own
``config_sentence_transformers.json`` and are applied by the backends; settings may
override them. Call sites never paste prompts by hand.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


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

    @property
    def adapter(self) -> dict | None:
        """``{"name", "sha256"}`` of the LoRA delta merged into the model, or None
        (read from the materialised model directory's ``vnsearch_model.json``)."""
        from ..models.adapted_model import model_adapter

        return model_adapter(self.path)


@runtime_checkable
class QueryEncoder(Protocol):
    """Embeds search queries."""

    info: ModelInfo

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed search queries: L2-normalised float32, shape (len(texts), dimension)."""
        ...


@runtime_checkable
class PassageEncoder(Protocol):
    """Embeds passages and counts their tokens (for chunking)."""

    info: ModelInfo

    def encode_passages(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """Embed passages: L2-normalised float32, shape (len(texts), dimension)."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for ``text`` as a passage (prompt and specials included)."""
        ...


class Encoder(ABC):
    """Turns queries and passages into L2-normalised float32 vectors (both roles)."""

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


def model_info_json(info: ModelInfo) -> str:
    """The ``vnsearch model --info --json`` document."""
    return json.dumps({**info.__dict__, "adapter": info.adapter}, ensure_ascii=False, indent=2)
