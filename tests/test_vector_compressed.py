"""The compressed vector index (``hnsw-fp16``): interface, recall against exact search,
choice by size and by setting, and a writer → reader round trip that picks it.

Seeded clustered synthetic vectors (no model); the writer test uses the FakeEncoder.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from support import DEMO_DATA, FakeEncoder, read_jsonl_head

from indexer.article import Article
from indexer.db import IndexDB
from indexer.settings import Settings
from indexer.vector_index import build_vector_index, choose_kind, load_vector_index
from indexer.vector_index.compressed import HnswFp16Index
from indexer.writer import IndexWriter
from search_api.retrieval import Searcher, SearchRequest


def _data(n: int, dim: int = 384, seed: int = 0) -> np.ndarray:
    """Clustered unit vectors, closer to real embeddings than uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(64, dim))
    x = centres[rng.integers(0, 64, n)] + 0.6 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def built() -> tuple[np.ndarray, np.ndarray, HnswFp16Index]:
    vectors = _data(3000)
    ids = np.arange(100, 3100, dtype=np.int64)
    index = build_vector_index("hnsw-fp16", 384, ids, vectors)
    assert isinstance(index, HnswFp16Index)
    return ids, vectors, index


def test_recall_at_10_against_exact(built):
    ids, vectors, index = built
    flat = build_vector_index("flat", 384, ids, vectors)
    queries = _data(100, seed=7)
    recall = np.mean([len(set(flat.search(q, 10).ids) & set(index.search(q, 10).ids)) / 10
                      for q in queries])
    assert recall >= 0.95, recall


@pytest.mark.parametrize("mapped", [False, True])
def test_save_load_round_trip(built, tmp_path, mapped):
    ids, vectors, index = built
    path = tmp_path / "v.faiss"
    index.save(path)
    again = load_vector_index(path, "hnsw-fp16", 384, mapped=mapped)
    assert isinstance(again, HnswFp16Index) and again.kind == "hnsw-fp16"
    if mapped:  # FAISS maps this index type (IO_FLAG_MMAP_IFC): readers share one copy
        with open("/proc/self/maps", encoding="utf-8") as maps:
            assert str(path) in maps.read()
    assert np.array_equal(np.sort(again.ids()), ids)
    for q in vectors[:20]:
        a, b = index.search(q, 10), again.search(q, 10)
        assert list(a.ids) == list(b.ids) and np.allclose(a.scores, b.scores)


def test_removed_ids_never_come_back(tmp_path):
    vectors = _data(1500, seed=2)
    ids = np.arange(1, 1501, dtype=np.int64)
    index = build_vector_index("hnsw-fp16", 384, ids, vectors)
    gone = ids[:300]
    index.remove(gone)
    assert len(index) == 1200 and not set(gone) & set(index.ids())
    for q in vectors[:50]:  # the removed vectors themselves: their own best match
        hits = index.search(q, 20)
        assert len(hits.ids) == 20 and not set(hits.ids) & set(gone)
    allowed = np.array([5, 6, 400, 401, 402])
    restricted = set(index.search(vectors[5], 10, allowed).ids)
    assert restricted and restricted <= {400, 401, 402}  # 5 and 6 are removed
    index.add(gone[:1], vectors[:1])  # added again: live again
    assert index.search(vectors[0], 1).ids[0] == 1


def test_allowed_restricts_the_search(built):
    ids, vectors, index = built
    rng = np.random.default_rng(5)
    allowed = rng.choice(ids, 40, replace=False)
    for q in vectors[:10]:
        hits = index.search(q, 10, allowed)
        assert len(hits.ids) == 10 and set(hits.ids) <= set(allowed)
    assert len(index.search(vectors[0], 10, np.array([], np.int64)).ids) == 0


def test_small_first_batch_then_more():
    """fp16 needs no training: a tiny first batch, then more, all found again."""
    vectors = _data(400, seed=4)
    index = build_vector_index("hnsw-fp16", 384, np.arange(3), vectors[:3])
    index.add(np.arange(3, 400), vectors[3:])
    found = sum(index.search(v, 1).ids[0] == i for i, v in enumerate(vectors))
    assert found >= 390


def test_choose_kind_by_thresholds_and_override():
    assert choose_kind(10, 50_000, 500_000) == "flat"
    assert choose_kind(50_001, 50_000, 500_000) == "hnsw"
    assert choose_kind(500_001, 50_000, 500_000) == "hnsw-fp16"
    assert choose_kind(500_001, 50_000) == "hnsw"  # old callers: no compressed threshold
    assert choose_kind(10, 50_000, 500_000, "hnsw-fp16") == "hnsw-fp16"
    assert choose_kind(10**7, 50_000, 500_000, "flat") == "flat"


def test_override_setting_from_the_environment(monkeypatch):
    monkeypatch.setenv("VNSEARCH_VECTOR_INDEX", "hnsw-fp16")
    assert Settings().vector_index == "hnsw-fp16"
    monkeypatch.setenv("VNSEARCH_VECTOR_INDEX", "ivf")
    with pytest.raises(ValueError):
        Settings()


def _articles(n: int) -> list[Article]:
    return [Article(id=r["id"], title=r.get("title"), text=r["text"], url=r.get("url"),
                    source=r.get("source"), published=r.get("published"))
            for r in read_jsonl_head(DEMO_DATA / "demo.jsonl", n)]


@pytest.mark.parametrize(("force", "kind"), [("auto", "hnsw-fp16"), ("flat", "flat")])
def test_writer_picks_the_compressed_kind_and_readers_use_it(tmp_path, force, kind):
    settings = Settings(home=tmp_path / "home", vector_index_threshold=5,
                        vector_index_compressed_threshold=20, vector_index=force,
                        vector_fold_min_rows=0)  # every write folds: the base is rebuilt
    directory = tmp_path / "index"
    articles = _articles(30)
    with IndexWriter(directory, settings, FakeEncoder()) as writer:
        writer.add_articles(articles)
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["vector_index"] == kind
    with IndexWriter(directory, settings, FakeEncoder()) as writer:
        writer.delete([articles[0].id])
    with IndexDB(directory, readonly=True) as db:
        live = set(db.load_all_vectors(16)[0])
    searcher = Searcher(directory, settings, FakeEncoder(), lexical_matrix=False)
    try:
        vectors = searcher.snapshot.vectors
        assert getattr(vectors, "base", vectors).kind == kind  # base + segments since
        assert set(searcher.snapshot.vectors.ids()) == live
        result = searcher.search(SearchRequest(query="tin tức", k=10, mode="dense",
                                               min_relevance=0.0))
        assert result.results and all(h.article_id != articles[0].id for h in result.results)
    finally:
        searcher.close()


def test_a_forced_kind_is_applied_at_the_next_write(tmp_path):
    """`VNSEARCH_VECTOR_INDEX` set on an existing index: its next write rebuilds the base
    as that kind, even when the segments alone would not call for a rebuild."""
    directory = tmp_path / "index"
    articles = _articles(30)
    with IndexWriter(directory, Settings(home=tmp_path / "home"), FakeEncoder()) as writer:
        writer.add_articles(articles[:29])
    forced = Settings(home=tmp_path / "home", vector_index="hnsw-fp16")
    with IndexWriter(directory, forced, FakeEncoder()) as writer:
        writer.add_articles(articles[29:])
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["vector_index"] == "hnsw-fp16"
