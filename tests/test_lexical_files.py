"""The lexical matrix as files: written by the writer at each generation (incrementally),
mapped by readers, checked and recovered like the FAISS file.

Real index (seed + 300 Dân trí articles, real model) copied per test; FTS5 and a fresh
build are the references.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace

import numpy as np
import pytest
from support import REPO, needs_shared

from indexer.check import check_index
from indexer.db import IndexDB
from indexer.lexical import files as lexfiles
from indexer.lexical.files import lexical_dir, open_lexical, write_lexical
from indexer.manifest import Manifest
from indexer.writer import IndexWriter
from search_api.retrieval import Searcher, SearchRequest
from search_api.retrieval.lexical.base import lexical_query
from search_api.retrieval.lexical.mapped import MappedLexicalMatrix
from search_api.retrieval.lexical.matrix import LexicalMatrix

QUERIES = ["kết quả thi hành án dân sự Gia Lai", "thi hanh an dan su gia lai", "giá vàng hôm nay",
           "tai nạn giao thông trên quốc lộ", "Bộ Y tế khuyến cáo phòng dịch",
           "hoc sinh thi tot nghiep", "bóng đá Việt Nam", "cá tầm Sa Pa xuất khẩu",
           "mưa lũ miền Trung", "công an điều tra vụ án"]


def _generation(directory) -> int:
    with IndexDB(directory, readonly=True) as db:
        return db.generation()


def _fresh(directory, tmp_path) -> MappedLexicalMatrix:
    """A full build of the store's current rows, in a copy without matrix files."""
    copy = tmp_path / "fresh"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(directory, copy, ignore=shutil.ignore_patterns("lexical.*"))
    with IndexDB(copy) as db:
        assert write_lexical(copy, db).mode == "full"
    return MappedLexicalMatrix.open(copy, _generation(copy))


def _assert_same_scores(a: MappedLexicalMatrix, b: MappedLexicalMatrix) -> None:
    for query in QUERIES:
        terms = lexical_query(query)
        x, y = a.top(terms, 100), b.top(terms, 100)
        assert [i for i, _ in x] == [i for i, _ in y], query
        assert np.allclose([s for _, s in x], [s for _, s in y], rtol=0, atol=1e-6), query


@pytest.fixture
def index_copy(demo_index, tmp_path):
    directory = tmp_path / "index"
    shutil.copytree(demo_index, directory)
    return directory


def _article_ids(directory, n: int) -> list[str]:
    with IndexDB(directory, readonly=True) as db:
        return [r.id for _, r in zip(range(n), db.iter_articles())]


def _delete(directory, settings, ids: list[str]) -> lexfiles.LexicalWrite:
    with IndexWriter(directory, settings) as writer:
        writer.delete(ids)
    return writer.lexical_write


@needs_shared
def test_files_after_indexing_equal_a_fresh_build(demo_index):
    generation = _generation(demo_index)
    mapped = MappedLexicalMatrix.open(demo_index, generation)
    assert mapped is not None and mapped.generation == generation
    with IndexDB(demo_index, readonly=True) as db:
        built = LexicalMatrix.build(db, generation)
    try:
        assert len(mapped) == len(built)
        for query in QUERIES:
            terms = lexical_query(query)
            x, y = mapped.top(terms, 50), built.top(terms, 50)
            assert [i for i, _ in x] == [i for i, _ in y], query
            assert x == y, query  # same float32 steps: the same scores, bit for bit
            assert mapped.top(terms, 50) == x  # again, from the reader's cache of weights
            for column, term in terms.phrases():
                assert mapped.doc_freq(column, term) == built.doc_freq(column, term)
        assert check_index(demo_index).ok
        recorded = Manifest.load(demo_index).lexical
        assert recorded["generation"] == generation
        assert recorded["directory"] == f"lexical.{generation}"
    finally:
        mapped.close()


@needs_shared
def test_weight_cache_stays_bounded(demo_index, monkeypatch):
    from search_api.retrieval.lexical import mapped as mapped_module

    monkeypatch.setattr(mapped_module, "CACHE_BYTES", 20_000)
    generation = _generation(demo_index)
    small = MappedLexicalMatrix.open(demo_index, generation)
    monkeypatch.undo()
    large = MappedLexicalMatrix.open(demo_index, generation)
    for query in QUERIES * 2:
        terms = lexical_query(query)
        assert small.top(terms, 30) == large.top(terms, 30), query
    assert small._cached_bytes <= 20_000 < large._cached_bytes
    small.close()
    large.close()


