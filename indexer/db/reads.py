"""The read queries of the index store (mixed into :class:`~indexer.db.database.IndexDB`).

Every SELECT of ``store.sqlite`` lives here; the write statements live in ``database.py``.
Query text never reaches SQL: FTS5 MATCH expressions and values are bound parameters.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .records import (
    ArticleMeta,
    ArticleMetadata,
    ArticleRecord,
    ArticleRegions,
    ArticleText,
    FtsRow,
    IntegrityReport,
    MetadataFilter,
    PassageRow,
    PassageSpan,
    StoryCandidate,
    StoryMember,
    split_stored_categories,
)

# The columns of an ``ArticleRecord`` (before its URLs and passages), in order.
_ARTICLE_COLUMNS = "id, title, text, url, source, published, category, published_raw"
# SQLite's default limit on bound parameters is 999 in old builds: stay well below it.
IN_CHUNK = 500
FACET_LIMIT = 200
# SQL twin of ``records.ArticleMeta.day``: ``published`` starts with a YYYY-MM-DD date.
DATED_SQL = "coalesce(a.published, '') GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'"


def filter_sql(filt: MetadataFilter) -> tuple[str, list[Any]]:
    """A WHERE fragment over ``articles a`` for ``filt``, with its parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    if filt.source:
        clauses.append("a.source_key = ?")
        params.append(filt.source_key)
    if filt.category:
        clauses.append("EXISTS (SELECT 1 FROM article_categories c WHERE c.article_id = a.id "
                       "AND c.key = ?)")
        params.append(filt.category_key)
    if filt.province_key:
        clauses.append("EXISTS (SELECT 1 FROM article_places pl WHERE pl.article_id = a.id "
                       "AND pl.key = ? AND pl.kind = ?)")
        params += [filt.province_key, filt.province_kind]
    dates: list[str] = []
    if filt.date_from:
        dates.append("substr(a.published, 1, 10) >= ?")
        params.append(filt.date_from)
    if filt.date_to:
        dates.append("substr(a.published, 1, 10) <= ?")
        params.append(filt.date_to)
    if dates:
        # A range admits dated articles only ('' <= date_to would let empty dates in);
        # with keep_undated, undated ones pass too and the searcher counts and drops them.
        in_range = " AND ".join([DATED_SQL, *dates])
        clauses.append(f"(NOT {DATED_SQL} OR ({in_range}))" if filt.keep_undated
                       else in_range)
    return " AND ".join(clauses), params


