"""The in-memory BM25 matrix gives FTS5's bm25() rankings and scores, and the service uses it.

Real index (seed + 300 Dân trí articles, real model), real FTS5 as the reference.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sqlite3

import numpy as np
import pytest
from support import SHARED, needs_shared

from indexer.db import IndexDB, MetadataFilter
from search_api.retrieval import Searcher, SearchRequest
from search_api.retrieval.lexical.base import (
    TONED_WEIGHTS,
    UNWEIGHTED,
    LexicalQuery,
    fts_expression,
    lexical_query,
)
from search_api.retrieval.lexical.fts5 import Fts5LexicalIndex
from search_api.retrieval.lexical.matrix import LexicalMatrix

QUERIES = [
    "kết quả thi hành án dân sự Gia Lai",
    "thi hanh an dan su gia lai",
    "giá vàng hôm nay",
    "tai nạn giao thông trên quốc lộ",
    "Bộ Y tế khuyến cáo phòng dịch",
    "hoc sinh thi tot nghiep",
    "bóng đá Việt Nam",
    "xyzzy không có trong kho",
]


def _fts_top(conn: sqlite3.Connection, terms: LexicalQuery, n: int) -> list[tuple[int, float]]:
    # FTS5's own bm25() with the query's column weights (toned, folded, bigrams)
    rows = conn.execute("SELECT rowid, -bm25(passages_fts, ?, ?, ?) FROM passages_fts WHERE "
                        "passages_fts MATCH ? ORDER BY bm25(passages_fts, ?, ?, ?) LIMIT ?",
                        (*terms.weights, fts_expression(terms), *terms.weights, n)).fetchall()
    return [(int(r[0]), float(r[1])) for r in rows]


def _real_queries(n: int) -> list[str]:
    path = SHARED / "data" / "eval" / "vinewsqa-dev.jsonl"
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line)["query"] for _, line in zip(range(n), handle)]


@pytest.fixture(scope="module")
def matrix_and_conn(demo_index):
    db = IndexDB(demo_index, readonly=True)
    yield LexicalMatrix.build(db, generation=0), db.conn
    db.close()


def _same_ranking(fts: list[tuple[int, float]], mem: list[tuple[int, float]],
                  what: str = "") -> None:
    assert len(fts) == len(mem)
    assert np.allclose([s for _, s in fts], [s for _, s in mem], rtol=1e-5), what
    # Equal scores may come in any order from FTS5: compare ids between score changes.
    for (fid, fs), (mid, ms) in zip(fts, mem):
        if fid != mid:
            tied = [i for i, s in fts if abs(s - fs) <= 1e-5 * abs(fs)]
            assert mid in tied, (fid, fs, mid, ms)


@needs_shared
def test_matrix_matches_fts5_bm25(matrix_and_conn):
    matrix, conn = matrix_and_conn
    queries = QUERIES + _real_queries(120)
    checked = 0
    for query in queries + [q.lower() for q in queries[:20]]:
        terms = lexical_query(query)
        if terms is None or any(ch.isdigit() for ch in query):
            continue  # "1.000", "1,8": FTS5 tokens "1" "000", one term here (documented)
        _same_ranking(_fts_top(conn, terms, 100), matrix.top(terms, 100), query)
        checked += 1
    assert checked >= 100


@needs_shared
@pytest.mark.parametrize("weights", [TONED_WEIGHTS, (2.0, 0.5, 1.0), (0.3, 1.0, 2.5),
                                     (1.0, 0.1, 1.0), (8.0, 1.0, 0.5)])
def test_matrix_matches_fts5_with_column_weights(matrix_and_conn, weights):
    """Column weights (exact-tone precision) multiply the term frequency inside BM25's
    saturation in FTS5; the matrix reproduces that from its stored weights."""
    matrix, conn = matrix_and_conn
    checked = 0
    for query in QUERIES + _real_queries(60):
        terms = lexical_query(query)
        if terms is None or any(ch.isdigit() for ch in query):
            continue
        terms = dataclasses.replace(terms, weights=weights)
        _same_ranking(_fts_top(conn, terms, 100), matrix.top(terms, 100), f"{weights} {query}")
        checked += 1
    assert checked >= 50


@needs_shared
def test_fts5_index_passes_the_query_weights(matrix_and_conn, demo_index):
    """The FTS5 backend (through IndexDB.fts_search, filtered or not) and the matrix give
    the same weighted scores for a toned query; a toneless one stays unweighted."""
    matrix, _ = matrix_and_conn
    db = IndexDB(demo_index, readonly=True)
    try:
        fts = Fts5LexicalIndex(lambda: db)
        for query in ("thi hành án dân sự Gia Lai", "thi hanh an dan su gia lai"):
            terms = lexical_query(query)
            assert terms.weights == (TONED_WEIGHTS if terms.toned else UNWEIGHTED)
            _same_ranking(fts.top(terms, 50, MetadataFilter()), matrix.top(terms, 50), query)
            only = MetadataFilter(source="Báo Gia Lai")
            allowed = db.filtered_passage_ids(only)
            _same_ranking(fts.top(terms, 50, only), matrix.top(terms, 50, allowed), query)
    finally:
        db.close()


@needs_shared
def test_matrix_counts_like_fts5(matrix_and_conn):
    matrix, conn = matrix_and_conn
    assert len(matrix) == conn.execute("SELECT count(*) FROM passages_fts").fetchone()[0]
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.v_col "
                 "USING fts5vocab(main, passages_fts, 'col')")
    for column, term, doc in conn.execute(
            "SELECT col, term, doc FROM temp.v_col ORDER BY cnt DESC LIMIT 50").fetchall():
        if term.replace("_", "").isalnum():
            assert matrix.doc_freq(column, term) == doc, (column, term)
    assert matrix.doc_freq("folded", "khongcochu") == 0


@needs_shared
def test_matrix_filter_and_limits(matrix_and_conn):
    matrix, _ = matrix_and_conn
    terms = lexical_query("thi hành án dân sự")
    full = matrix.top(terms, 50)
    allowed = np.array(sorted(pid for pid, _ in full[::3]), dtype=np.int64)
    filtered = matrix.top(terms, 50, allowed)
    assert [pid for pid, _ in filtered] == [pid for pid, _ in full if pid in set(allowed)]
    assert matrix.top(terms, 50, np.array([10**12], dtype=np.int64)) == []
    assert matrix.top(terms, 0) == []
    assert matrix.top(LexicalQuery(folded=["khongcochu"]), 10) == []


def test_empty_index_matrix(tmp_path):
    db = IndexDB(tmp_path)
    db.init_schema()
    matrix = LexicalMatrix.build(db, generation=3)
    db.close()
    assert len(matrix) == 0 and matrix.generation == 3
    assert matrix.top(LexicalQuery(folded=["a"]), 10) == []


@needs_shared
def test_searcher_serves_from_matrix_with_same_results(demo_index, settings, encoder):
    on = settings.model_copy(update={"lexical_matrix_min_passages": 0})
    with_matrix = Searcher(demo_index, on, encoder)
    without = Searcher(demo_index, on, encoder, lexical_matrix=False)
    try:
        assert with_matrix.wait_for_lexical(timeout=120)
        # the writer's matrix files, mapped; the built matrix: test below
        assert with_matrix.lexical_backend == "mmap" and without.lexical_backend == "fts5"
        for query in QUERIES[:6]:
            for mode in ("lexical", "hybrid"):
                a = with_matrix.search(SearchRequest(query=query, k=10, mode=mode))
                b = without.search(SearchRequest(query=query, k=10, mode=mode))
                assert [h.article_id for h in a.results] == [h.article_id for h in b.results]
        top = with_matrix.search(SearchRequest(query="thi hanh an dan su gia lai", k=3))
        assert top.results[0].source == "Báo Gia Lai"
        filtered = with_matrix.search(SearchRequest(query="thi hành án", k=5, mode="lexical",
                                                    source="Báo Gia Lai"))
        assert filtered.results and {h.source for h in filtered.results} == {"Báo Gia Lai"}
    finally:
        with_matrix.close()
        without.close()


def _without_files(monkeypatch) -> None:
    """Readers find no matrix files (an index being written by an older vnsearch...): the
    service builds the matrix in memory."""
    from search_api.retrieval.lexical import service
    from search_api.retrieval.lexical.mapped import MappedLexicalMatrix

    monkeypatch.setattr(MappedLexicalMatrix, "open", classmethod(lambda cls, d, g: None))
    monkeypatch.setattr(service, "FILE_WAIT_S", 0.0)


@needs_shared
def test_matrix_follows_writes(demo_index, settings, encoder, tmp_path, monkeypatch):
    """Without matrix files: after a write the stale built matrix is never used; a new one
    is built for the new data."""
    from indexer.article import Article
    from indexer.writer import index_articles

    _without_files(monkeypatch)

    directory = tmp_path / "index"
    shutil.copytree(demo_index, directory)
    on = settings.model_copy(update={"lexical_matrix_min_passages": 0})
    searcher = Searcher(directory, on, encoder)
    try:
        assert searcher.wait_for_lexical(timeout=120)
        old = searcher.lexical_matrix()
        story = Article(id="", title="Hợp tác xã nuôi cá tầm Sa Pa xuất khẩu lô đầu tiên",
                        text="Hợp tác xã nuôi cá tầm ở Sa Pa vừa xuất khẩu lô cá tầm đầu tiên "
                             "sang Nhật Bản, mở hướng mới cho nông dân vùng cao Lào Cai. " * 3,
                        url="https://example.vn/ca-tam-sapa", source="Test")
        index_articles(directory, [story], on, encoder)
        assert searcher.maybe_reload(min_interval_s=0.0)
        assert searcher.lexical_matrix() is None  # stale one dropped: FTS5 answers meanwhile
        hit = searcher.search(SearchRequest(query="cá tầm Sa Pa xuất khẩu", k=1, mode="lexical"))
        assert hit.results[0].url == "https://example.vn/ca-tam-sapa"
        assert searcher.wait_for_lexical(timeout=120)
        assert searcher.lexical_matrix() is not old and searcher.lexical_backend == "memory"
        hit = searcher.search(SearchRequest(query="cá tầm Sa Pa xuất khẩu", k=1, mode="lexical"))
        assert hit.results[0].url == "https://example.vn/ca-tam-sapa"
    finally:
        searcher.close()


@needs_shared
def test_http_service_reports_and_uses_the_matrix(demo_index, settings, encoder):
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    on = settings.model_copy(update={"lexical_matrix_min_passages": 0})
    searcher = Searcher(demo_index, on, encoder)
    with TestClient(create_app(on, demo_index, searcher=searcher)) as client:
        assert searcher.wait_for_lexical(timeout=120)
        assert client.get("/health").json()["lexical_index"] == "mmap"  # the writer's files
        for q in ("kết quả thi hành án dân sự Gia Lai", "thi hanh an dan su gia lai"):
            r = client.get("/search", params={"q": q, "k": 3})
            assert r.status_code == 200, r.text
            assert r.json()["results"][0]["source"] == "Báo Gia Lai"


@needs_shared
def test_failed_build_falls_back_to_fts5(demo_index, settings, encoder, monkeypatch):
    """A matrix that cannot be built leaves FTS5 answering, and waiting does not hang."""
    def broken(conn, generation):
        raise MemoryError("simulated")

    _without_files(monkeypatch)
    monkeypatch.setattr(LexicalMatrix, "build", staticmethod(broken))
    on = settings.model_copy(update={"lexical_matrix_min_passages": 0})
    searcher = Searcher(demo_index, on, encoder)
    try:
        assert searcher.wait_for_lexical(timeout=60)
        assert searcher.lexical_backend == "fts5"
        top = searcher.search(SearchRequest(query="thi hành án dân sự Gia Lai", k=1))
        assert top.results[0].source == "Báo Gia Lai"
    finally:
        searcher.close()
