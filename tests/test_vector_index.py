"""Vector index backends: exact flat, approximate HNSW (recall vs exact), deletes, factory."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.errors import IndexFormatError
from indexer.vector_index import (
    FlatIndex,
    HnswIndex,
    build_vector_index,
    choose_kind,
    load_vector_index,
)


def _data(n: int, dim: int = 384, seed: int = 0) -> np.ndarray:
    """Clustered unit vectors, closer to real embeddings than uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(64, dim))
    x = centres[rng.integers(0, 64, n)] + 0.6 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_choose_kind_by_size():
    assert choose_kind(10, 50_000) == "flat"
    assert choose_kind(50_001, 50_000) == "hnsw"


def test_hnsw_recall_at_10_against_exact(demo_index, encoder):
    """On real passage embeddings and real queries, HNSW finds ≥ 98 % of the exact top 10."""
    import json

    from support import SHARED

    from indexer.db import IndexDB

    with IndexDB(demo_index, readonly=True) as db:
        ids, vectors = db.load_all_vectors(384)
    flat = build_vector_index("flat", 384, ids, vectors)
    hnsw = build_vector_index("hnsw", 384, ids, vectors)
    with (SHARED / "data" / "eval" / "vinewsqa-dev.jsonl").open(encoding="utf-8") as handle:
        texts = [json.loads(line)["query"] for _, line in zip(range(150), handle)]
    queries = encoder.encode_queries(texts)
    recall = np.mean([len(set(flat.search(q, 10).ids) & set(hnsw.search(q, 10).ids)) / 10
                      for q in queries])
    print(f"HNSW recall@10 vs exact, {len(ids)} real passages, {len(texts)} real queries: {recall:.4f}")
    assert recall >= 0.98


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_delete_filter_save_load(kind, tmp_path):
    vectors = _data(500)
    ids = np.arange(1, 501, dtype=np.int64)
    index = build_vector_index(kind, 384, ids, vectors)
    index.remove(np.array([1, 2, 3]))
    hit = index.search(vectors[0], 5)
    assert 1 not in hit.ids and len(hit.ids) == 5
    allowed = np.array([10, 20, 30])
    assert set(index.search(vectors[0], 10, allowed).ids) <= {10, 20, 30}
    assert len(index) == 497
    path = tmp_path / "v.faiss"
    index.save(path)
    again = load_vector_index(path, kind, 384)
    assert isinstance(again, FlatIndex if kind == "flat" else HnswIndex)


def test_truncated_file_is_a_format_error(tmp_path):
    index = build_vector_index("flat", 384, np.arange(10), _data(10))
    path = tmp_path / "v.faiss"
    index.save(path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(IndexFormatError, match="v.faiss"):
        load_vector_index(path, "flat", 384)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_mapped_load_shares_the_file_and_answers_the_same(kind, tmp_path):
    """Readers map the vectors (``serve --workers N`` shares one copy): same answers as a
    read into memory, the file appears in this process's mappings, and it stays readable
    after the writer has unlinked it (generations are replaced by rename)."""
    vectors = _data(800, seed=3)
    ids = np.arange(10, 810, dtype=np.int64)
    path = tmp_path / f"{kind}.faiss"
    build_vector_index(kind, 384, ids, vectors).save(path)
    read = load_vector_index(path, kind, 384)
    mapped = load_vector_index(path, kind, 384, mapped=True)
    with open("/proc/self/maps", encoding="utf-8") as maps:
        assert str(path) in maps.read()
    path.unlink()
    for q in vectors[:20]:
        a, b = read.search(q, 10), mapped.search(q, 10)
        assert list(a.ids) == list(b.ids) and np.array_equal(a.scores, b.scores)