@needs_shared
def test_incremental_add_and_delete_equal_a_fresh_build(index_copy, settings, encoder,
                                                        tmp_path):
    from indexer.writer import index_articles

    index_articles(index_copy, [_story()], settings, encoder)
    generation = _generation(index_copy)
    added = open_lexical(index_copy, generation, shared_lock=False)
    assert len(added.segments) == 2  # the first build + the new passages, nothing rebuilt
    gone = _article_ids(index_copy, 5)
    with IndexDB(index_copy, readonly=True) as db:
        gone_passages = {p for a in gone for p in db.passage_ids_of(a)}
        titles = [db.article(a).title or "" for a in gone]
    assert _delete(index_copy, settings, gone).mode == "incremental"
    mapped = MappedLexicalMatrix.open(index_copy, _generation(index_copy))
    fresh = _fresh(index_copy, tmp_path)
    assert len(mapped) == len(fresh) and mapped.files.header.masked == len(gone_passages)
    _assert_same_scores(mapped, fresh)
    assert mapped.top(lexical_query("cá tầm Sa Pa xuất khẩu"), 1)
    asked = [t for t in map(lexical_query, QUERIES + titles) if t is not None]
    assert len(asked) > len(QUERIES)
    for terms in asked:
        assert not {i for i, _ in mapped.top(terms, 1000)} & gone_passages
    assert check_index(index_copy).ok
    mapped.close()
    fresh.close()


def _story():
    from indexer.article import Article

    return Article(id="", title="Hợp tác xã nuôi cá tầm Sa Pa xuất khẩu lô đầu tiên",
                   text="Hợp tác xã nuôi cá tầm ở Sa Pa vừa xuất khẩu lô cá tầm đầu tiên "
                        "sang Nhật Bản, mở hướng mới cho nông dân vùng cao Lào Cai. " * 3,
                   url="https://example.vn/ca-tam-sapa", source="Test")


@needs_shared
def test_compaction_and_merge_keep_the_scores(index_copy, settings, encoder, tmp_path,
                                              monkeypatch):
    monkeypatch.setattr(lexfiles, "MAX_SEGMENTS", 1)
    with IndexWriter(index_copy, settings, encoder) as writer:
        writer.add_articles([_story()])
    assert writer.lexical_write.mode == "merge"  # two segments > 1: the newer ones rebuilt
    mapped = MappedLexicalMatrix.open(index_copy, _generation(index_copy))
    _assert_same_scores(mapped, _fresh(index_copy, tmp_path))
    mapped.close()
    monkeypatch.setattr(lexfiles, "MAX_SEGMENTS", 8)
    ids = _article_ids(index_copy, 4)
    # no new passages: the segments stay, the masks change
    assert _delete(index_copy, settings, ids[:1]).mode == "incremental"
    monkeypatch.setattr(lexfiles, "MAX_MASKED_SHARE", 0.0)
    assert _delete(index_copy, settings, ids[1:2]).mode == "full"
    files = open_lexical(index_copy, _generation(index_copy), shared_lock=False)
    assert files.header.masked == 0 and len(files.segments) == 1
    mapped = MappedLexicalMatrix.open(index_copy, _generation(index_copy))
    _assert_same_scores(mapped, _fresh(index_copy, tmp_path))
    mapped.close()
    assert check_index(index_copy).ok


@needs_shared
def test_old_generations_go_unless_a_reader_holds_them(index_copy, settings):
    ids = _article_ids(index_copy, 4)
    held = MappedLexicalMatrix.open(index_copy, _generation(index_copy))
    for article in ids[:3]:
        _delete(index_copy, settings, [article])
    kept = sorted(int(p.name.split(".")[1]) for p in index_copy.glob("lexical.*"))
    assert held.generation in kept and len(kept) == 3  # the held one + the newest two
    assert held.top(lexical_query("thi hành án dân sự"), 5)  # still readable
    held.close()
    _delete(index_copy, settings, ids[3:4])
    kept = sorted(int(p.name.split(".")[1]) for p in index_copy.glob("lexical.*"))
    assert held.generation not in kept and len(kept) == 2


