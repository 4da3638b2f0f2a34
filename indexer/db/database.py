"""``IndexDB``: the one owner of ``store.sqlite`` — connection, schema, transactions, writes.

Nothing else in vnsearch runs SQL on the index store: the writer, recovery, the integrity
check, the searcher, the CLI and the evaluation all call methods of this object (the read
queries are in :mod:`indexer.db.reads`). The embedding cache keeps its own database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..article import Article, Passage
from ..errors import IndexFormatError
from ..layout import DATABASE, SCHEMA_VERSION
from .reads import StoreReads
from .records import StoredArticle

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

_DAMAGED = ("{path}: damaged SQLite store ({exc}); restore it from a backup or `vnsearch export` "
            "an older copy — vnsearch will not overwrite it")


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    """Open the store database (WAL for writers, foreign keys on, full sync)."""
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
        raise IndexFormatError(_DAMAGED.format(path=path, exc=exc)) from None
    return conn


class IndexDB(StoreReads):
    """One connection to an index directory's ``store.sqlite`` and every statement on it.

    ``readonly`` connections (searchers, check, export) never write; a writable one is
    opened only by the holder of the write lock (or by recovery under it).
    """

    def __init__(self, directory: Path, *, readonly: bool = False) -> None:
        self.directory = Path(directory)
        self.path = self.directory / DATABASE
        self.readonly = readonly
        self.conn = _connect(self.path, readonly)
        self._vocab_ready = False

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> "IndexDB":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ------------------------------------------------------------------------------
    def init_schema(self) -> None:
        """Create the tables of a new index (generation 0)."""
        self.conn.executescript(SCHEMA)
        self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                          (str(SCHEMA_VERSION),))
        self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")

    def check_schema(self) -> None:
        """Refuse a store of another schema version, or one too damaged to say."""
        try:
            version = self.schema_version()
        except sqlite3.DatabaseError as exc:
            raise IndexFormatError(f"{self.path}: damaged SQLite store ({exc})") from None
        if version is None or int(version) != SCHEMA_VERSION:
            raise IndexFormatError(f"{self.path}: schema version "
                                   f"{version if version is not None else 'missing'}, "
                                   f"expected {SCHEMA_VERSION}")

    # -- transactions ------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write batch = one SQLite transaction: all of it commits or none of it."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    @contextmanager
    def read_transaction(self) -> Iterator[None]:
        """Several reads from one committed generation."""
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    def bump_generation(self) -> None:
        """Mark a committed change (readers reload when the generation moves)."""
        self.conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
                          "WHERE key='generation'")

    # -- identity of incoming articles -------------------------------------------------------
    def article_by_url(self, url: str) -> StoredArticle | None:
        """The stored article reachable under ``url``."""
        row = self.conn.execute(
            "SELECT a.id, a.content_hash FROM article_urls u JOIN articles a ON a.id=u.article_id "
            "WHERE u.url=?", (url,)).fetchone()
        return StoredArticle(*row) if row else None

    def article_by_hash(self, content_hash: str) -> StoredArticle | None:
        """A stored article with exactly this content."""
        row = self.conn.execute("SELECT id, content_hash FROM articles WHERE content_hash=? "
                                "LIMIT 1", (content_hash,)).fetchone()
        return StoredArticle(*row) if row else None

    def content_hash_of(self, article_id: str) -> str | None:
        """The content hash of article ``article_id``, None when it is not stored."""
        row = self.conn.execute("SELECT content_hash FROM articles WHERE id=?",
                                (article_id,)).fetchone()
        return row[0] if row else None

    def url_known(self, url: str) -> bool:
        """True when some article already has ``url``."""
        return self.conn.execute("SELECT 1 FROM article_urls WHERE url=?",
                                 (url,)).fetchone() is not None

    # -- article writes ----------------------------------------------------------------------
    def insert_article(self, article_id: str, art: Article, content_hash: str, now: str) -> None:
        """Store a new article row."""
        self.conn.execute(
            "INSERT INTO articles (id, title, text, url, source, published, category, "
            "content_hash, added_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (article_id, art.title, art.text, art.url, art.source, art.published,
             art.category, content_hash, now, now))

    def replace_article(self, article_id: str, art: Article, content_hash: str, now: str) -> None:
        """Overwrite a changed article's row (its first URL is kept when ``art`` has none)."""
        self.conn.execute(
            "UPDATE articles SET title=?, text=?, url=COALESCE(?, url), source=?, "
            "published=?, category=?, content_hash=?, updated_at=? WHERE id=?",
            (art.title, art.text, art.url, art.source, art.published, art.category,
             content_hash, now, article_id))

    def set_url_if_missing(self, article_id: str, url: str | None) -> None:
        """Give an article without a URL this one."""
        self.conn.execute("UPDATE articles SET url=COALESCE(url, ?) WHERE id=?", (url, article_id))

    def merge_metadata(self, article_id: str, art: Article, now: str) -> bool:
        """Fill/refresh url, source, date, category from ``art``; True when anything changed."""
        row = self.conn.execute("SELECT url, source, published, category FROM articles "
                                "WHERE id=?", (article_id,)).fetchone()
        if row is None:
            return False
        url, source, published, category = row
        new = (url or art.url, art.source or source, art.published or published,
               art.category or category)
        if new == tuple(row):
            return False
        self.conn.execute("UPDATE articles SET url=?, source=?, published=?, category=?, "
                          "updated_at=? WHERE id=?", (*new, now, article_id))
        return True

    def add_aliases(self, article_id: str, url: str | None, external_id: str | None) -> None:
        """Record another URL and/or input id under which the article is known."""
        if url:
            self.conn.execute("INSERT OR IGNORE INTO article_urls (url, article_id) VALUES (?, ?)",
                              (url, article_id))
        if external_id:
            self.conn.execute("INSERT OR IGNORE INTO external_ids (external_id, article_id) "
                              "VALUES (?, ?)", (external_id, article_id))

    def delete_article(self, article_id: str) -> list[int]:
        """Delete an article, its aliases and passages; returns the removed passage ids."""
        removed = self.passage_ids_of(article_id)
        self.delete_passages(removed)
        self.conn.execute("DELETE FROM article_urls WHERE article_id=?", (article_id,))
        self.conn.execute("DELETE FROM external_ids WHERE article_id=?", (article_id,))
        self.conn.execute("DELETE FROM articles WHERE id=?", (article_id,))
        return removed

    # -- passage writes ----------------------------------------------------------------------
    def passage_ids_of(self, article_id: str) -> list[int]:
        """The passage ids of one article."""
        return [r[0] for r in self.conn.execute("SELECT id FROM passages WHERE article_id=?",
                                                (article_id,))]

    def insert_passage(self, article_id: str, passage: Passage, vector: bytes,
                       lexical: tuple[str, str, str]) -> int:
        """Store a passage with its vector and its (toned, folded, bigrams) full-text row."""
        cur = self.conn.execute(
            "INSERT INTO passages (article_id, ordinal, start, end, text, vector) "
            "VALUES (?,?,?,?,?,?)",
            (article_id, passage.ordinal, passage.start, passage.end, passage.text, vector))
        pid = int(cur.lastrowid)
        self.conn.execute("INSERT INTO passages_fts (rowid, toned, folded, bigrams) "
                          "VALUES (?,?,?,?)", (pid, *lexical))
        return pid

    def delete_passages(self, ids: Iterable[int]) -> None:
        """Delete passages and their full-text rows."""
        ids = list(ids)
        for pid in ids:
            self.conn.execute("DELETE FROM passages_fts WHERE rowid=?", (pid,))
        self.conn.executemany("DELETE FROM passages WHERE id=?", [(pid,) for pid in ids])
