"""Append-only vector segments: a generation's vectors = base + delta segments − tombstones
(:mod:`indexer.vector_files`), merged and folded by policy, recovered after kills.

Indexes of the demo corpus embedded by the deterministic FakeEncoder (no model). The
reference is always one exact (flat) index over the store's live vectors.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from support import DEMO_DATA, REPO, FakeEncoder, read_jsonl_head

from indexer import vector_fold
from indexer.article import Article
from indexer.check import check_index
from indexer.db import IndexDB
from indexer.layout import vector_path
from indexer.settings import Settings
from indexer.snapshot import open_snapshot
from indexer.vector_files import read_record, segment_path
from indexer.vector_fold import fold_in_background
from indexer.vector_index import FlatIndex, build_vector_index
from indexer.vector_index.segmented import SegmentedIndex
from indexer.writer import IndexWriter

CORPUS = read_jsonl_head(DEMO_DATA / "demo.jsonl", 40)
DIM = 16


def _article(record: dict) -> Article:
    return Article(id=record["id"], title=record.get("title"), text=record["text"],
                   url=record.get("url"), source=record.get("source"),
                   published=record.get("published"), category=record.get("category"))


def _settings(tmp_path: Path, **policy) -> Settings:
    return Settings(home=tmp_path / "home", **policy)


def _write(directory: Path, settings: Settings, add=(), delete=(), **kw) -> IndexWriter:
    with IndexWriter(directory, settings, FakeEncoder(), **kw) as writer:
        if add:
            writer.add_articles([_article(r) for r in add], force=True)
        if delete:
            writer.delete([r["id"] for r in delete])
    return writer


def _generation(directory: Path) -> int:
    with IndexDB(directory, readonly=True) as db:
        return db.generation()


def _exact(directory: Path) -> FlatIndex:
    with IndexDB(directory, readonly=True) as db:
        ids, vectors = db.load_all_vectors(DIM)
    index = FlatIndex(DIM)
    index.add(ids, vectors)
    return index


def _queries(n: int = 12) -> np.ndarray:
    q = np.random.default_rng(7).standard_normal((n, DIM)).astype(np.float32)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def _assert_same_as_exact(directory: Path) -> None:
    """The snapshot's vectors answer like one exact index over the store (all and a
    restricted set), and ``check`` is ok."""
    report = check_index(directory)
    assert report.ok, report.problems
    snapshot = open_snapshot(directory)
    try:
        exact = _exact(directory)
        assert len(snapshot.vectors) == len(exact)
        live = exact.ids()
        allowed = live[::3]
        for q in _queries():
            for subset in (None, allowed):
                a, b = snapshot.vectors.search(q, 10, subset), exact.search(q, 10, subset)
                assert a.ids.tolist() == b.ids.tolist()
                assert np.allclose(a.scores, b.scores, atol=1e-6)
    finally:
        snapshot.close()


def test_base_plus_segments_minus_tombstones_equal_one_exact_index():
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((600, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(1, 601, dtype=np.int64)
    base = build_vector_index("flat", DIM, ids[:400], vectors[:400])
    segments = [build_vector_index("flat", DIM, ids[a:b], vectors[a:b])
                for a, b in ((400, 450), (450, 580), (580, 600))]
    removed = np.sort(rng.choice(ids, 90, replace=False))
    live = np.setdiff1d(ids, removed)
    composed = SegmentedIndex(DIM, base, segments, removed, len(live))
    exact = build_vector_index("flat", DIM, live, vectors[live - 1])
    assert len(composed) == len(live) and composed.ids().tolist() == live.tolist()
    for q in _queries():
        for allowed in (None, ids[::4], removed[:5]):
            a, b = composed.search(q, 10, allowed), exact.search(q, 10, allowed)
            assert a.ids.tolist() == b.ids.tolist()
            assert np.allclose(a.scores, b.scores, atol=1e-6)
    hnsw = build_vector_index("hnsw", DIM, ids[:400], vectors[:400])
    hnsw.remove(removed[removed <= 400])  # loaded with the tombstones, as from a record
    approx = SegmentedIndex(DIM, hnsw, segments, removed, len(live))
    for q in _queries():
        assert not set(approx.search(q, 50).ids.tolist()) & set(removed.tolist())


def test_writes_append_small_files_and_never_rewrite_the_base(tmp_path):
    directory, settings = tmp_path / "index", _settings(tmp_path)
    _write(directory, settings, add=CORPUS[:20])
    first = read_record(directory, _generation(directory))
    assert first is not None and first.base is not None
    base = vector_path(directory, first.base)
    inode = base.stat().st_ino
    writer = _write(directory, settings, add=CORPUS[20:22])
    assert writer.vector_write is not None and writer.vector_write.mode == "append"
    assert writer.vector_write.added > 0
    assert segment_path(directory, _generation(directory)).exists()
    writer = _write(directory, settings, delete=CORPUS[:3])
    record = read_record(directory, _generation(directory))
    assert record is not None and record.removed and record.removed_count > 0
    assert writer.vector_write is not None and writer.vector_write.removed == record.removed_count
    _write(directory, settings, add=[dict(CORPUS[5], text=CORPUS[5]["text"] + " Cập nhật.")])
    assert base.stat().st_ino == inode  # the base was never rewritten
    _assert_same_as_exact(directory)


def test_segments_merge_and_the_base_folds_by_policy(tmp_path):
    directory = tmp_path / "index"
    settings = _settings(tmp_path, vector_segments_max=3, vector_fold_min_rows=10**6)
    _write(directory, settings, add=CORPUS[:10])
    for i in range(10, 18):
        _write(directory, settings, add=CORPUS[i:i + 1], delete=CORPUS[i - 9:i - 8])
        record = read_record(directory, _generation(directory))
        assert record is not None and len(record.segments) <= 3
    _assert_same_as_exact(directory)
    folding = _settings(tmp_path, vector_fold_min_rows=0, vector_fold_share=0.01)
    writer = _write(directory, folding, add=CORPUS[18:19])
    assert writer.vector_write is not None and writer.vector_write.mode == "fold"
    record = read_record(directory, _generation(directory))
    assert record is not None and record.base == record.generation
    assert not record.segments and not record.removed  # tombstones applied by the rebuild
    _assert_same_as_exact(directory)


def test_background_fold_publishes_while_writes_go_on(tmp_path, monkeypatch):
    """The fold builds without the write lock: writes land meanwhile, and the published
    record keeps their segments and tombstones."""
    directory, settings = tmp_path / "index", _settings(tmp_path)
    _write(directory, settings, add=CORPUS[:20])
    _write(directory, settings, add=CORPUS[20:24], delete=CORPUS[:2])
    folded_at = _generation(directory)
    real_base = vector_fold._base

    def base_while_writing(*args):
        _write(directory, settings, add=CORPUS[24:26], delete=CORPUS[2:3] + CORPUS[21:22])
        return real_base(*args)

    monkeypatch.setattr(vector_fold, "_base", base_while_writing)
    policy = vector_fold.VectorPolicy(fold_min_rows=0, fold_share=0.01)
    assert fold_in_background(directory, policy) == "published"
    record = read_record(directory, _generation(directory))
    assert record is not None and record.base == folded_at
    assert len(record.segments) == 1 and record.segments[0].generation > folded_at
    assert record.removed_count > 0  # the ids removed after the fold's generation
    _assert_same_as_exact(directory)


def test_api_write_starts_the_fold_in_a_process_and_readers_keep_their_files(tmp_path):
    directory = tmp_path / "index"
    settings = _settings(tmp_path, vector_fold_min_rows=0, vector_fold_inline_passages=0)
    _write(directory, settings, add=CORPUS[:20])
    old = open_snapshot(directory)  # maps the base the fold will replace
    before = [old.vectors.search(q, 5).ids.tolist() for q in _queries()]
    writer = _write(directory, settings, add=CORPUS[20:30], background_fold=True)
    assert writer.vector_write is not None and writer.vector_write.mode == "fold-started"
    generation = _generation(directory)
    deadline = time.monotonic() + 240  # a process start under load
    while _segments(directory, generation) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _segments(directory, generation) == 0  # folded in the background
    _write(directory, settings, delete=CORPUS[:1])
    _write(directory, settings, delete=CORPUS[1:2])  # the old base's last record goes
    assert [old.vectors.search(q, 5).ids.tolist() for q in _queries()] == before
    old.close()
    _assert_same_as_exact(directory)


def _segments(directory: Path, generation: int) -> int:
    record = read_record(directory, generation)
    return -1 if record is None else len(record.segments)


KILL_WRITER = """
import os, random, signal, sys
from pathlib import Path
sys.path[:0] = [{repo!r}, {tests!r}]
from support import FakeEncoder, DEMO_DATA, read_jsonl_head
from indexer.article import Article
from indexer.settings import Settings
from indexer.writer import IndexWriter
import indexer.vector_files as vf, indexer.vector_generation as vg, indexer.layout as layout

