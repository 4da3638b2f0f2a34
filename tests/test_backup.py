"""``vnsearch backup``, ``restore`` and ``compact`` on live indexes.

Indexes of the repository's demo corpus embedded by the deterministic FakeEncoder (cheap:
no model), written through the API's write path (:class:`search_api.writes.ArticleWrites`:
one ``IndexWriter`` per write) while searcher threads search; one test backs up the
session's real-model index. References: the original's search results at the generation
the backup holds, recorded by the writing thread after each of its writes.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
from support import DEMO_DATA, FakeEncoder, invoke_cli, messages, read_jsonl_head

from indexer import maintenance
from indexer.article import Article
from indexer.check import check_index
from indexer.db import IndexDB
from indexer.errors import InputError
from indexer.vector_files import record_path
from indexer.lexical.files import lexical_dir
from indexer.lock import WriteLock
from indexer.maintenance import backup, compact
from indexer.settings import Settings
from indexer.writer import IndexWriter
from search_api.retrieval import Searcher, SearchRequest
from search_api.schemas import ArticleIn
from search_api.writes import ArticleWrites

QUERIES = ["kính viễn vọng tinh vân", "tai nạn giao thông", "hoc sinh thi tot nghiep"]
CORPUS = read_jsonl_head(DEMO_DATA / "demo.jsonl", 40)


def _article(record: dict) -> Article:
    return Article(id=record["id"], title=record.get("title"), text=record["text"],
                   url=record.get("url"), source=record.get("source"),
                   published=record.get("published"), category=record.get("category"))


@pytest.fixture
def local(tmp_path) -> Settings:
    """Settings with a home of the test's own (the FakeEncoder's embedding cache)."""
    return Settings(home=tmp_path / "home")


def _build(directory: Path, settings: Settings, records: list[dict]) -> Path:
    with IndexWriter(directory, settings, FakeEncoder()) as writer:
        writer.add_articles([_article(r) for r in records])
    return directory


def _results(searcher: Searcher) -> list[tuple]:
    """What a user sees for :data:`QUERIES`: ranked passages, articles, scores, totals."""
    out = []
    for query in QUERIES:
        result = searcher.search(SearchRequest(query=query, k=10, min_relevance=0.0))
        out.append((result.total, [(h.passage_id, h.article_id, round(h.score, 5))
                                   for h in result.results]))
    return out


def _results_of(directory: Path, settings: Settings, encoder=None) -> list[tuple]:
    searcher = Searcher(directory, settings, encoder or FakeEncoder(), lexical_matrix=False)
    try:
        return _results(searcher)
    finally:
        searcher.close()


def _generation(directory: Path) -> int:
    with IndexDB(directory, readonly=True) as db:
        return db.generation()


def _search_forever(directory: Path, settings: Settings, stop: threading.Event,
                    errors: list[BaseException], counts: list[int]) -> None:
    searcher = Searcher(directory, settings, FakeEncoder(), lexical_matrix=False)
    try:
        while not stop.is_set():
            _results(searcher)
            counts.append(1)
            time.sleep(0.05)  # searching, without starving the writer of the GIL
    except BaseException as exc:  # reported by the test, not lost in the thread
        errors.append(exc)
    finally:
        searcher.close()


def _write_20(directory: Path, settings: Settings, history: dict[int, list[tuple]],
              done: list[int], errors: list[BaseException]) -> None:
    """20 API writes (15 adds, 5 deletes); after each, the results at its generation."""
    searcher = Searcher(directory, settings, FakeEncoder(), lexical_matrix=False)
    writes = ArticleWrites(settings)
    try:
        history[searcher.snapshot.generation] = _results(searcher)
        for i in range(20):
            if i % 4 == 3:
                answer = writes.delete(searcher, CORPUS[i]["id"])
            else:
                record = CORPUS[20 + i]
                answer = writes.add(searcher, [ArticleIn(**{k: record[k] for k in (
                    "id", "title", "text", "url", "source") if record.get(k)})])
            assert searcher.snapshot.generation == answer.generation
            history[answer.generation] = _results(searcher)
            done.append(i)
            time.sleep(0.05)  # room for the backup to land between writes
    except BaseException as exc:
        errors.append(exc)
    finally:
        searcher.close()


def test_backup_during_searches_and_writes_restores_that_generation(tmp_path, local):
    directory = _build(tmp_path / "index", local, CORPUS[:20])
    stop, errors, counts = threading.Event(), [], []
    history: dict[int, list[tuple]] = {}
    done: list[int] = []
    searchers = [threading.Thread(target=_search_forever,
                                  args=(directory, local, stop, errors, counts))
                 for _ in range(4)]
    writer = threading.Thread(target=_write_20, args=(directory, local, history, done, errors))
    for thread in [*searchers, writer]:
        thread.start()
    try:
        while len(done) < 5 and writer.is_alive():
            time.sleep(0.01)
        writes_before = len(done)
        report = maintenance.backup_index(directory, tmp_path / "backup")
        writes_after = len(done)
        writer.join(timeout=300)
    finally:
        stop.set()
        for thread in searchers:
            thread.join(timeout=60)
    assert not errors, errors
    assert counts and len(done) == 20
    assert 5 <= writes_before < 20, "the backup did not run during the writes"
    assert report.generation in history and report.derived == "copied"
    print(f"backup at generation {report.generation} between writes {writes_before} and "
          f"{writes_after}; {len(counts)} searches meanwhile")

    restored = tmp_path / "restored"
    result = invoke_cli(local, "restore", "--from", tmp_path / "backup", "--index", restored)
    assert result.returncode == 0, result.stderr
    assert invoke_cli(local, "check", "--index", restored).returncode == 0
    assert check_index(tmp_path / "backup").ok
    assert _generation(restored) == report.generation
    assert _results_of(restored, local) == history[report.generation]
    # the original went on to its 20th write: the copy is not just "the newest state"
    assert _generation(directory) > report.generation


def test_backup_keeps_its_generation_while_writers_remove_its_files(tmp_path, local,
                                                                     monkeypatch):
    """Two writes land between the backup's pin and its copy: the writer unlinks the
    pinned generation's FAISS file and would remove its lexical files; the copy is still
    that generation, whole."""
    directory = _build(tmp_path / "index", local, CORPUS[:12])
    pinned = _generation(directory)
    expected = _results_of(directory, local)
    real_backup_to = IndexDB.backup_to

    def backup_to_after_two_writes(db: IndexDB, target: Path) -> None:
        for record in CORPUS[12:14]:
            with IndexWriter(directory, local, FakeEncoder()) as writer:
                writer.add_articles([_article(record)])
        assert not record_path(directory, pinned).exists()
        real_backup_to(db, target)

    monkeypatch.setattr(IndexDB, "backup_to", backup_to_after_two_writes)
    report = maintenance.backup_index(directory, tmp_path / "backup")
    monkeypatch.undo()
    assert report.generation == pinned and report.derived == "copied"
    assert _generation(directory) == pinned + 2
    assert check_index(tmp_path / "backup").ok
    assert _results_of(tmp_path / "backup", local) == expected
    assert lexical_dir(directory, pinned).exists()  # held by the backup: not removed


def test_backup_builds_derived_files_when_none_are_written(tmp_path, local, monkeypatch):
    """A long `vnsearch index` run writes derived files every 30 s: past its wait, the
    backup copies the store alone and builds them from the copy."""
    directory = _build(tmp_path / "index", local, CORPUS[:12])
    expected = _results_of(directory, local)
    for path in [record_path(directory, _generation(directory))]:
        os.rename(path, tmp_path / "aside.json")  # as if not written yet
    monkeypatch.setattr(backup, "BACKUP_WAIT_S", 0.2)
    report = maintenance.backup_index(directory, tmp_path / "backup")
    assert report.derived == "rebuilt" and check_index(tmp_path / "backup").ok
    assert _results_of(tmp_path / "backup", local) == expected


def test_backup_and_restore_of_the_real_model_index(tmp_path, repo_index, settings, encoder):
    session = settings
    result = invoke_cli(session, "backup", "--index", repo_index, "--out", tmp_path / "b")
    assert result.returncode == 0, result.stderr
    assert "derived files copied" in result.stdout
    restored = tmp_path / "restored"
    assert invoke_cli(session, "restore", "--from", tmp_path / "b", "--index",
                      restored).returncode == 0
    assert check_index(restored).ok
    assert _results_of(restored, session, encoder) == _results_of(repo_index, session, encoder)


def _bytes(stdout: str, label: str) -> int:
    line = next(x for x in stdout.splitlines() if x.startswith(label + ":"))
    return int(line.split()[1])


def test_compact_gives_the_space_of_deleted_articles_back(tmp_path, local, monkeypatch):
    directory = _build(tmp_path / "index", local, CORPUS)
    reader = Searcher(directory, local, FakeEncoder(), lexical_matrix=False)
    try:
        deleted = [r["id"] for r in CORPUS[::2]]
        assert invoke_cli(local, "delete", "--index", directory, *deleted).returncode == 0
        reader.maybe_reload(0.0)
        before_results = _results(reader)
        old_generation = reader.snapshot.generation
        # a reader that has not looked for a new generation yet (it does once a second)
        monkeypatch.setattr(reader, "maybe_reload", lambda *args: False)
        result = invoke_cli(local, "compact", "--index", directory)
        assert result.returncode == 0, result.stderr
        before, after = _bytes(result.stdout, "before"), _bytes(result.stdout, "after")
        print(f"compact after deleting {len(deleted)} of {len(CORPUS)} articles: "
              f"{before} → {after} bytes")
        assert after < before
        # a reader of the old snapshot keeps answering from it, then swaps
        assert reader.snapshot.generation == old_generation
        assert _results(reader) == before_results
        monkeypatch.undo()
        assert reader.maybe_reload(0.0) and reader.snapshot.generation == old_generation + 1
        assert _results(reader) == before_results
    finally:
        reader.close()
    assert check_index(directory).ok
    assert sorted(p.name for p in directory.glob("lexical.*")) == [f"lexical.{old_generation + 1}"]
    assert sorted(p.name for p in directory.glob("vectors.*")) == \
        [f"vectors.{old_generation + 1}.faiss", f"vectors.{old_generation + 1}.json"]
    header = json.loads((lexical_dir(directory, old_generation + 1) / "header.json").read_text())
    assert header["rows"] == header["passages"]  # no masked row left


def _error(result) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = messages(result.stderr)
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_bad_input_is_one_line(tmp_path, local):
    directory = _build(tmp_path / "index", local, CORPUS[:5])
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "note.txt").write_text("mine")
    (tmp_path / "file").write_text("x")

    def run(*args):
        return _error(invoke_cli(local, *args))

    assert "no such index" in run("backup", "--index", tmp_path / "nope", "--out", tmp_path / "b")
    assert "already exists" in run("backup", "--index", directory, "--out", tmp_path / "taken")
    assert "inside the index" in run("backup", "--index", directory, "--out", directory / "b")
    assert "no such index" in run("restore", "--from", tmp_path / "nope", "--index", tmp_path / "r")
    assert invoke_cli(local, "backup", "--index", directory, "--out",
                      tmp_path / "b").returncode == 0
    assert "--force" in run("restore", "--from", tmp_path / "b", "--index", directory)
    assert "not a vnsearch index" in run("restore", "--from", tmp_path / "b", "--index",
                                         tmp_path / "taken", "--force")
    with pytest.raises(InputError, match="not a folder"):  # click refuses it first on the CLI
        maintenance.restore_index(tmp_path / "b", tmp_path / "file")
    assert "no such index" in run("compact", "--index", tmp_path / "nope")
    assert (tmp_path / "taken" / "note.txt").read_text() == "mine"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_compact_and_restore_force_respect_a_writer(tmp_path, local, monkeypatch):
    directory = _build(tmp_path / "index", local, CORPUS[:5])
    maintenance.backup_index(directory, tmp_path / "b")
    monkeypatch.setattr(compact, "COMPACT_WAIT_S", 0.1)
    monkeypatch.setattr("indexer.maintenance.restore.RESTORE_WAIT_S", 0.1)
    lock = WriteLock(directory)
    lock.acquire()
    try:
        assert "another vnsearch process" in _error(
            invoke_cli(local, "compact", "--index", directory))
        assert "another vnsearch process" in _error(invoke_cli(
            local, "restore", "--from", tmp_path / "b", "--index", directory, "--force"))
    finally:
        lock.release()
    result = invoke_cli(local, "restore", "--from", tmp_path / "b", "--index", directory,
                        "--force")
    assert result.returncode == 0 and "(replaced)" in result.stdout
    assert check_index(directory).ok
