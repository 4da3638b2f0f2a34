"""``IndexDB``: the one owner of ``store.sqlite`` — connection, schema, transactions, writes.

Nothing else in vnsearch runs SQL on the index store: the writer, recovery, the integrity
check, the searcher, the CLI and the evaluation all call methods of this object (the read
queries are in :mod:`indexer.db.reads` and :mod:`indexer.db.story_reads`). The embedding
cache keeps its own database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

from ..article import Article, Passage
from ..errors import IndexFormatError
from ..layout import DATABASE, SCHEMA_VERSION
from ..metadata.keys import metadata_key
from .records import ArticleMetadata, StoredArticle
from .schema import SCHEMA, SCHEMA_2_ADDITIONS, SCHEMA_3_ADDITIONS
from .story_reads import StoryReads

_SCHEMA_1_COLUMNS = ("published_raw TEXT", "source_key TEXT", "origin TEXT")

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


class IndexDB(StoryReads):
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

    def __enter__(self) -> IndexDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ------------------------------------------------------------------------------
    def init_schema(self) -> None:
        """Create the tables of a new index (generation 0)."""
        self.conn.executescript(SCHEMA + SCHEMA_2_ADDITIONS + SCHEMA_3_ADDITIONS)
        self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                          (str(SCHEMA_VERSION),))
        self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")

    def check_schema(self) -> None:
        """Refuse a store of another schema version, or one too damaged to say."""
        try:
            version = self.schema_version()
        except sqlite3.DatabaseError as exc:
            raise IndexFormatError(f"{self.path}: damaged SQLite store ({exc})") from None
        if version is not None and int(version) < SCHEMA_VERSION:
            raise IndexFormatError(
                f"{self.directory}: index written by an older vnsearch (schema {version}); run "
                f"`vnsearch check --upgrade --index {self.directory}` once (keeps a backup, "
                "re-embeds nothing)")
        if version is None or int(version) != SCHEMA_VERSION:
            raise IndexFormatError(f"{self.path}: schema version "
                                   f"{version if version is not None else 'missing'}, "
                                   f"expected {SCHEMA_VERSION}")

    def add_schema_2(self) -> None:
        """Schema 1 → 2 in place (call in a transaction): new columns and tables only; the
        caller then normalises each article's metadata (:mod:`indexer.upgrade`)."""
        have = {r[1] for r in self.conn.execute("PRAGMA table_info(articles)")}
        for column in _SCHEMA_1_COLUMNS:
            if column.split()[0] not in have:
                self.conn.execute(f"ALTER TABLE articles ADD COLUMN {column}")
        self._run_script(SCHEMA_2_ADDITIONS)
        self._set_version(2)

    def add_schema_3(self) -> None:
        """Schema 2 → 3 in place (call in a transaction): the story column and the places
        and story tables; the caller then tags and signs every article
        (:mod:`indexer.upgrade`)."""
        have = {r[1] for r in self.conn.execute("PRAGMA table_info(articles)")}
        if "story_id" not in have:
            self.conn.execute("ALTER TABLE articles ADD COLUMN story_id TEXT")
        self._run_script(SCHEMA_3_ADDITIONS)
        self._set_version(3)

    def _run_script(self, script: str) -> None:
        # executescript would COMMIT the caller's transaction: one statement at a time.
        for statement in script.split(";"):
            if statement.strip():
                self.conn.execute(statement)

    def _set_version(self, version: int) -> None:
        self.conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(version),))

    def backup_to(self, target: Path) -> None:
        """A consistent copy of the store (SQLite's online backup) at ``target``: inside a
        :meth:`read_transaction`, the copy is that transaction's generation, in one step
        (writers go on meanwhile: WAL)."""
        with sqlite3.connect(target) as copy:
            self.conn.backup(copy)
        copy.close()

    # -- maintenance (vnsearch compact) ------------------------------------------------------
    def optimize_fulltext(self) -> None:
        """Merge the full-text index into one segment, which drops the entries FTS5 keeps
        for deleted rows (call in a :meth:`transaction`)."""
        self.conn.execute("INSERT INTO passages_fts(passages_fts) VALUES ('optimize')")

    def vacuum(self) -> bool:
        """Rewrite the store without its free pages, then copy the WAL back and truncate it
        (waiting up to the busy timeout for readers); False when a reader kept it."""
        self.conn.execute("VACUUM")
        busy, _, _ = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return not busy

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

    def article_by_alias(self, external_id: str) -> StoredArticle | None:
        """The stored article known under an input id or a file key (``file:`` prefixed)."""
        row = self.conn.execute(
            "SELECT a.id, a.content_hash FROM external_ids e JOIN articles a "
            "ON a.id=e.article_id WHERE e.external_id=?", (external_id,)).fetchone()
        return StoredArticle(*row) if row else None

    def only_article_from(self, origin: str) -> StoredArticle | None:
        """The one stored article read from file ``origin`` (None when none or several)."""
        rows = self.conn.execute("SELECT id, content_hash FROM articles WHERE origin=? "
                                 "LIMIT 2", (origin,)).fetchall()
        return StoredArticle(*rows[0]) if len(rows) == 1 else None

    def has_file_key(self, article_id: str) -> bool:
        """True when some file key already names the article."""
        return self.conn.execute("SELECT 1 FROM external_ids WHERE article_id=? AND "
                                 "external_id LIKE 'file:%'", (article_id,)).fetchone() is not None

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
        """Store a new article row (with its categories)."""
        self.conn.execute(
            "INSERT INTO articles (id, title, text, url, source, published, category, "
            "content_hash, added_at, updated_at, published_raw, source_key, origin) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (article_id, art.title, art.text, art.url, art.source, art.published,
             art.category, content_hash, now, now, art.published_raw,
             metadata_key(art.source) or None, art.origin))
        self.set_categories(article_id, art.categories)

    def replace_article(self, article_id: str, art: Article, content_hash: str, now: str) -> None:
        """Overwrite a changed article's row (its first URL is kept when ``art`` has none)."""
        self.conn.execute(
            "UPDATE articles SET title=?, text=?, url=COALESCE(?, url), source=?, "
            "published=?, category=?, content_hash=?, updated_at=?, published_raw=?, "
            "source_key=?, origin=COALESCE(?, origin) WHERE id=?",
            (art.title, art.text, art.url, art.source, art.published, art.category,
             content_hash, now, art.published_raw, metadata_key(art.source) or None,
             art.origin, article_id))
        self.set_categories(article_id, art.categories)

    def set_url_if_missing(self, article_id: str, url: str | None) -> None:
        """Give an article without a URL this one."""
        self.conn.execute("UPDATE articles SET url=COALESCE(url, ?) WHERE id=?", (url, article_id))

    def merge_metadata(self, article_id: str, art: Article, now: str) -> bool:
        """Fill/refresh url, source, date, categories and origin from ``art``; True when
        anything a reader sees changed (the origin alone is bookkeeping)."""
        row = self.article_metadata(article_id)
        if row is None:
            return False
        new = row.merged_with(art)
        if art.origin and art.origin != row.origin:
            self.conn.execute("UPDATE articles SET origin=? WHERE id=?", (art.origin, article_id))
        if new == row.without_origin():
            return False
        self.set_metadata(article_id, new, now)
        return True

    def set_metadata(self, article_id: str, meta: ArticleMetadata, now: str | None) -> None:
        """Overwrite an article's metadata (url, outlet, dates, categories)."""
        self.conn.execute(
            "UPDATE articles SET url=?, source=?, source_key=?, published=?, published_raw=?, "
            "category=?, updated_at=COALESCE(?, updated_at) WHERE id=?",
            (meta.url, meta.source, metadata_key(meta.source) or None, meta.published,
             meta.published_raw, "; ".join(meta.categories) or None, now, article_id))
        self.set_categories(article_id, meta.categories)

    def set_categories(self, article_id: str, categories: Iterable[str]) -> None:
        """Replace an article's category rows (one per category, with its filter key)."""
        self.conn.execute("DELETE FROM article_categories WHERE article_id=?", (article_id,))
        self.conn.executemany(
            "INSERT OR IGNORE INTO article_categories (article_id, name, key) VALUES (?,?,?)",
            [(article_id, name, metadata_key(name)) for name in categories if metadata_key(name)])

    # -- tombstones --------------------------------------------------------------------------
    def add_tombstones(self, article_id: str, keys: Iterable[str], now: str) -> None:
        """Remember a deleted article under every key a re-index could bring it back by."""
        self.conn.executemany("INSERT OR REPLACE INTO tombstones (key, article_id, deleted_at) "
                              "VALUES (?,?,?)", [(key, article_id, now) for key in keys if key])

    def remove_tombstones(self, article_id: str) -> None:
        """Forget a deletion (``--force`` re-indexes the article)."""
        self.conn.execute("DELETE FROM tombstones WHERE article_id=?", (article_id,))

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
        self.conn.execute("DELETE FROM article_categories WHERE article_id=?", (article_id,))
        self.clear_regions(article_id)
        self.conn.execute("DELETE FROM articles WHERE id=?", (article_id,))
        return removed

    # -- places and stories (schema 3) -------------------------------------------------------
    def set_places(self, article_id: str, provinces: Iterable[str],
                   provinces_former: Iterable[str]) -> None:
        """Replace an article's province rows: current (post-2025) names and former names."""
        from ..places import province_key  # the gazetteer loads on first use

        self.conn.execute("DELETE FROM article_places WHERE article_id=?", (article_id,))
        rows = [(article_id, name, province_key(name), kind)
                for kind, names in (("current", provinces), ("former", provinces_former))
                for name in names]
        self.conn.executemany("INSERT OR IGNORE INTO article_places (article_id, name, key, "
                              "kind) VALUES (?,?,?,?)", rows)

    def set_story(self, article_id: str, story_id: str, signature: bytes | None,
                  bands: Iterable[bytes]) -> None:
        """Set an article's story, and replace its signature and band keys (none when the
        text is too short to sign: the article then stays a story of its own)."""
        self.conn.execute("UPDATE articles SET story_id=? WHERE id=?", (story_id, article_id))
        self.conn.execute("DELETE FROM story_signatures WHERE article_id=?", (article_id,))
        self.conn.execute("DELETE FROM story_bands WHERE article_id=?", (article_id,))
        if signature is not None:
            self.conn.execute("INSERT INTO story_signatures (article_id, signature) VALUES (?,?)",
                              (article_id, signature))
            self.conn.executemany("INSERT INTO story_bands (band, article_id) VALUES (?,?)",
                                  [(band, article_id) for band in bands])

    def set_story_ids(self, stories: dict[str, str]) -> None:
        """Set the story id of each article of ``stories`` (article id → story id): a
        cluster's story step, which unifies story ids across shards (signatures unchanged)."""
        self.conn.executemany("UPDATE articles SET story_id=? WHERE id=?",
                              [(story, aid) for aid, story in stories.items()])

    def clear_regions(self, article_id: str) -> None:
        """Drop an article's places, signature and band keys (the other articles of its
        story keep their story id)."""
        for table in ("article_places", "story_signatures", "story_bands"):
            self.conn.execute(f"DELETE FROM {table} WHERE article_id=?", (article_id,))

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
        pid = int(cast(int, cur.lastrowid))
        self.conn.execute("INSERT INTO passages_fts (rowid, toned, folded, bigrams) "
                          "VALUES (?,?,?,?)", (pid, *lexical))
        return pid

    def delete_passages(self, ids: Iterable[int]) -> None:
        """Delete passages and their full-text rows."""
        ids = list(ids)
        for pid in ids:
            self.conn.execute("DELETE FROM passages_fts WHERE rowid=?", (pid,))
        self.conn.executemany("DELETE FROM passages WHERE id=?", [(pid,) for pid in ids])