corpus = read_jsonl_head(DEMO_DATA / "demo.jsonl", 40)
settings = Settings(home=Path({home!r}), vector_segments_max=2, vector_fold_min_rows=12)
real_replace, calls = os.replace, [0]
def replace(a, b):  # die at the n-th rename: inside a segment, tombstone, record, manifest
    calls[0] += 1
    if calls[0] == {die_at}:
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(a, b)
os.replace = replace
rng = random.Random({seed})
for i in range(20, 40):
    with IndexWriter(Path({directory!r}), settings, FakeEncoder()) as writer:
        r = corpus[i]
        writer.add_articles([Article(id=r["id"], title=r.get("title"), text=r["text"])],
                            force=True)
        print("committed", r["id"], flush=True)
        if rng.random() < 0.4:
            gone = corpus[rng.randrange(0, i)]["id"]
            writer.delete([gone])
            print("deleted", gone, flush=True)
"""


def _assert_recovered(directory: Path) -> None:
    """Consistent after a kill: ``check`` ok, equal to exact search, and every stored
    passage found by its own vector."""
    _assert_same_as_exact(directory)
    snapshot = open_snapshot(directory)
    try:
        with IndexDB(directory, readonly=True) as db:
            ids, vectors = db.load_all_vectors(DIM)
        for pid, vector in zip(ids, vectors, strict=True):
            assert int(pid) in snapshot.vectors.search(vector, 5).ids.tolist()
    finally:
        snapshot.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_of_a_writer_at_random_points_recovers(tmp_path, seed):
    """A writer process appending, merging and folding is killed at a random rename (or
    at a random moment): the next open rolls forward; every committed article is there."""
    directory = tmp_path / "index"
    _write(directory, _settings(tmp_path), add=CORPUS[:20])
    rng = random.Random(seed)
    script = KILL_WRITER.format(repo=str(REPO), tests=str(REPO / "tests"),
                                home=str(tmp_path / "home"), directory=str(directory),
                                die_at=rng.randrange(1, 60), seed=seed)
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)],
                            stdout=subprocess.PIPE, text=True)
    timer = threading.Timer(rng.uniform(0.5, 4.0), proc.kill)
    timer.start()
    out, _ = proc.communicate(timeout=120)
    timer.cancel()
    assert proc.returncode in (-signal.SIGKILL, 0)
    present: set[str] = set()  # what the writer's commits left, in their order
    for line in out.splitlines():
        what, key = line.split()
        (present.add if what == "committed" else present.discard)(key)
    _assert_recovered(directory)
    with IndexDB(directory, readonly=True) as db:
        assert all(db.resolve_key(key) is not None for key in present)


KILL_FOLD = """
import os, signal, sys, time
from pathlib import Path
sys.path[:0] = [{repo!r}]
import indexer.vector_fold as vector_fold
real_replace, calls = os.replace, [0]
def replace(a, b):
    calls[0] += 1
    if calls[0] == {die_at}:
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(a, b)
os.replace = replace
print(vector_fold.fold_in_background(
    Path({directory!r}), vector_fold.VectorPolicy(fold_min_rows=0, fold_share=0.01)))
