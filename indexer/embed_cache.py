"""On-disk embedding cache keyed by (model id, embedded text).

Lives in ``$VNSEARCH_HOME/embeddings.sqlite`` and is shared by every index and by
``vnsearch eval``, so re-indexing, updating an article or rebuilding an evaluation index
never re-embeds a passage whose embedded text (title context included) is unchanged.
Entries are written before the index transaction that uses them, so the work of a run
that gets killed is not lost either.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import numpy as np


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class EmbeddingCache:
    """A (model id, text) → float32 vector store."""

    def __init__(self, path: Path, model_id: str, dimension: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.model_id = model_id
        self.dimension = dimension
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                     timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (model TEXT NOT NULL, key BLOB NOT NULL, "
            "vector BLOB NOT NULL, PRIMARY KEY (model, key)) WITHOUT ROWID")

    def get_many(self, texts: list[str]) -> dict[int, np.ndarray]:
        """Vectors found for ``texts``, by position in the list."""
        found: dict[int, np.ndarray] = {}
        keys = [text_key(t) for t in texts]
        by_key: dict[bytes, list[int]] = {}
        for i, key in enumerate(keys):
            by_key.setdefault(key, []).append(i)
        unique = list(by_key)
        for start in range(0, len(unique), 500):
            chunk = unique[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT key, vector FROM embeddings WHERE model=? AND key IN ({marks})",
                [self.model_id, *chunk]).fetchall()
            for key, blob in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape[0] == self.dimension:
                    for i in by_key[key]:
                        found[i] = vector
        return found

    def put_many(self, texts: list[str], vectors: np.ndarray) -> None:
        rows = [(self.model_id, text_key(t), np.asarray(v, np.float32).tobytes())
                for t, v in zip(texts, vectors, strict=False)]
        with self._conn:
            self._conn.execute("BEGIN")
            self._conn.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)", rows)

    def close(self) -> None:
        self._conn.close()
