"""The lexical matrix files of each generation: written by the writer, mapped by readers.

Layout, next to ``vectors.<gen>.faiss``::

    lexical.<gen>/header.json       generation, segments, N, total length, CRC-32 of each file
    lexical.<gen>/s<k>.<array>.npy  the immutable arrays of segment k (:mod:`.segments`)
    lexical.<gen>/s<k>.live.npy     bool per row of segment k: False once the passage is gone

A write does not rebuild the matrix (:func:`write_lexical`): the new generation's
directory hard-links the previous generation's segment files, adds one segment with the
passages added since (passage ids only grow: they are the FTS rows above the previous
``max_rowid``), and masks the rows whose passage left the store (deleted or replaced). N and
the total length are the live rows'; df is counted over live postings when a query asks, so
BM25 scores equal those of a fresh build. Compaction (:data:`MAX_MASKED_SHARE`,
:data:`MAX_SEGMENTS`) bounds the masked rows and the segments a query visits.

Atomic like the FAISS file: the directory is written as ``.lexical.<gen>.<pid>.tmp``, every
file fsynced, then renamed. Readers hold a shared ``flock`` on the directory they map; the
writer keeps the current and the previous generation and removes older ones only when it
gets an exclusive lock on them (a reader still on one keeps it until the next write).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..db import IndexDB
from ..layout import fsync_dir
from .segments import ARRAYS, Segment, build_segment, file_crc, segment_file

FORMAT = 1
HEADER = "header.json"
#: Compact (rebuild everything from the store) when more than this share of the rows are
#: masked: masked rows cost memory and gather time on every query that touches them.
MAX_MASKED_SHARE = 0.2
#: Past this many segments, a run of the newest is merged into one (rebuilt from the store;
#: :func:`merge_start` picks the run, size-tiered). A query looks each term up once per
#: segment, so this bounds its cost; the merges stay geometric.
MAX_SEGMENTS = 8


def lexical_dir(directory: Path, generation: int) -> Path:
    """The lexical matrix directory of store generation ``generation``."""
    return Path(directory) / f"lexical.{generation}"


@dataclass
class LexicalHeader:
    """``header.json``: what a generation directory holds."""

    generation: int
    segments: list[int]
    passages: int           # live rows: BM25's N
    total_length: int       # sum of the live rows' lengths (average length = total / N)
    rows: int               # all rows, masked ones included
    max_rowid: int          # the largest passage id ever counted (new rows are above it)
    checksums: dict[str, int] = field(default_factory=dict)
    format: int = FORMAT

    @property
    def masked(self) -> int:
        """Rows whose passage is gone."""
        return self.rows - self.passages

    @classmethod
    def load(cls, path: Path) -> LexicalHeader:
        """Read a ``header.json`` (ValueError/OSError/TypeError when unreadable)."""
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"{path}: lexical format {data.get('format')}, expected {FORMAT}")
        return cls(**data)


@dataclass
class LexicalFiles:
    """One generation's matrix: its header, segments and live masks (mapped read-only)."""

    path: Path
    header: LexicalHeader
    segments: list[Segment]
    live: list[np.ndarray]
    fd: int | None = None  # the directory, flock()ed shared while a reader uses it

    @property
    def generation(self) -> int:
        """The store generation these files describe."""
        return self.header.generation

    def close(self) -> None:
        """Release the reader's lock (the mapped arrays stay valid until dropped)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def open_lexical(directory: Path, generation: int, shared_lock: bool = True) -> LexicalFiles | None:
    """Map the files of ``generation``; None when absent, being removed, or unreadable.

    With ``shared_lock`` the directory stays ``flock``ed shared until :meth:`close`, so the
    writer does not remove it meanwhile.
    """
    path = lexical_dir(directory, generation)
    fd = None
    try:
        if shared_lock:
            fd = os.open(path, os.O_RDONLY)
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        header = LexicalHeader.load(path / HEADER)
        if header.generation != generation:
            raise ValueError(f"{path}: header of generation {header.generation}")
        segments = [Segment.load(path, k) for k in header.segments]
        live = [np.load(segment_file(path, k, "live"), allow_pickle=False)
                for k in header.segments]
    except (OSError, ValueError, TypeError, KeyError):
        if fd is not None:
            os.close(fd)
        return None
    return LexicalFiles(path, header, segments, live, fd)


@dataclass
class LexicalWrite:
    """What :func:`write_lexical` did: 'current' (already there), 'full', 'merge' (the
    segments after the first rebuilt as one) or 'incremental'."""

    generation: int
    mode: str
    segments: int
    new_rows: int
    masked: int
    seconds: float


def write_lexical(directory: Path, db: IndexDB, *, rebuild: bool = False,
                  removed: np.ndarray | None = None, since: int | None = None) -> LexicalWrite:
    """Bring the matrix files to the store's generation (the caller holds the write lock):
    incrementally from the newest earlier generation's files, else by a full build;
    ``rebuild`` (``vnsearch compact``): always a full build, one segment, no masked row.

    ``removed``: the passage ids the caller removed since generation ``since``. When the
    newest earlier files are of that generation, only those rows are masked; otherwise
    (recovery, another process wrote meanwhile) every row is compared with the store,
    which reads all passage ids (0.6 s at 100k passages).
    """
    started = time.perf_counter()
    generation = db.generation()
    current = open_lexical(directory, generation, shared_lock=False)
    if current is not None:
        return LexicalWrite(generation, "current", len(current.segments), 0,
                            current.header.masked, 0.0)
    previous = None if rebuild else _newest_before(directory, generation)
    with db.read_transaction():
        if previous is None:
            header = _write_full(directory, db, generation)
            done = _Written(header, "full", header.rows)
        else:
            known = removed if since is not None and previous.generation == since else None
            done = _write_incremental(directory, db, generation, previous, known)
    remove_old_lexical(directory, generation)
    return LexicalWrite(generation, done.mode, len(done.header.segments), done.counted,
                        done.header.masked, time.perf_counter() - started)


@dataclass
class _Written:
    header: LexicalHeader
    mode: str
    counted: int  # rows whose terms were counted (read from the store)


def _newest_before(directory: Path, generation: int) -> LexicalFiles | None:
    for g in sorted(_generations(directory), reverse=True):
        if g < generation:
            files = open_lexical(directory, g, shared_lock=False)
            if files is not None:
                return files
    return None


def _write_full(directory: Path, db: IndexDB, generation: int) -> LexicalHeader:
    segment = build_segment(db.iter_fts_rows())
    live = np.ones(len(segment), dtype=bool)
    return _commit(directory, generation, [(0, segment, live, None)])


_Part = tuple[int, Segment, np.ndarray, "Path | None"]


def _write_incremental(directory: Path, db: IndexDB, generation: int,
                       previous: LexicalFiles, removed: np.ndarray | None) -> _Written:
    """Mask the rows whose passage is gone (``removed``, else compared with the store), add
    the passages above ``max_rowid``; merge or rebuild when the policy says so."""
    gone = _Gone(db, removed)
    parts: list[_Part] = []
    rows = masked = 0
    for k, segment, live in zip(previous.header.segments, previous.segments, previous.live,
                                strict=False):
        if not len(segment):
            continue  # the empty matrix of a new index: nothing to keep
        now = gone.mask(np.asarray(segment.rowids), np.asarray(live))
        parts.append((k, segment, now, previous.path))
        rows += len(segment)
        masked += int(len(segment) - np.count_nonzero(now))
    fresh = build_segment(db.iter_fts_rows(after=previous.header.max_rowid))
    if len(fresh):
        parts.append((max(previous.header.segments, default=-1) + 1, fresh,
                      np.ones(len(fresh), bool), None))
        rows += len(fresh)
    if rows and masked / rows > MAX_MASKED_SHARE:
        return _Written(_write_full(directory, db, generation), "full", rows - masked)
    if len(parts) > MAX_SEGMENTS:
        start = merge_start([int(np.count_nonzero(live)) for _, _, live, _ in parts])
        after = parts[start - 1][1].max_rowid if start else 0
        tail = build_segment(db.iter_fts_rows(after=after))
        number = max(k for k, *_ in parts) + 1
        parts = parts[:start] + [(number, tail, np.ones(len(tail), bool), None)]
        return _Written(_commit(directory, generation, parts), "merge", len(tail))
    return _Written(_commit(directory, generation, parts), "incremental", len(fresh))



class _Gone:
    """Which rows of the previous generation lost their passage: the ``removed`` ids when
    the caller knows them, else every row not in the store (read once, lazily)."""

    def __init__(self, db: IndexDB, removed: np.ndarray | None) -> None:
        self._db = db
        self._removed = None if removed is None else np.unique(np.asarray(removed, np.int64))
        self._stored: np.ndarray | None = None

    def mask(self, rowids: np.ndarray, live: np.ndarray) -> np.ndarray:
        """``live`` with the rows whose passage is gone cleared."""
        if self._removed is not None:
            hit = self._removed[(self._removed >= rowids[0]) & (self._removed <= rowids[-1])]
            return live & ~np.isin(rowids, hit) if len(hit) else live
        if self._stored is None:
            self._stored = self._db.passage_id_array()
        return live & np.isin(rowids, self._stored, assume_unique=True)


def merge_start(live_rows: list[int]) -> int:
    """The first segment of the run of newest segments to merge into one: at least the
    newest half of :data:`MAX_SEGMENTS`, extended back over each older segment no larger
    than twice the run (size-tiered). Small recent segments merge often and cheaply; a
    large old one is rewritten only once the newer rows have grown to its size, so a row
    is rewritten O(log n) times and one write never rebuilds the whole matrix because of
    many small writes before it."""
    start = max(0, len(live_rows) - MAX_SEGMENTS // 2)
    run = sum(live_rows[start:])
    while start > 0 and live_rows[start - 1] <= 2 * run:
        start -= 1
        run += live_rows[start]
    return start


def _commit(directory: Path, generation: int,
            parts: list[tuple[int, Segment, np.ndarray, Path | None]]) -> LexicalHeader:
    """Write a generation directory atomically. ``parts``: (number, segment, live mask,
    directory holding its files already, to hard-link, or None to write them)."""
    final = lexical_dir(directory, generation)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    checksums: dict[str, int] = {}
    old_sums: dict[str, int] = {}
    written: list[Path] = []  # hard links share the previous generation's durable data
    for k, segment, live, source in parts:
        if source is None:
            saved = segment.save(tmp, k)
            checksums.update(saved)
            written.extend(tmp / name for name in saved)
        else:
            if not old_sums:
                old_sums = LexicalHeader.load(source / HEADER).checksums
            for name in ARRAYS:
                target = segment_file(tmp, k, name)
                _link_or_copy(segment_file(source, k, name), target)
                checksums[target.name] = old_sums[target.name]
        live_path = segment_file(tmp, k, "live")
        if source is not None and _same_live(segment_file(source, k, "live"), live):
            _link_or_copy(segment_file(source, k, "live"), live_path)  # nothing masked
            checksums[live_path.name] = old_sums[live_path.name]
        else:
            np.save(live_path, live, allow_pickle=False)
            checksums[live_path.name] = file_crc(live_path)
            written.append(live_path)
    header = _header(generation, parts, checksums)
    (tmp / HEADER).write_text(json.dumps(asdict(header)), encoding="utf-8")
    for path in [*written, tmp / HEADER]:
        _fsync(path)
    fsync_dir(tmp)
    os.rename(tmp, final)
    fsync_dir(directory)
    return header


def _same_live(path: Path, live: np.ndarray) -> bool:
    """Whether the live mask stored at ``path`` equals ``live`` (then it is shared)."""
    try:
        return bool(np.array_equal(np.load(path, mmap_mode="r", allow_pickle=False), live))
    except (OSError, ValueError):
        return False


def _link_or_copy(source: Path, target: Path) -> None:
    """Share an immutable segment file with the previous generation (a hard link: no
    bytes written), or copy it where the file system has no hard links."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _header(generation: int, parts: list[tuple[int, Segment, np.ndarray, Path | None]],
            checksums: dict[str, int]) -> LexicalHeader:
    passages = total = rows = 0
    max_rowid = 0
    for _, segment, live, _ in parts:
        passages += int(np.count_nonzero(live))
        total += int(np.asarray(segment.lengths, dtype=np.int64)[live].sum())
        rows += len(segment)
        max_rowid = max(max_rowid, segment.max_rowid)
    return LexicalHeader(generation, [k for k, *_ in parts], passages, total, rows,
                         max_rowid, checksums)


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _generations(directory: Path) -> list[int]:
    found = []
    for path in Path(directory).glob("lexical.*"):
        suffix = path.name.split(".", 1)[1]
        if path.is_dir() and suffix.isdigit():
            found.append(int(suffix))
    return found