"""


@pytest.mark.parametrize("die_at", [1, 2, 3, 99])
def test_sigkill_of_a_background_fold_recovers(tmp_path, die_at):
    """The fold dies writing its base, publishing it, writing its record, or not at all:
    the index stays consistent, and the next fold completes."""
    directory, settings = tmp_path / "index", _settings(tmp_path)
    _write(directory, settings, add=CORPUS[:20])
    _write(directory, settings, add=CORPUS[20:26], delete=CORPUS[:2])
    script = KILL_FOLD.format(repo=str(REPO), directory=str(directory), die_at=die_at)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], timeout=120,
                          capture_output=True, text=True)
    assert proc.returncode == (0 if die_at == 99 else -signal.SIGKILL), proc.stderr
    _write(directory, settings, delete=CORPUS[2:3])  # a write after the kill
    _assert_recovered(directory)
    policy = vector_fold.VectorPolicy(fold_min_rows=0, fold_share=0.01)
    assert fold_in_background(directory, policy) == "published"
    assert not list(directory.glob(".vectors.*"))
    _assert_recovered(directory)


def test_check_reports_damage_and_recovery_rebuilds_a_missing_segment(tmp_path):
    directory, settings = tmp_path / "index", _settings(tmp_path)
    _write(directory, settings, add=CORPUS[:10])
    _write(directory, settings, add=CORPUS[10:12])
    segment = segment_path(directory, _generation(directory))
    data = bytearray(segment.read_bytes())
    data[-1] ^= 0xFF
    segment.write_bytes(bytes(data))
    report = check_index(directory)
    assert not report.ok and any("checksum" in p for p in report.problems)
    segment.unlink()  # missing: the next open rolls the generation forward from the store
    _assert_recovered(directory)
