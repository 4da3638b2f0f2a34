"""The index directory: SQLite store (source of truth) + FAISS file + manifest + write lock.

Layout of an index directory::

    manifest.json        format version, model, dimension, chunking, counts, generation
    store.sqlite         articles, article_urls, passages (with their vectors), passages_fts
    vectors.<gen>.faiss  the vector index for SQLite generation <gen>
    write.lock           flock()ed by the one process allowed to write

Crash safety: every batch of articles is one SQLite transaction that also bumps the
``generation`` counter, so after a kill the store is at the state before or after the last
completed batch. The FAISS file and the manifest are derived from the store: they are
written after the commit (temporary file + rename), and a process that opens an index
whose derived files lag behind the store rebuilds them from the store (the vectors are
kept in SQLite for exactly this). Readers only ever read committed SQLite snapshots.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .errors import IndexFormatError, IndexLockedError, IndexNotFoundError, ModelMismatchError

FORMAT_NAME = "vnsearch-index"
FORMAT_VERSION = 1
SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
DATABASE = "store.sqlite"
LOCK = "write.lock"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT,
    text TEXT NOT NULL,
    url TEXT,
    source TEXT,
    published TEXT,
    category TEXT,
    content_hash TEXT NOT NULL,
    added_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_hash ON articles(content_hash);
CREATE INDEX IF NOT EXISTS articles_source ON articles(source);
CREATE INDEX IF NOT EXISTS articles_category ON articles(category);
CREATE INDEX IF NOT EXISTS articles_published ON articles(published);
CREATE TABLE IF NOT EXISTS article_urls (
    url TEXT PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS article_urls_article ON article_urls(article_id);
CREATE TABLE IF NOT EXISTS external_ids (
    external_id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS external_ids_article ON external_ids(article_id);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_article ON passages(article_id);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(
    toned, folded, bigrams, tokenize = "unicode61 remove_diacritics 0 tokenchars '_'"
);
"""


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Manifest:
    """What an index directory is: checked on every open."""

    model_name: str
    model_id: str
    dimension: int
    max_tokens: int
    chunking: dict
    vector_index: str = "flat"
    format: str = FORMAT_NAME
    format_version: int = FORMAT_VERSION
    schema_version: int = SCHEMA_VERSION
    generation: int = 0
    counts: dict = field(default_factory=lambda: {"articles": 0, "passages": 0})
    created: str = field(default_factory=utc_now)
    updated: str = field(default_factory=utc_now)

    @classmethod
    def load(cls, directory: Path) -> "Manifest":
        path = directory / MANIFEST
        if not path.exists():
            if not directory.exists():
                raise IndexNotFoundError(f"{directory}: no such index directory")
            raise IndexNotFoundError(f"{path}: missing; {directory} is not a vnsearch index "
                                     "(create one with `vnsearch index PATH --index DIR`)")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexFormatError(f"{path}: unreadable manifest ({exc}); restore it from a "
                                   "backup or rebuild the index") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
            raise IndexFormatError(f"{path}: not a vnsearch manifest")
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            newer = isinstance(version, int) and version > FORMAT_VERSION
            raise IndexFormatError(
                f"{path}: index format {version}, this vnsearch reads format {FORMAT_VERSION}; "
                + ("upgrade vnsearch to open it" if newer else "rebuild it with `vnsearch index`"))
        try:
            return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        except TypeError as exc:
            raise IndexFormatError(f"{path}: malformed manifest ({exc})") from None

    def save(self, directory: Path) -> None:
        atomic_write(directory / MANIFEST, json.dumps(asdict(self), ensure_ascii=False, indent=2))

    def check_model(self, model_id: str, directory: Path) -> None:
        """Refuse to use the index with another embedding model."""
        if model_id != self.model_id:
            raise ModelMismatchError(
                f"{directory / MANIFEST}: index built with model {self.model_id!r}, but the "
                f"configured model is {model_id!r}; use --model {self.model_name!r} or rebuild")


def atomic_write(path: Path, text: str | bytes) -> None:
    """Write ``path`` via a temporary file, fsync and rename (never a half-written file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    data = text.encode("utf-8") if isinstance(text, str) else text
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def connect(directory: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open the store database (WAL, foreign keys on)."""
    path = directory / DATABASE
    if readonly and not path.exists():
        raise IndexFormatError(f"{path}: missing SQLite store; the index is incomplete")
    try:
        if readonly:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False,
                                   isolation_level=None)
        else:
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise IndexFormatError(f"{path}: damaged SQLite store ({exc}); restore it from a backup "
                               "or `vnsearch export` an older copy — vnsearch will not overwrite it"
                               ) from None
    return conn


def init_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)
    conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    conn.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")


def read_generation(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
    return int(row[0]) if row else 0


def check_schema(conn: sqlite3.Connection, directory: Path) -> None:
    try:
        row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise IndexFormatError(f"{directory / DATABASE}: damaged SQLite store ({exc})") from None
    if row is None or int(row[0]) != SCHEMA_VERSION:
        raise IndexFormatError(f"{directory / DATABASE}: schema version "
                               f"{row[0] if row else 'missing'}, expected {SCHEMA_VERSION}")


def counts(conn: sqlite3.Connection) -> dict:
    articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    passages = conn.execute("SELECT count(*) FROM passages").fetchone()[0]
    return {"articles": int(articles), "passages": int(passages)}


def vector_path(directory: Path, generation: int) -> Path:
    return directory / f"vectors.{generation}.faiss"


def load_all_vectors(conn: sqlite3.Connection, dimension: int) -> tuple[np.ndarray, np.ndarray]:
    """All (passage ids, vectors) of the store, in id order."""
    rows = conn.execute("SELECT id, vector FROM passages ORDER BY id").fetchall()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    if not rows:
        return ids, np.zeros((0, dimension), np.float32)
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), dimension)
    return ids, vectors


class WriteLock:
    """An exclusive ``flock`` on ``write.lock``; released by the kernel if the process dies."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / LOCK
        self._fd: int | None = None

    def acquire(self, wait_s: float = 0.0) -> None:
        """Take the lock, waiting up to ``wait_s`` seconds for a short-lived holder."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
                os.close(fd)
                raise IndexLockedError(f"{self.path.parent}: another vnsearch process (pid {holder}) "
                                       "is writing to this index; wait for it to finish") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @contextmanager
    def held(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()
