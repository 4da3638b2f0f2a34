"""The ``vnsearch`` command line.

Options, messages and exit codes are checked in-process (the ``cli`` fixture: the root click
group under CliRunner, the session's model reused): a subprocess costs an interpreter, torch
and, for ``index``, a model load (~8-15 s on 2 cores) without checking anything more. Tests
about the process itself run ``python -m search_api`` / ``python -m indexer`` for real: the
module entry points, a write lock held by another PID, SIGKILL in the middle of indexing.
Every run shares the suite's VNSEARCH_HOME so the embedding cache makes indexing free.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import storeutil
from support import REPO, SEED, assert_one_line_error, copy_index, messages, read_jsonl_head

from indexer import layout
from indexer.article import Article
from indexer.check import check_index
from indexer.manifest import Manifest
from indexer.readers import iter_inputs
from indexer.snapshot import open_snapshot
from indexer.writer import IndexWriter, index_articles

SUBCOMMANDS = ["model", "index", "delete", "stats", "export", "check", "query", "serve", "eval"]


def stats(cli, directory: Path) -> dict:
    proc = cli("stats", "--index", directory, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def export(cli, directory: Path) -> list[dict]:
    proc = cli("export", "--index", directory)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def check(cli, directory: Path):
    return cli("check", "--index", directory)


@pytest.fixture(scope="module")
def dantri_clean(dantri_index) -> Path:
    """dantri300 indexed by the library (conftest's session index; read-only here, the tests
    that write copy it): the reference for the CLI runs."""
    directory, summary = dantri_index
    assert summary.added == 300
    return directory


# -- help and README ------------------------------------------------------------------------------

def test_help() -> None:
    proc = subprocess.run([sys.executable, "-m", "search_api", "--help"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    for name in SUBCOMMANDS:
        assert re.search(rf"^\s+{name}\s", proc.stdout, re.M), name


def test_indexer_module_runs_only_indexer_commands() -> None:
    """``python -m indexer`` is the lower layer's own CLI: its commands, none of the service's."""
    proc = subprocess.run([sys.executable, "-m", "indexer", "--help"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    commands = proc.stdout.split("Commands:", 1)[1]
    listed = set(re.findall(r"^\s{2}(\w+)\s", commands, re.M))
    assert listed == {"index", "delete", "stats", "export", "check", "model", "adapt"}, listed


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_subcommand_help(cli, name: str) -> None:
    # in-process: the same root group the console script runs (test_help runs the module)
    proc = cli(name, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_docs_name_every_subcommand() -> None:
    """The user's manual (README + docs/, outside the generated CLI page) shows each
    command in use."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    text = "\n".join(p.read_text(encoding="utf-8") for p in pages if p.name != "cli.md")
    for name in SUBCOMMANDS:
        assert f"vnsearch {name}" in text, name


# -- index the seed article -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def seed_and_reindex_runs(tmp_path_factory, cli, dantri300, dantri_clean):
    """Two model-loading CLI runs (in-process, the session's model): the seed into a new
    index, dantri300 again."""
    seed_dir = tmp_path_factory.mktemp("cli-seed") / "index"
    re_dir = copy_index(dantri_clean, tmp_path_factory.mktemp("cli-reindex") / "index")
    before = stats(cli, re_dir)
    seed_run = cli("index", SEED, "--index", seed_dir, "--quiet")
    re_run = cli("index", dantri300, "--index", re_dir, "--quiet")
    return {"seed": (seed_dir, seed_run), "reindex": (re_dir, re_run, before)}


def test_index_seed_txt(cli, seed_and_reindex_runs) -> None:
    directory, proc = seed_and_reindex_runs["seed"]
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "1 added" in proc.stdout
    data = stats(cli, directory)
    assert data["articles"] == 1
    assert data["passages"] >= 1
    records = export(cli, directory)
    assert len(records) == 1
    rec = records[0]
    assert rec["url"] is None
    assert rec["urls"] == []
    assert rec["source"] == "Báo Gia Lai"
    assert rec["title"].startswith("Phó Chủ tịch UBND tỉnh Nguyễn Hữu Quế")
    assert len(rec["passages"]) == data["passages"]
    joined = "\n".join(p["text"] for p in rec["passages"])
    for junk in ("Theo dõi Báo Gia Lai", ".jpg", "Ảnh: Bảo Long", "Có thể bạn quan tâm",
                 "Kiểm soát an ninh hàng không", "null"):
        assert junk not in joined, junk
    for content in ("12.368/27.745 việc", "hết việc chứ không hết giờ"):
        assert content in joined, content
    for p in rec["passages"]:
        assert rec["text"][p["start"]:p["end"]] == p["text"]
    proc = check(cli, directory)
    assert proc.returncode == 0 and proc.stdout.startswith("ok: 1 articles")


