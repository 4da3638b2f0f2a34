"""The vector index interface: a searchable set of (passage id, vector) pairs.

Vectors are L2-normalised, so inner product = cosine. Every backend maps FAISS ids to
passage ids (``IndexIDMap2``) and supports removal, so deletes and updates never need a
full rebuild.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np


@dataclass
class VectorHits:
    """Search result: passage ids and scores, best first (unfilled slots removed)."""

    ids: np.ndarray
    scores: np.ndarray


class VectorIndex(ABC):
    """A searchable set of (passage id, vector) pairs."""

    kind: str

    @abstractmethod
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under the given passage ids."""

    @abstractmethod
    def remove(self, ids: np.ndarray) -> None:
        """Remove passage ids (unknown ids are ignored)."""

    @abstractmethod
    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> VectorHits:
        """Top-k by inner product; ``allowed`` restricts the search to those passage ids."""

    @abstractmethod
    def ids(self) -> np.ndarray:
        """All live passage ids."""

    @abstractmethod
    def save(self, path: Path) -> None:
        """Write the index to ``path`` (the caller makes it atomic)."""

    def __len__(self) -> int:
        return int(len(self.ids()))


def faiss_module() -> ModuleType:
    """The ``faiss`` module, imported on first use (it is slow to import)."""
    import faiss

    return faiss