def remove_old_lexical(directory: Path, generation: int, keep: int = 2) -> list[int]:
    """Remove the generation directories other than the newest ``keep`` up to
    ``generation`` (and any above it: a store restored from a backup), skipping those a
    reader holds (shared flock); also stale temporary directories. Returns those removed."""
    older = sorted((g for g in _generations(directory) if g <= generation), reverse=True)
    doomed = older[keep:] + [g for g in _generations(directory) if g > generation]
    removed = []
    for g in doomed:
        path = lexical_dir(directory, g)
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # a reader maps it: the next write tries again
            continue
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)
        removed.append(g)
    for tmp in Path(directory).glob(".lexical.*.tmp"):
        shutil.rmtree(tmp, ignore_errors=True)
    return removed


def lexical_problems(directory: Path, generation: int, passage_ids: set[int]) -> list[str]:
    """``vnsearch check``: the files of ``generation`` exist, match their checksums, and
    their live rows are exactly the store's passages."""
    name = lexical_dir(directory, generation).name
    files = open_lexical(directory, generation, shared_lock=False)
    if files is None:
        return [f"{name}: missing or unreadable lexical matrix for generation {generation}"]
    problems = [f"{name}/{file}: checksum mismatch"
                for file, crc in files.header.checksums.items()
                if not (files.path / file).exists() or file_crc(files.path / file) != crc]
    live_ids = set()
    for segment, live in zip(files.segments, files.live, strict=False):
        live_ids.update(np.asarray(segment.rowids)[np.asarray(live)].tolist())
    if live_ids != passage_ids:
        problems.append(f"{name}: {len(passage_ids - live_ids)} passages missing, "
                        f"{len(live_ids - passage_ids)} rows of passages no longer stored")
    if files.header.passages != len(live_ids):
        problems.append(f"{name}: header counts {files.header.passages} passages, "
                        f"the masks {len(live_ids)}")
    return problems