# -- re-index: nothing embedded ---------------------------------------------------------------------

def test_cli_reindex_embeds_nothing(cli, seed_and_reindex_runs) -> None:
    directory, proc, before = seed_and_reindex_runs["reindex"]
    assert proc.returncode == 0, proc.stderr
    assert "embedded: 0 " in proc.stdout
    assert "0 added, 0 updated, 300 unchanged" in proc.stdout
    after = stats(cli, directory)
    assert (after["articles"], after["passages"]) == (before["articles"], before["passages"]) \
        == (300, before["passages"])
    assert check(cli, directory).returncode == 0


# -- delete -------------------------------------------------------------------------------------------

def test_cli_delete(tmp_path, cli, dantri300, dantri_clean) -> None:
    directory = copy_index(dantri_clean, tmp_path / "index")
    recs = read_jsonl_head(dantri300, 3)
    before = stats(cli, directory)
    by_url = export(cli, directory)
    ids = {r["url"]: r["id"] for r in by_url}
    n_removed = sum(len(r["passages"]) for r in by_url if r["url"] in (recs[0]["url"], recs[1]["url"]))

    proc = cli("delete", "--index", directory, recs[0]["url"], ids[recs[1]["url"]])
    assert proc.returncode == 0, proc.stderr
    assert "deleted 2 articles" in proc.stdout
    after = stats(cli, directory)
    assert after["articles"] == before["articles"] - 2
    assert after["passages"] == before["passages"] - n_removed
    assert check(cli, directory).returncode == 0
    remaining = {r["id"] for r in export(cli, directory)}
    assert ids[recs[0]["url"]] not in remaining and ids[recs[1]["url"]] not in remaining

    # by input id
    proc = cli("delete", "--index", directory, recs[2]["id"])
    assert proc.returncode == 0, proc.stderr
    assert stats(cli, directory)["articles"] == before["articles"] - 3

    # unknown key: exit 1, nothing changes
    proc = cli("delete", "--index", directory, "no-such-article")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "not found" in proc.stdout + proc.stderr
    assert stats(cli, directory)["articles"] == before["articles"] - 3
    assert check(cli, directory).returncode == 0


def test_cli_export_lists_syndicated_urls(tmp_path, cli, settings, encoder, dantri300) -> None:
    rec = read_jsonl_head(dantri300, 1)[0]
    directory = tmp_path / "index"
    fields = {k: rec.get(k) for k in ("title", "text", "source", "published", "category")}
    with IndexWriter(directory, settings, encoder) as writer:
        writer.add_articles([Article(id=rec["id"], url=rec["url"], **fields)])
        summary = writer.add_articles([Article(id="", url="https://baomoi.com/a/1.epi", **fields)])
    assert summary.duplicates == 1
    records = export(cli, directory)
    assert len(records) == 1
    assert records[0]["url"] == rec["url"]
    assert sorted(records[0]["urls"]) == sorted([rec["url"], "https://baomoi.com/a/1.epi"])
    assert stats(cli, directory)["urls"] == 2


def test_cli_update_in_place_then_check(tmp_path, cli, settings, encoder, dantri300) -> None:
    recs = read_jsonl_head(dantri300, 3)
    directory = tmp_path / "index"
    fields = lambda r: {k: r.get(k) for k in ("id", "title", "url", "source", "published",  # noqa: E731
                                                "category")}
    with IndexWriter(directory, settings, encoder) as writer:
        writer.add_articles([Article(text=r["text"], **fields(r)) for r in recs])
    before = {r["url"]: r for r in export(cli, directory)}
    new_text = recs[0]["text"].split("\n\n")[0] + "\n\nĐoạn mới: giá sữa tươi tăng nhẹ trong tháng này."
    with IndexWriter(directory, settings, encoder) as writer:
        summary = writer.add_articles([Article(text=new_text, **fields(recs[0]))])
    assert summary.updated == 1
    after = {r["url"]: r for r in export(cli, directory)}
    old, new = before[recs[0]["url"]], after[recs[0]["url"]]
    assert new["id"] == old["id"]
    assert "Đoạn mới" in new["text"]
    assert {p["id"] for p in old["passages"]}.isdisjoint({p["id"] for p in new["passages"]})
    assert [p["ordinal"] for p in new["passages"]] == list(range(len(new["passages"])))
    assert after[recs[1]["url"]] == before[recs[1]["url"]]
    assert stats(cli, directory)["passages"] == sum(len(r["passages"]) for r in after.values())
    proc = check(cli, directory)
    assert proc.returncode == 0, proc.stderr


# -- check on a damaged index -------------------------------------------------------------------------