@needs_shared
def test_reader_answers_from_mapped_files_at_once(index_copy, settings, encoder):
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    on = settings.model_copy(update={"lexical_matrix_min_passages": 0})
    searcher = Searcher(index_copy, on, encoder)
    try:
        assert searcher.lexical_backend == "mmap"  # no build, no wait: mapped on open
        with TestClient(create_app(on, index_copy, searcher=searcher)) as client:
            assert client.get("/health").json()["lexical_index"] == "mmap"
        old = searcher.lexical_matrix()
        gone = _article_ids(index_copy, 1)
        _delete(index_copy, settings, gone)
        assert searcher.maybe_reload(min_interval_s=0.0)
        matrix = searcher.lexical_matrix()  # the new generation's files, mapped at the swap
        assert matrix is not None and matrix is not old and searcher.lexical_backend == "mmap"
        assert matrix.generation == searcher.snapshot.generation
        hits = searcher.search(SearchRequest(query="thi hành án dân sự Gia Lai", k=10,
                                             mode="lexical"))
        assert hits.results and gone[0] not in {h.article_id for h in hits.results}
    finally:
        searcher.close()


KILL_SCRIPT = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from indexer.lexical import files
from indexer.settings import Settings
from indexer.writer import IndexWriter

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
if {point!r} == "first-array":
    files.np.save = die  # before the directory holds a single array
else:
    files.fsync_dir = die  # every file written, the directory not yet renamed
with IndexWriter(Path({directory!r}), Settings(home=Path({home!r}))) as writer:
    writer.delete([{article!r}])