class StoreReads:
    """SELECTs over one connection (``self.conn``); the owner is :class:`IndexDB`."""

    conn: sqlite3.Connection
    _vocab_ready: bool = False

    def _in_chunks(self, sql: str, ids: Sequence[Any], *params: Any) -> Iterator[tuple]:
        """Rows of ``sql`` (one ``{marks}`` placeholder) for ``ids``, in bounded chunks."""
        for start in range(0, len(ids), IN_CHUNK):
            chunk = list(ids[start:start + IN_CHUNK])
            marks = ",".join("?" * len(chunk))
            yield from self.conn.execute(sql.format(marks=marks), [*params, *chunk])

    # -- state -------------------------------------------------------------------------------
    def generation(self) -> int:
        """The store's generation counter (bumped by every committed write)."""
        row = self.conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    def schema_version(self) -> str | None:
        """The stored schema version, or None when the meta row is missing."""
        row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return row[0] if row else None

    def counts(self) -> dict[str, int]:
        """``{"articles": n, "passages": n}`` (the manifest's ``counts``)."""
        articles = self.conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        passages = self.conn.execute("SELECT count(*) FROM passages").fetchone()[0]
        return {"articles": int(articles), "passages": int(passages)}

    def source_count(self) -> int:
        """Distinct outlets."""
        return int(self.conn.execute("SELECT count(DISTINCT source) FROM articles").fetchone()[0])

    def url_count(self) -> int:
        """Known article URLs (syndicated copies included)."""
        return int(self.conn.execute("SELECT count(*) FROM article_urls").fetchone()[0])

    def load_all_vectors(self, dimension: int, after: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """All (passage ids, vectors) of the store, in id order; ``after``: only the passages
        whose id is above it (ids only grow: the rows added since a vector segment)."""
        rows = self.conn.execute("SELECT id, vector FROM passages WHERE id > ? ORDER BY id",
                                 (after,)).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        if not rows:
            return ids, np.zeros((0, dimension), np.float32)
        blob = b"".join(r[1] for r in rows)
        return ids, np.frombuffer(blob, dtype=np.float32).reshape(len(rows), dimension)

    # -- identity ----------------------------------------------------------------------------
    def resolve_key(self, key: str) -> str | None:
        """Article id for an id, a URL or an input (external) id."""
        for sql in ("SELECT id FROM articles WHERE id=?",
                    "SELECT article_id FROM article_urls WHERE url=?",
                    "SELECT article_id FROM external_ids WHERE external_id=?"):
            row = self.conn.execute(sql, (key,)).fetchone()
            if row:
                return row[0]
        return None

    def external_ids(self) -> dict[str, str]:
        """Input (external) id → article id, for every alias."""
        return dict(self.conn.execute("SELECT external_id, article_id FROM external_ids"))

    # -- search support ----------------------------------------------------------------------
    def article_ids(self, ids: Sequence[int]) -> dict[int, str]:
        """Passage id → article id for the passages among ``ids`` that still exist."""
        return dict(self._in_chunks(
            "SELECT id, article_id FROM passages WHERE id IN ({marks})", ids))

    def passage_articles(self) -> dict[int, str]:
        """Passage id → article id for every passage."""
        return dict(self.conn.execute("SELECT id, article_id FROM passages"))

    def passage_rows(self, ids: Sequence[int]) -> dict[int, PassageRow]:
        """The passages among ``ids`` that exist, with their article's metadata."""
        sql = ("SELECT p.id, p.article_id, p.text, p.start, p.end, a.title, a.url, a.source, "
               "a.published, a.category, p.ordinal FROM passages p "
               "JOIN articles a ON a.id = p.article_id "
               "WHERE p.id IN ({marks})")
        return {row[0]: PassageRow(*row) for row in self._in_chunks(sql, ids)}

    def filtered_passage_ids(self, filt: MetadataFilter) -> np.ndarray | None:
        """Passage ids whose article passes ``filt``; None when nothing is filtered."""
        where, params = filter_sql(filt)
        if not where:
            return None
        rows = self.conn.execute(
            f"SELECT p.id FROM passages p JOIN articles a ON a.id = p.article_id WHERE {where}",
            params).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def fts_search(self, match: str, filt: MetadataFilter, n: int,
                   weights: Sequence[float] | None = None) -> list[tuple[int, float]]:
        """Best ``n`` (passage id, BM25 score) for an FTS5 MATCH expression, filtered.

        ``weights``: bm25()'s per-column weights in the table's column order (default 1).
        """
        where, params = filter_sql(filt)
        # bm25() takes its column weights as arguments after the table name.
        ws = [float(w) for w in weights or ()]
        bm25 = "bm25(passages_fts" + ", ?" * len(ws) + ")"
        if where:
            sql = (f"SELECT f.rowid, -{bm25} AS s FROM passages_fts f "
                   "JOIN passages p ON p.id = f.rowid JOIN articles a ON a.id = p.article_id "
                   f"WHERE passages_fts MATCH ? AND {where} ORDER BY {bm25} "
                   "LIMIT ?")
            rows = self.conn.execute(sql, [*ws, match, *params, *ws, n]).fetchall()
        else:
            rows = self.conn.execute(
                f"SELECT rowid, -{bm25} FROM passages_fts "
                f"WHERE passages_fts MATCH ? ORDER BY {bm25} LIMIT ?",
                (*ws, match, *ws, n)).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def fts_doc_freq(self, column: str, term: str) -> int:
        """Passages holding ``term`` in the full-text ``column`` (fts5vocab 'col' ``doc``)."""
        if not self._vocab_ready:
            # A temp table belongs to this connection only: create it once per connection.
            self.conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.passages_vocab "
                              "USING fts5vocab(main, passages_fts, 'col')")
            self._vocab_ready = True
        row = self.conn.execute("SELECT doc FROM temp.passages_vocab WHERE col = ? AND term = ?",
                                (column, term)).fetchone()
        return int(row[0]) if row else 0

    def fts_doc_freqs(self, column: str, terms: Sequence[str]) -> list[int]:
        """:meth:`fts_doc_freq` of each of ``terms``, in order."""
        return [self.fts_doc_freq(column, term) for term in terms]

    def toned_texts(self, ids: Sequence[int]) -> list[str]:
        """The tone-kept lexical column of the passages among ``ids``, in ``ids`` order (tone
        restoration breaks ties by it; a set of shards gives the same order)."""
        found = dict(self._in_chunks(
            "SELECT rowid, toned FROM passages_fts WHERE rowid IN ({marks})", ids))
        return [found[i] for i in ids if i in found]

    def iter_fts_rows(self, after: int = 0) -> Iterator[FtsRow]:
        """Every full-text row with a rowid above ``after``, by rowid (the lexical matrix is
        built from these; passage ids only grow, so ``after`` selects the newer passages)."""
        cursor = self.conn.execute("SELECT rowid, toned, folded, bigrams FROM passages_fts "
                                   "WHERE rowid > ? ORDER BY rowid", (after,))
        return map(FtsRow._make, cursor)

    def passage_id_array(self) -> np.ndarray:
        """Every passage id, ascending, as int64."""
        cursor = self.conn.execute("SELECT id FROM passages ORDER BY id")
        return np.fromiter((r[0] for r in cursor), dtype=np.int64)

    # -- articles ----------------------------------------------------------------------------
    def article(self, article_id: str, with_text: bool = False) -> ArticleRecord | None:
        """A whole article with URLs and passage spans (passage text when ``with_text``)."""
        row = self.conn.execute(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id = ?",
                                (article_id,)).fetchone()
        if row is None:
            return None
        return self._article_record(row, with_text)

    def _article_record(self, row: tuple, with_text: bool) -> ArticleRecord:
        urls = [r[0] for r in self.conn.execute(
            "SELECT url FROM article_urls WHERE article_id=? ORDER BY url", (row[0],))]
        # row: the columns of _ARTICLE_COLUMNS, the fields before urls and passages
        return ArticleRecord(*row, urls=urls,  # type: ignore[misc]
                             passages=self.passage_spans(row[0], with_text))

    def passage_spans(self, article_id: str, with_text: bool = False) -> list[PassageSpan]:
        """The passages of one article, in order."""
        rows = self.conn.execute("SELECT id, ordinal, start, end, text FROM passages "
                                 "WHERE article_id=? ORDER BY ordinal", (article_id,))
        return [PassageSpan(r[0], r[1], r[2], r[3], r[4] if with_text else "") for r in rows]

    def article_text(self, article_id: str) -> str | None:
        """The cleaned text of one article."""
        row = self.conn.execute("SELECT text FROM articles WHERE id=?", (article_id,)).fetchone()
        return row[0] if row else None

    def iter_articles(self) -> Iterator[ArticleRecord]:
        """Every article in insertion order with URLs and passage texts (``vnsearch export``).

        Call inside :meth:`IndexDB.read_transaction` for one consistent generation.
        """
        rows = self.conn.execute(f"SELECT {_ARTICLE_COLUMNS} FROM articles "
                                 "ORDER BY added_at, id").fetchall()
        for row in rows:
            yield self._article_record(row, with_text=True)

    def facets(self) -> dict[str, list[str]]:
        """Distinct outlets and categories (each once, by its filter key), most frequent
        first, ties by name (at most 200 each)."""
        return {key: [name for name, _ in pairs[:FACET_LIMIT]]
                for key, pairs in self.facet_counts().items() if key != "provinces"}

    def province_counts(self) -> list[tuple[str, int]]:
        """Every current province with its article count, most frequent first."""
        return self.facet_counts()["provinces"]

    def facet_counts(self) -> dict[str, list[tuple[str, int]]]:
        """Every outlet and category with its article count, most frequent first."""
        sources = self.conn.execute(
            "SELECT min(source), count(*) FROM articles WHERE source_key IS NOT NULL "
            "GROUP BY source_key ORDER BY count(*) DESC, min(source)")
        categories = self.conn.execute(
            "SELECT min(name), count(*) FROM article_categories GROUP BY key "
            "ORDER BY count(*) DESC, min(name)")
        provinces = self.conn.execute(
            "SELECT min(name), count(*) FROM article_places WHERE kind = 'current' "
            "GROUP BY key ORDER BY count(*) DESC, min(name)")
        return {"sources": [(r[0], int(r[1])) for r in sources],
                "categories": [(r[0], int(r[1])) for r in categories],
                "provinces": [(r[0], int(r[1])) for r in provinces]}

    # -- metadata, provenance, tombstones (writer, ``--sync``, upgrade) -----------------------
    def article_metadata(self, article_id: str) -> ArticleMetadata | None:
        """An article's url, outlet, dates, categories and origin file."""
        row = self.conn.execute("SELECT url, source, published, published_raw, category, origin "
                                "FROM articles WHERE id=?", (article_id,)).fetchone()
        if row is None:
            return None
        url, source, published, raw, category, origin = row
        return ArticleMetadata(url, source, published, raw, split_stored_categories(category),
                               origin)

    def iter_metadata(self) -> Iterator[tuple[str, ArticleMetadata]]:
        """(article id, metadata) of every article (the schema upgrade re-normalises them)."""
        rows = self.conn.execute("SELECT id, url, source, published, published_raw, category, "
                                 "origin FROM articles ORDER BY id").fetchall()
        for aid, url, source, published, raw, category, origin in rows:
            # Schema 1 stored the raw category; the upgrade splits it again.
            yield aid, ArticleMetadata(url, source, published, raw,
                                       (category,) if category else (), origin)

    def origins(self) -> dict[str, list[str]]:
        """Origin file → the ids of the articles last read from it."""
        out: dict[str, list[str]] = {}
        for aid, origin in self.conn.execute("SELECT id, origin FROM articles "
                                             "WHERE origin IS NOT NULL"):
            out.setdefault(origin, []).append(aid)
        return out

    def article_keys(self, article_id: str) -> list[str]:
        """Every key a re-index could bring an article back by: id, URLs, input ids and
        content hash (``hash:`` prefixed)."""
        keys = [article_id]
        keys += [r[0] for r in self.conn.execute(
            "SELECT url FROM article_urls WHERE article_id=?", (article_id,))]
        keys += [r[0] for r in self.conn.execute(
            "SELECT external_id FROM external_ids WHERE article_id=?", (article_id,))]
        row = self.conn.execute("SELECT content_hash FROM articles WHERE id=?",
                                (article_id,)).fetchone()
        return keys + ([f"hash:{row[0]}"] if row else [])

    def tombstoned(self, keys: Sequence[str]) -> str | None:
        """The deleted article id remembered under any of ``keys``, or None."""
        for key in keys:
            row = self.conn.execute("SELECT article_id FROM tombstones WHERE key=?",
                                    (key,)).fetchone()
            if row:
                return row[0]
        return None

    def unparsed_date_count(self) -> int:
        """Articles whose input date could not be parsed (kept as ``published_raw``)."""
        return int(self.conn.execute(
            "SELECT count(*) FROM articles WHERE published_raw IS NOT NULL").fetchone()[0])

    def tombstone_count(self) -> int:
        """Deleted articles remembered (not brought back by a re-index)."""
        return int(self.conn.execute(
            "SELECT count(DISTINCT article_id) FROM tombstones").fetchone()[0])

    # -- integrity ---------------------------------------------------------------------------
    def quick_check(self) -> str:
        """SQLite's ``PRAGMA quick_check`` verdict ("ok" when sound)."""
        return self.conn.execute("PRAGMA quick_check").fetchone()[0]

    def integrity(self, dimension: int) -> IntegrityReport:
        """Cross-table consistency facts (call inside a read transaction)."""
        one = lambda sql, *p: self.conn.execute(sql, p).fetchone()[0]  # noqa: E731
        return IntegrityReport(
            passage_ids={r[0] for r in self.conn.execute("SELECT id FROM passages")},
            fts_ids={r[0] for r in self.conn.execute("SELECT rowid FROM passages_fts")},
            bad_vectors=one("SELECT count(*) FROM passages WHERE length(vector) != ?",
                            4 * dimension),
            orphans=one("SELECT count(*) FROM passages p LEFT JOIN articles a "
                        "ON a.id = p.article_id WHERE a.id IS NULL"),
            empty_articles=one("SELECT count(*) FROM articles a WHERE NOT EXISTS "
                               "(SELECT 1 FROM passages p WHERE p.article_id = a.id)"))

    # -- result-set metadata (sorts, counts, undated under a date filter) --------------------
    def article_meta(self, article_ids: Sequence[str]) -> dict[str, ArticleMeta]:
        """Outlet, category and date of the articles among ``article_ids`` that exist."""
        sql = "SELECT id, source, category, published FROM articles WHERE id IN ({marks})"
        return {row[0]: ArticleMeta(*row) for row in self._in_chunks(sql, list(article_ids))}

    def has_undated(self, filt: MetadataFilter) -> bool:
        """True when some article without a usable date passes ``filt``'s outlet and
        category (its dates ignored): only then can a date filter leave one out."""
        where, params = filter_sql(MetadataFilter(
            source=filt.source, category=filt.category, province_key=filt.province_key,
            province_kind=filt.province_kind))
        sql = f"SELECT 1 FROM articles a WHERE NOT {DATED_SQL}"
        sql = f"{sql} AND {where} LIMIT 1" if where else f"{sql} LIMIT 1"
        return self.conn.execute(sql, params).fetchone() is not None

    # -- relevance features (search_api/retrieval/relevance.py) ------------------------------
    def relevance_rows(self, ids: Sequence[int],
                       vectors: bool = True) -> dict[int, tuple[str, str, str, bytes, int]]:
        """Passage id → (toned, folded, bigrams lexical columns, float32 vector bytes, the
        passage's ordinal in its article) for the ``ids`` that exist; ``vectors`` False
        gives empty bytes instead (a lexical search has no query vector to compare)."""
        vector = "p.vector" if vectors else "x''"
        sql = (f"SELECT p.id, f.toned, f.folded, f.bigrams, {vector}, p.ordinal FROM passages p "
               "JOIN passages_fts f ON f.rowid = p.id WHERE p.id IN ({marks})")
        return {row[0]: row[1:] for row in self._in_chunks(sql, list(ids))}

    # -- query operators ---------------------------------------------------------------------
    # The MATCH runs once as a subquery (FTS5 answers it from its index); "rowid IN (…) AND
    # MATCH" would instead re-run the MATCH for every listed rowid.
    def passages_matching(self, match: str, ids: Sequence[int]) -> set[int]:
        """The passages among ``ids`` whose full-text row (title + passage) matches the FTS5
        expression ``match`` (phrase operators)."""
        return {r[0] for r in self._in_chunks(
            "SELECT id FROM passages WHERE id IN (SELECT rowid FROM passages_fts WHERE "
            "passages_fts MATCH ?) AND id IN ({marks})", list(ids), match)}

    def articles_matching(self, match: str, article_ids: Sequence[str]) -> set[str]:
        """The articles among ``article_ids`` with a passage whose full-text row (title
        included) matches the FTS5 expression ``match`` (exclusion operators)."""
        return {r[0] for r in self._in_chunks(
            "SELECT DISTINCT article_id FROM passages WHERE id IN (SELECT rowid FROM "
            "passages_fts WHERE passages_fts MATCH ?) AND article_id IN ({marks})",
            list(article_ids), match)}

    # -- places and stories (schema 3) -------------------------------------------------------
    def article_regions(self, article_ids: Sequence[str],
                        with_places: bool = True) -> dict[str, ArticleRegions]:
        """Story id and provinces (current, former; by name) of the articles among
        ``article_ids`` that exist (the story alone unless ``with_places``: grouping)."""
        ids = list(dict.fromkeys(article_ids))
        stories = dict(self._in_chunks(
            "SELECT id, coalesce(story_id, id) FROM articles WHERE id IN ({marks})", ids))
        places: dict[tuple[str, str], list[str]] = {}
        for aid, kind, name in [] if not with_places else self._in_chunks(
                "SELECT article_id, kind, name FROM article_places WHERE article_id IN ({marks}) "
                "ORDER BY article_id, kind, name", ids):
            places.setdefault((aid, kind), []).append(name)
        return {aid: ArticleRegions(aid, story, tuple(places.get((aid, "current"), ())),
                                    tuple(places.get((aid, "former"), ())))
                for aid, story in stories.items()}

    def story_candidates(self, bands: Sequence[bytes]) -> list[StoryCandidate]:
        """The stored articles sharing at least one LSH band key with ``bands``."""
        sql = ("SELECT DISTINCT s.article_id, coalesce(a.story_id, a.id), s.signature, a.source "
               "FROM story_bands b JOIN story_signatures s ON s.article_id = b.article_id "
               "JOIN articles a ON a.id = b.article_id WHERE b.band IN ({marks})")
        return [StoryCandidate(*row) for row in self._in_chunks(sql, list(bands))]

    def story_members(self, story_ids: Sequence[str]) -> dict[str, list[StoryMember]]:
        """Story id → its articles (outlet, URL, date), newest first, undated last."""
        out: dict[str, list[StoryMember]] = {}
        sql = ("SELECT id, story_id, source, url, published FROM articles "
               "WHERE story_id IN ({marks}) ORDER BY published IS NULL, published DESC, id")
        for row in self._in_chunks(sql, list(dict.fromkeys(story_ids))):
            out.setdefault(row[1], []).append(StoryMember(*row))
        return out

    def region_counts(self) -> dict[str, int]:
        """Articles tagged with a province, and stories of more than one article."""
        tagged = self.conn.execute("SELECT count(DISTINCT article_id) FROM article_places "
                                   "WHERE kind = 'current'").fetchone()[0]
        stories = self.conn.execute("SELECT count(*) FROM (SELECT story_id FROM articles "
                                    "GROUP BY story_id HAVING count(*) > 1)").fetchone()[0]
        return {"articles_with_provinces": int(tagged), "stories_shared": int(stories)}

    def iter_article_texts(self) -> Iterator[ArticleText]:
        """Title, cleaned text and outlet of every article in insertion order (the schema
        upgrade tags and signs them in the order they were indexed)."""
        rows = self.conn.execute("SELECT id, title, text, source FROM articles "
                                 "ORDER BY added_at, rowid").fetchall()
        return (ArticleText(*row) for row in rows)