def _corrupt_fts(directory: Path) -> None:
    conn = sqlite3.connect(directory / layout.DATABASE)
    pid = conn.execute("SELECT min(id) FROM passages").fetchone()[0]
    conn.execute("DELETE FROM passages_fts WHERE rowid=?", (pid,))
    conn.commit()
    conn.close()


def _corrupt_passage(directory: Path) -> None:
    conn = sqlite3.connect(directory / layout.DATABASE)
    pid = conn.execute("SELECT max(id) FROM passages").fetchone()[0]
    conn.execute("DELETE FROM passages WHERE id=?", (pid,))
    conn.commit()
    conn.close()


def _drop_article_passages(directory: Path) -> None:
    conn = sqlite3.connect(directory / layout.DATABASE)
    aid = conn.execute("SELECT id FROM articles LIMIT 1").fetchone()[0]
    ids = [r[0] for r in conn.execute("SELECT id FROM passages WHERE article_id=?", (aid,))]
    for pid in ids:
        conn.execute("DELETE FROM passages_fts WHERE rowid=?", (pid,))
        conn.execute("DELETE FROM passages WHERE id=?", (pid,))
    conn.commit()
    conn.close()


def _garbage_vectors(directory: Path) -> None:
    for f in directory.glob("vectors.*.faiss"):
        f.write_bytes(b"not a faiss file at all")


@pytest.mark.parametrize("damage, words", [
    (_corrupt_fts, "full-text"),
    (_corrupt_passage, "vector"),
    (_drop_article_passages, "without passages"),
    (_garbage_vectors, "faiss"),
])
def test_check_detects_damage(tmp_path, cli, dantri_clean, damage, words) -> None:
    directory = copy_index(dantri_clean, tmp_path / "index")
    proc = check(cli, directory)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok: 300 articles")
    damage(directory)
    proc = check(cli, directory)
    assert proc.returncode == 1
    line = assert_one_line_error(proc)
    assert words.lower() in line.lower()


def test_check_on_missing_and_non_index_dirs(tmp_path, cli) -> None:
    proc = check(cli, tmp_path / "nope")
    assert proc.returncode == 1
    assert "no such index" in assert_one_line_error(proc)
    (tmp_path / "empty").mkdir()
    proc = check(cli, tmp_path / "empty")
    assert proc.returncode == 1
    assert "not a vnsearch index" in assert_one_line_error(proc)


# -- manifest checks in the CLI ----------------------------------------------------------------------------

def test_cli_refuses_future_format(tmp_path, cli, dantri_clean) -> None:
    directory = copy_index(dantri_clean, tmp_path / "index")
    path = directory / layout.MANIFEST
    data = json.loads(path.read_text(encoding="utf-8"))
    data["format_version"] = 999
    path.write_text(json.dumps(data), encoding="utf-8")
    for command in ("stats", "export", "check"):
        proc = cli(command, "--index", directory)
        assert proc.returncode == 1
        line = assert_one_line_error(proc)
        assert "upgrade" in line, line
    proc = cli("delete", "--index", directory, "x")
    assert proc.returncode == 1
    assert "upgrade" in assert_one_line_error(proc)


def test_cli_refuses_garbage_manifest(tmp_path, cli, dantri_clean) -> None:
    directory = copy_index(dantri_clean, tmp_path / "index")
    (directory / layout.MANIFEST).write_text("{not json", encoding="utf-8")
    proc = cli("stats", "--index", directory)
    assert proc.returncode == 1
    assert "manifest" in assert_one_line_error(proc)


# -- a second writer ----------------------------------------------------------------------------------------

# The writer holding the lock is another process (a cheap one: the fake encoder, no torch);
# the refused `index` runs in-process with the session's model (it loads the model before it
# reaches the lock: a subprocess here cost a model load for a one-line refusal).
_HOLDER = """
import sys
sys.path.insert(0, sys.argv[2])
from pathlib import Path
from indexer.article import Article
from indexer.settings import Settings
from indexer.writer import IndexWriter
from support import FakeEncoder
directory = Path(sys.argv[1])
with IndexWriter(directory, Settings(home=directory.parent / "home"), FakeEncoder()) as writer:
    writer.add_articles([Article(id="a", title="Tin", text="Nội dung ngắn của bài báo.")])
    print("holding", flush=True)
    sys.stdin.read()  # until the test closes our stdin
"""


@pytest.mark.model  # the refused `index` loads the model before it reaches the lock
def test_second_writer_refused(tmp_path, cli, dantri300) -> None:
    directory = tmp_path / "index"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(directory),
                               str(REPO / "tests")], cwd=REPO, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        proc = cli("index", dantri300, "--index", directory, "--quiet")
        assert proc.returncode != 0
        line = assert_one_line_error(proc)
        assert "another vnsearch process" in line
        assert f"pid {holder.pid}" in line
    finally:
        holder.stdin.close()
        assert holder.wait(timeout=60) == 0
    # nothing was written by the refused run
    conn = sqlite3.connect(directory / layout.DATABASE)
    assert storeutil.counts(conn)["articles"] == 1
    conn.close()