"""


@needs_shared
@pytest.mark.parametrize("point", ["first-array", "before-rename"])
def test_sigkill_during_the_matrix_write_recovers(index_copy, settings, tmp_path, point):
    """The writer dies while writing a generation's matrix (its SQLite commit done):
    the next open rolls the files forward, ``check`` is ok, scores equal a fresh build."""
    before = _generation(index_copy)
    article = _article_ids(index_copy, 1)[0]
    script = KILL_SCRIPT.format(repo=str(REPO), point=point, directory=str(index_copy),
                                home=str(settings.home), article=article)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], timeout=120)
    assert proc.returncode == -signal.SIGKILL
    generation = _generation(index_copy)
    assert generation == before + 1 and not lexical_dir(index_copy, generation).exists()
    report = check_index(index_copy)  # recovers first, like every open
    assert report.ok, report.problems
    assert not list(index_copy.glob(".lexical.*"))
    assert Manifest.load(index_copy).lexical["generation"] == generation
    mapped = MappedLexicalMatrix.open(index_copy, generation)
    _assert_same_scores(mapped, _fresh(index_copy, tmp_path))
    mapped.close()


@needs_shared
def test_check_reports_damaged_or_missing_files(index_copy):
    directory = lexical_dir(index_copy, _generation(index_copy))
    victim = sorted(directory.glob("s*.tf.npy"))[-1]
    data = bytearray(victim.read_bytes())
    data[-1] ^= 0xFF
    victim.write_bytes(bytes(data))
    report = check_index(index_copy)
    assert not report.ok and any("checksum" in p for p in report.problems)


def test_relevance_doc_freqs_are_fts5_counts_cached_per_generation(demo_index, settings,
                                                                    encoder):
    """The relevance features' df: FTS5's counts, asked once per term and generation (the
    vocabulary table costs 1-2 ms a common term at 200k passages)."""
    from search_api.retrieval.docfreq import DocFreqCache
    from search_api.retrieval.relevance import query_terms

    searcher = Searcher(demo_index, settings, encoder)
    try:
        doc_freqs = searcher._doc_freqs()
        with IndexDB(demo_index, readonly=True) as db:
            for query in QUERIES + ["covid-19 vắc xin"]:
                terms = query_terms(query)
                for column, words in (("toned", terms.toned), ("folded", terms.folded),
                                      ("bigrams", terms.bigrams)):
                    assert doc_freqs(column, words) == db.fts_doc_freqs(column, words), query
    finally:
        searcher.close()

    class Counting:
        def __init__(self) -> None:
            self.asked: list[list[str]] = []

        def fts_doc_freqs(self, column, terms):
            self.asked.append(list(terms))
            return [len(t) for t in terms]

    cache, source = DocFreqCache(), Counting()
    assert cache.lookup(1, source, "folded", ["gia", "vang"]) == [3, 4]
    assert cache.lookup(1, source, "folded", ["vang", "hom", "gia"]) == [4, 3, 3]
    assert source.asked == [["gia", "vang"], ["hom"]]  # only the new term
    cache.lookup(2, source, "folded", ["gia"])  # another generation: asked again
    assert source.asked[-1] == ["gia"]


def test_readers_keep_the_complete_snapshot_until_the_writer_writes_its_files(
        index_copy, settings, encoder):
    """Mid-run (committed, derived files not yet written) a reader stays on its snapshot —
    mapped matrix, no vector rebuild, no FTS5 window — and a deleted article still never
    shows; once the writer writes the files, the reader swaps."""
    on = settings.model_copy(update={"lexical_matrix_min_passages": 0})
    searcher = Searcher(index_copy, on, encoder)
    query = SearchRequest(query="thi hành án dân sự Gia Lai", k=10, mode="hybrid", group="none")
    try:
        before = searcher.snapshot.generation
        gone = searcher.search(query).results[0].article_id
        writer = IndexWriter(index_copy, settings)
        writer.open()
        try:
            writer.delete([gone])  # committed; the files wait for close (or the interval)
            assert _generation(index_copy) == before + 1
            assert not searcher.maybe_reload(min_interval_s=0.0)
            assert searcher.snapshot.generation == before
            assert searcher.lexical_backend == "mmap"
            hits = searcher.search(query).results
            assert hits and gone not in {h.article_id for h in hits}
        finally:
            writer.close()
        assert searcher.maybe_reload(min_interval_s=0.0)
        assert searcher.snapshot.generation == before + 1
        assert searcher.lexical_backend == "mmap"
        assert gone not in {h.article_id for h in searcher.search(query).results}
    finally:
        searcher.close()


def test_a_long_run_writes_its_derived_files_as_it_goes(index_copy, settings, encoder,
                                                        monkeypatch):
    """Past DERIVED_INTERVAL_S a writer writes the committed generation's FAISS and matrix
    files before it closes, so readers (which swap only to complete generations) follow."""
    import indexer.writer.writer as writer_module
    from indexer.derived import derived_missing

    monkeypatch.setattr(writer_module, "DERIVED_INTERVAL_S", 0.0)
    with IndexWriter(index_copy, settings, encoder) as writer:
        writer.add_articles([_story()])
        generation = _generation(index_copy)
        assert not derived_missing(index_copy, generation)  # written mid-run
        assert writer.lexical_write is not None


@needs_shared
def test_a_write_masks_what_it_removed_without_reading_every_passage_id(
        index_copy, settings, encoder, tmp_path, monkeypatch):
    """The writer hands its removed ids to the lexical write: an update and a delete mask
    exactly those rows, never reading all passage ids (0.6 s at 100k passages), and the
    scores equal a fresh build."""
    ids = _article_ids(index_copy, 2)

    def no_scan(_self):
        raise AssertionError("passage_id_array read although the removals are known")

    monkeypatch.setattr(IndexDB, "passage_id_array", no_scan)
    with IndexWriter(index_copy, settings, encoder) as writer:
        writer.delete(ids[:1])
        writer.add_articles([_story()])
        writer.add_articles([replace(_story(), text=_story().text + " Lô hàng thứ hai.")])
    assert writer.lexical_write.mode == "incremental"
    assert writer.lexical_write.masked >= 1
    monkeypatch.undo()
    mapped = MappedLexicalMatrix.open(index_copy, _generation(index_copy))
    _assert_same_scores(mapped, _fresh(index_copy, tmp_path))
    mapped.close()
    assert check_index(index_copy).ok


def test_merges_are_size_tiered():
    """The newest half always merges; an older segment joins only when it is no larger
    than twice the run, so one write after many small ones does not rebuild a large one."""
    eight = lexfiles.MAX_SEGMENTS
    assert lexfiles.merge_start([1_000_000] + [10] * eight) == 1  # the large one stays
    assert lexfiles.merge_start([100] * (eight + 1)) == 0  # equal sizes: all of them
    assert lexfiles.merge_start([1_000_000, 100_000, 10] + [1] * (eight - 2)) == 2
    # a merge always leaves room under the bound
    for sizes in ([1] * (eight + 1), [10**6, 10**5, 10**4] + [7] * (eight - 2)):
        assert len(sizes) - lexfiles.merge_start(sizes) >= eight // 2
