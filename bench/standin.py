"""Stand-in passage vectors for serving benchmarks at sizes whose embedding takes hours.

``bench/query.py --stand-in-vectors N`` builds a big index (e.g. 200k passages) in
minutes instead of 1–2 hours of embedding on 2 cores: the first ``N`` distinct passages
are embedded for real (through the real embedding cache, so repeated builds are cheap);
every other passage gets one of those real vectors, chosen by a hash of its text, plus
Gaussian noise (σ per component, then L2-normalised). The vectors therefore keep the
real model's distribution (clusters, norms), so FAISS (flat or HNSW) works as hard as on
real vectors; the texts, the lexical index, SQLite and every count are real; the query
encoder is the real model (the stand-in encoder carries its identity, so the index is
served by ``vnsearch serve`` as any other). Only the *dense answers* mean nothing.

The build runs in a private ``VNSEARCH_HOME`` (models dir symlinked to the real one) so
stand-in vectors never reach the real embedding cache.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

SIGMA = 0.02  # noise per component: cosine to the source vector ≈ 0.87 in 384 dimensions


class StandInEncoder:
    """Passage encoder that reuses a pool of real vectors (see the module docstring)."""

    def __init__(self, real, pool_texts: list[str], pool_vectors: np.ndarray) -> None:
        self.real = real
        self.info = real.info  # same model id: the index is queryable by the real model
        self.pool = {t: v for t, v in zip(pool_texts, pool_vectors)}
        self.vectors = pool_vectors
        self.max_tokens = real.info.max_tokens

    def _vector(self, text: str) -> np.ndarray:
        found = self.pool.get(text)
        if found is not None:
            return found
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
        rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
        base = self.vectors[int.from_bytes(digest[8:12], "little") % len(self.vectors)]
        vec = base + rng.normal(0.0, SIGMA, base.shape).astype(np.float32)
        return (vec / np.linalg.norm(vec)).astype(np.float32)

    def encode_passages(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        return np.vstack([self._vector(t) for t in texts]) if texts else \
            np.zeros((0, self.info.dimension), np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.real.encode_queries(texts)

    def count_tokens(self, text: str) -> int:
        return self.real.count_tokens(text)


def private_home(real_home: Path, where: Path) -> Path:
    """A ``VNSEARCH_HOME`` whose models dir is the real one (symlink) and whose embedding
    cache is its own."""
    where.mkdir(parents=True, exist_ok=True)
    link = where / "models"
    if not link.exists():
        os.symlink(real_home / "models", link)
    return where


def real_pool(encoder, settings, texts: list[str]) -> np.ndarray:
    """Real vectors of ``texts`` through the real embedding cache (embedding what is missing)."""
    from indexer.embed_cache import EmbeddingCache
    from indexer.writer import cache_key

    cache = EmbeddingCache(settings.embedding_cache_path, cache_key(encoder),
                           encoder.info.dimension)
    try:
        found = cache.get_many(texts)
        missing = [i for i in range(len(texts)) if i not in found]
        out = np.zeros((len(texts), encoder.info.dimension), np.float32)
        for i, vec in found.items():
            out[i] = vec
        if missing:
            vecs = encoder.encode_passages([texts[i] for i in missing])
            cache.put_many([texts[i] for i in missing], vecs)
            out[missing] = vecs
        return out
    finally:
        cache.close()