# -- bad input -------------------------------------------------------------------------------------------------

@pytest.fixture()
def bad_jsonl(tmp_path, dantri300) -> Path:
    good = read_jsonl_head(dantri300, 2)[1]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join([
        '{"title": "hỏng", "text": "thiếu ngoặc"',
        json.dumps({"title": "Không có nội dung", "url": "https://example.com/x"}, ensure_ascii=False),
        json.dumps(good, ensure_ascii=False),
    ]) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def bad_input_runs(tmp_path, cli, encoder, bad_jsonl):
    plain, strict = tmp_path / "plain", tmp_path / "strict"
    return {"plain": (plain, cli("index", bad_jsonl, "--index", plain, "--quiet")),
            "strict": (strict, cli("index", bad_jsonl, "--index", strict, "--quiet",
                                   "--strict"))}


def test_bad_input(cli, bad_jsonl, bad_input_runs) -> None:
    # without --strict: the good record is indexed, the two bad ones reported with file:line;
    # exit 2 (something given was not indexed) with the summary printed
    directory, proc = bad_input_runs["plain"]
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "1 added" in proc.stdout and "2 skipped" in proc.stdout
    skipped = [m for m in messages(proc.stderr) if "skipped" in m]
    assert len(skipped) == 2
    assert f"{bad_jsonl}:1" in skipped[0] and "malformed JSON" in skipped[0]
    assert f"{bad_jsonl}:2" in skipped[1] and "no text" in skipped[1]
    assert stats(cli, directory)["articles"] == 1

    # --strict: non-zero exit, one line naming file:line, no traceback, nothing indexed
    directory, proc = bad_input_runs["strict"]
    assert proc.returncode != 0
    line = assert_one_line_error(proc)
    assert f"{bad_jsonl}:1" in line and "--strict" in line
    if (directory / layout.MANIFEST).exists():
        assert stats(cli, directory)["articles"] == 0


# -- kill -9 in the middle of indexing ------------------------------------------------------------------------

def _generation(directory: Path) -> int | None:
    try:
        return json.loads((directory / layout.MANIFEST).read_text(encoding="utf-8"))["generation"]
    except (OSError, ValueError, KeyError):
        return None


KILL_POINTS = [(0, 0.3), (2, 0.0), (3, 0.2)]  # (manifest generation reached, then wait s)


def test_kill_during_indexing(tmp_path, cli, settings, encoder, dantri300, dantri_clean) -> None:
    """SIGKILL three indexers (run at once) at different points; each index stays usable."""
    reference = Manifest.load(dantri_clean).counts
    env = dict(os.environ, VNSEARCH_HOME=str(settings.home))
    dirs = [tmp_path / f"index{i}" for i in range(len(KILL_POINTS))]
    procs = [subprocess.Popen([sys.executable, "-m", "search_api", "index", str(dantri300), "--index",
                               str(d), "--batch-size", "8", "--quiet"], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for d in dirs]
    kill_at: list[float | None] = [None] * len(procs)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and any(p.poll() is None for p in procs):
            now = time.monotonic()
            for i, (proc, (min_generation, delay)) in enumerate(zip(procs, KILL_POINTS)):
                if proc.poll() is not None:
                    continue
                if kill_at[i] is None:
                    g = _generation(dirs[i])
                    if g is not None and g >= min_generation:
                        kill_at[i] = now + delay
                if kill_at[i] is not None and now >= kill_at[i]:
                    proc.send_signal(signal.SIGKILL)
            time.sleep(0.005)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=60)
    for proc, point in zip(procs, KILL_POINTS):
        assert proc.returncode == -signal.SIGKILL, f"indexer {point} finished before the kill"

    for directory, point in zip(dirs, KILL_POINTS):
        # the store is at a batch boundary; check (which rolls derived files forward) says ok
        proc = check(cli, directory)
        assert proc.returncode == 0, (point, proc.stderr)
        snap = open_snapshot(directory, encoder.info.model_id)
        try:
            n = snap.db.counts()
            assert len(snap.vectors) == n["passages"]
            assert n["articles"] < 300
        finally:
            snap.close()

        # a rerun completes the index, identical in size to a clean run
        summary = index_articles(directory, iter_inputs([dantri300]), settings, encoder)
        assert summary.added + summary.unchanged == 300
        assert summary.updated == 0
        conn = sqlite3.connect(directory / layout.DATABASE)
        try:
            assert storeutil.counts(conn) == reference
        finally:
            conn.close()
        report = check_index(directory)
        assert report.ok, (point, report.problems)
        assert (report.articles, report.passages) == (300, reference["passages"])
