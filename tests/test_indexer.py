"""Tests of the write path (indexer.writer), the store and snapshots, with the real model.

The real default model (session ``encoder``) embeds; thanks to the embedding cache in the
test home, re-indexing the Dân trí articles costs no encoding. A tiny hash-based fake
encoder is used only for plumbing (locking, manifest checks).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import storeutil
from support import SEED, FakeEncoder, read_jsonl_head

from indexer import layout
from indexer.article import Article
from indexer.check import check_index
from indexer.chunking import ChunkSettings, chunk_text
from indexer.errors import IndexFormatError, IndexLockedError, ModelMismatchError
from indexer.lock import WriteLock
from indexer.manifest import Manifest
from indexer.readers import iter_inputs
from indexer.settings import Settings
from indexer.snapshot import open_snapshot, recover
from indexer.writer import IndexWriter, clean_title, index_articles


def records(path: Path, n: int) -> list[dict]:
    return read_jsonl_head(path, n)


def as_article(rec: dict, **changes) -> Article:
    data = {k: rec.get(k) for k in ("id", "title", "text", "url", "source", "published",
                                     "category")}
    data.update(changes)
    data["id"] = data["id"] or ""
    return Article(**data)


def db_counts(directory: Path) -> dict:
    conn = sqlite3.connect(directory / layout.DATABASE)
    try:
        return storeutil.counts(conn)
    finally:
        conn.close()


def query(directory: Path, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(f"file:{directory / layout.DATABASE}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# -- indexing the same corpus twice -------------------------------------------------------------

def test_first_index_of_dantri300(dantri_index) -> None:
    directory, summary = dantri_index
    assert summary.added == 300
    assert summary.skipped == 0
    n = db_counts(directory)
    assert n["articles"] == 300
    assert n["passages"] == summary.passages_added > 300
    report = check_index(directory)
    assert report.ok, report.problems
    manifest = Manifest.load(directory)
    assert manifest.counts == n


def test_reindex_same_corpus_is_a_no_op(tmp_path, settings, encoder, dantri300, dantri_index) -> None:
    source, first = dantri_index
    directory = tmp_path / "index"
    shutil.copytree(source, directory)
    before = db_counts(directory)
    generation = Manifest.load(directory).generation
    second = index_articles(directory, iter_inputs([dantri300]), settings, encoder)
    assert second.embedded == 0
    assert second.unchanged == 300
    assert second.added == second.updated == second.duplicates == 0
    assert second.passages_added == second.passages_removed == 0
    assert db_counts(directory) == before
    # nothing changed: the store's generation did not move either
    assert Manifest.load(directory).generation == generation
    assert check_index(directory).ok


# -- update in place -----------------------------------------------------------------------------

@pytest.fixture()
def small_index(tmp_path, settings, encoder, dantri300) -> tuple[Path, list[dict]]:
    recs = records(dantri300, 6)
    directory = tmp_path / "index"
    with IndexWriter(directory, settings, encoder) as writer:
        summary = writer.add_articles([as_article(r) for r in recs])
    assert summary.added == 6
    return directory, recs


def _passages_of(directory: Path, article_id: str) -> list[tuple]:
    return query(directory, "SELECT id, ordinal, start, end, text FROM passages WHERE article_id=? "
                            "ORDER BY ordinal", (article_id,))


def test_update_same_url_changed_text_replaces_passages(small_index, settings, encoder) -> None:
    directory, recs = small_index
    rec = recs[1]
    with IndexWriter(directory, settings, encoder) as writer:
        article_id = writer.resolve_key(rec["url"])
        assert article_id is not None
        old = _passages_of(directory, article_id)
        assert len(old) >= 2
        # keep the first two paragraphs and add a new (never-seen) one
        paragraphs = [p for p in rec["text"].split("\n\n") if p.strip()]
        new_text = "\n\n".join(paragraphs[:2] + [
            "Cập nhật: phóng viên xác nhận thông tin bổ sung về quả dưa hấu khổng lồ "
            "nặng mười hai ký được bán ở chợ Bến Thành sáng nay."])
        summary = writer.add_articles([as_article(rec, text=new_text)])
        assert summary.updated == 1 and summary.added == 0
        assert summary.passages_removed == len(old)
        assert writer.resolve_key(rec["url"]) == article_id

    new = _passages_of(directory, article_id)
    stored_text = query(directory, "SELECT text FROM articles WHERE id=?", (article_id,))[0][0]
    expected = chunk_text(stored_text, ChunkSettings(), encoder.count_tokens,
                          encoder.info.max_tokens - 24)
    assert [(p[1], p[2], p[3], p[4]) for p in new] == \
        [(p.ordinal, p.start, p.end, p.text) for p in expected]
    assert not {p[0] for p in old} & {p[0] for p in new}, "old passage rows are left over"
    assert "dưa hấu khổng lồ" in stored_text
    # no leftover full-text rows: every FTS row is a passage and vice versa
    fts = {r[0] for r in query(directory, "SELECT rowid FROM passages_fts")}
    passages = {r[0] for r in query(directory, "SELECT id FROM passages")}
    assert fts == passages
    assert query(directory, "SELECT count(*) FROM articles")[0][0] == 6
    report = check_index(directory)
    assert report.ok, report.problems
    # the new passage is searchable lexically, the removed text is gone from FTS
    hits = query(directory, "SELECT rowid FROM passages_fts WHERE passages_fts MATCH ?",
                 ('folded : "khong" AND folded : "lo" AND folded : "dua"',))
    assert hits and all(h[0] in {p[0] for p in new} for h in hits)


def test_metadata_only_change_is_an_update(small_index, settings, encoder) -> None:
    directory, recs = small_index
    rec = recs[2]
    with IndexWriter(directory, settings, encoder) as writer:
        article_id = writer.resolve_key(rec["url"])
        before = _passages_of(directory, article_id)
        summary = writer.add_articles([as_article(rec, category="Thời sự",
                                                  published="2020-10-02")])
        assert summary.updated == 1
        assert summary.embedded == 0 and summary.passages_added == 0
    row = query(directory, "SELECT category, published FROM articles WHERE id=?", (article_id,))[0]
    assert row == ("Thời sự", "2020-10-02")
    assert _passages_of(directory, article_id) == before
    # generation moved, so readers reload
    manifest = Manifest.load(directory)
    assert manifest.generation == storeutil.generation(sqlite3.connect(directory / layout.DATABASE))
    assert check_index(directory).ok
    # the very same record again: unchanged
    with IndexWriter(directory, settings, encoder) as writer:
        again = writer.add_articles([as_article(rec, category="Thời sự", published="2020-10-02")])
    assert again.unchanged == 1 and again.updated == 0


def test_syndicated_duplicate_stored_once(small_index, settings, encoder) -> None:
    directory, recs = small_index
    rec = recs[3]
    copy_url = "https://baomoi.com/copy-of-the-story/c/123456.epi"
    with IndexWriter(directory, settings, encoder) as writer:
        summary = writer.add_articles([as_article(rec, url=copy_url, id="")])
        assert summary.duplicates == 1
        assert summary.added == 0 and summary.embedded == 0
        assert writer.resolve_key(copy_url) == writer.resolve_key(rec["url"])
    assert db_counts(directory)["articles"] == 6
    article_id = query(directory, "SELECT article_id FROM article_urls WHERE url=?", (copy_url,))[0][0]
    urls = sorted(r[0] for r in query(directory, "SELECT url FROM article_urls WHERE article_id=?",
                                      (article_id,)))
    assert urls == sorted([rec["url"], copy_url])
    # the canonical url stays the first one
    assert query(directory, "SELECT url FROM articles WHERE id=?", (article_id,))[0][0] == rec["url"]


def test_duplicate_within_one_batch(tmp_path, settings, encoder, dantri300) -> None:
    rec = records(dantri300, 1)[0]
    directory = tmp_path / "index"
    with IndexWriter(directory, settings, encoder) as writer:
        summary = writer.add_articles([as_article(rec), as_article(rec, url="https://x.vn/a", id=""),
                                       as_article(rec, url=None, id="")])
    assert summary.added == 1
    assert summary.duplicates == 2
    assert db_counts(directory)["articles"] == 1
    assert check_index(directory).ok


def test_delete_by_url_and_by_id(small_index, settings, encoder) -> None:
    directory, recs = small_index
    before = db_counts(directory)
    with IndexWriter(directory, settings, encoder) as writer:
        aid = writer.resolve_key(recs[4]["url"])
        n_passages = len(_passages_of(directory, aid))
        summary = writer.delete([recs[4]["url"], writer.resolve_key(recs[5]["url"]), "nope"])
    assert summary.deleted == 2 and summary.not_found == 1
    after = db_counts(directory)
    assert after["articles"] == before["articles"] - 2
    assert after["passages"] <= before["passages"] - n_passages - 1
    assert check_index(directory).ok
    assert query(directory, "SELECT count(*) FROM article_urls WHERE article_id=?", (aid,))[0][0] == 0


def test_no_text_after_cleaning_is_skipped(tmp_path, settings, encoder) -> None:
    directory = tmp_path / "index"
    with IndexWriter(directory, settings, encoder) as writer:
        summary = writer.add_articles([Article(id="x", title="Ảnh", text="Ảnh: Bảo Long")])
    assert summary.skipped + summary.added == 1
    assert check_index(directory).ok


# -- snapshots -------------------------------------------------------------------------------------

def test_open_snapshot_and_model_mismatch(demo_index, encoder) -> None:
    snap = open_snapshot(demo_index, encoder.info.model_id)
    try:
        assert len(snap.vectors) == snap.db.counts()["passages"]
        assert snap.manifest.counts["articles"] == 301
        assert not snap.stale
    finally:
        snap.close()
    with pytest.raises(ModelMismatchError) as info:
        open_snapshot(demo_index, model_id="other")
    assert "other" in str(info.value)


def test_future_format_version_refused(tmp_path, demo_index) -> None:
    directory = tmp_path / "index"
    shutil.copytree(demo_index, directory)
    path = directory / layout.MANIFEST
    data = json.loads(path.read_text(encoding="utf-8"))
    data["format_version"] = 999
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(IndexFormatError) as info:
        open_snapshot(directory)
    assert "upgrade" in str(info.value)
    assert "999" in str(info.value)


def test_writer_refuses_other_model(tmp_path, demo_index) -> None:
    directory = tmp_path / "index"
    shutil.copytree(demo_index, directory)
    with pytest.raises(ModelMismatchError):
        with IndexWriter(directory, Settings(home=tmp_path / "home"), FakeEncoder()):
            pass
    # the failed open released the lock
    WriteLock(directory).acquire()


def test_recover_rebuilds_missing_vector_file(tmp_path, demo_index) -> None:
    directory = tmp_path / "index"
    shutil.copytree(demo_index, directory)
    for f in directory.glob("vectors.*.faiss"):
        f.unlink()
    manifest = recover(directory)
    assert list(directory.glob("vectors.*.faiss"))
    assert manifest.counts["articles"] == 301
    assert check_index(directory).ok


# -- locking (fake encoder: plumbing only) ---------------------------------------------------------

def test_second_writer_is_refused(tmp_path) -> None:
    settings = Settings(home=tmp_path / "home")
    directory = tmp_path / "index"
    with IndexWriter(directory, settings, FakeEncoder()) as writer:
        writer.add_articles([Article(id="a", title="Tin một", text="Nội dung bài một có đủ chữ.")])
        with pytest.raises(IndexLockedError) as info:
            IndexWriter(directory, settings, FakeEncoder()).open()
        assert "another vnsearch process" in str(info.value)
    # released on close: a new writer gets in
    with IndexWriter(directory, settings, FakeEncoder()) as writer:
        assert writer.resolve_key("a") is not None
    assert check_index(directory).ok


def test_fake_encoder_index_roundtrip(tmp_path) -> None:
    settings = Settings(home=tmp_path / "home")
    directory = tmp_path / "index"
    raw = SEED.read_text(encoding="utf-8")
    title, body = raw.split("\n", 1)
    summary = index_articles(directory, [Article(id="seed", title=title, text=body)], settings,
                             FakeEncoder())
    assert summary.added == 1 and summary.embedded == summary.passages_added > 0
    snap = open_snapshot(directory, "fake-hash-16")
    try:
        assert len(snap.vectors) == summary.passages_added
    finally:
        snap.close()
    assert clean_title(title) == query(directory, "SELECT title FROM articles")[0][0]
