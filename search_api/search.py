"""Hybrid Vietnamese retrieval over an index directory: dense + lexical, fused, filtered.

* dense: FAISS inner product of the query vector (E5 ``query:`` prompt) with passages;
* lexical: SQLite FTS5 BM25 over syllable tokens. Every passage has a tone-kept column
  and a tone-folded column (đ→d). A query typed without tones searches the folded column
  only; a query with tones searches both, so exact-tone matches score above mere folded
  matches ("án" vs "an");
* fusion: weighted sum of the min-max normalised scores of both candidate lists;
* filters (source, category, date range) are applied inside both searches (FAISS id
  selector, SQL join), so a filtered query still fills k results when k passages match.

Query text only ever reaches FTS5 as double-quoted syllable tokens, and SQL as bound
parameters.
"""

from __future__ import annotations

import html
import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np

from indexer import store
from indexer.cleaning import normalize_unicode
from indexer.encoders import Encoder
from indexer.errors import NotFoundError, QueryError
from indexer.settings import Settings
from indexer.snapshot import Snapshot, open_snapshot
from indexer.vietnamese import fold, has_tones, syllable_bigrams, token_spans, tokenize

from .lexical_matrix import LexicalMatrix, LexicalQuery

logger = logging.getLogger("vnsearch.search")

MODES = ("hybrid", "dense", "lexical")
# Question words and function words dropped from the lexical unigrams of a query (bigrams
# keep them): +0.010 lexical nDCG@10 on vinewsqa-dev (0.841 → 0.851).
QUERY_STOPWORDS = frozenset(
    "gì nào ai đâu sao bao nhiêu như thế là có được của và các những trong cho với không "
    "thì mà này đó khi nên vì".split())

MAX_QUERY_TOKENS = 64


@dataclass
class SearchRequest:
    """One search; validated by :meth:`Searcher.validate`."""

    query: str
    k: int = 10
    offset: int = 0
    mode: str = "hybrid"
    source: str | None = None
    category: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    group: bool = True


@dataclass
class Hit:
    """One result: a passage and its article."""

    rank: int
    score: float
    passage_id: int
    text: str
    highlighted: str
    start: int
    end: int
    article_id: str
    title: str | None
    url: str | None
    source: str | None
    published: str | None
    category: str | None
    other_matches: int = 0
    urls: list[str] = field(default_factory=list)


@dataclass
class SearchResult:
    """The answer to a :class:`SearchRequest`."""

    query: str
    mode: str
    took_ms: float
    total: int
    results: list[Hit]


@dataclass
class ArticleView:
    """A whole cleaned article with its passages' offsets."""

    id: str
    title: str | None
    text: str
    url: str | None
    urls: list[str]
    source: str | None
    published: str | None
    category: str | None
    passages: list[dict]


def normalize_query(text: str) -> str:
    return " ".join(normalize_unicode(text).split())


def _parse_date(value: str | None, name: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise QueryError(f"{name}: not an ISO date (YYYY-MM-DD): {value!r}", field=name) from None


def lexical_query(query: str,
                  too_common: Callable[[str, str], bool] | None = None) -> LexicalQuery | None:
    """The lexical terms of ``query``: syllables only, never raw user syntax.

    Folded syllables and folded syllable bigrams always; tone-kept syllables too when the
    query carries tones, so exact-tone matches add score on top of folded ones.
    """
    all_tokens = tokenize(query)[:MAX_QUERY_TOKENS]
    if not all_tokens:
        return None
    # Only a toned query can tell "thì" (then) from "thi" (exam): toneless keeps all words.
    stop = QUERY_STOPWORDS if has_tones(query) else frozenset()
    tokens = list(dict.fromkeys(t for t in all_tokens if t not in stop)) \
        or list(dict.fromkeys(all_tokens))
    folded = list(dict.fromkeys(fold(t) for t in tokens))
    bigrams = list(dict.fromkeys(syllable_bigrams([fold(t) for t in all_tokens])))
    if too_common is not None:
        # Syllables in a large share of passages add little BM25 score but long posting
        # lists; their bigrams stay. vinewsqa-dev + 6,750 distractors (17k passages), lexical:
        # max df 1.0 / 0.2 / 0.1 / 0.05 → nDCG@10 0.772 / 0.772 / 0.765 / 0.761 at
        # 35 / 26 / 14 / 10 ms a query (FTS5). Default 0.2: no quality cost.
        folded = [t for t in folded if not too_common("folded", t)] or folded
        tokens = [t for t in tokens if not too_common("toned", t)] or tokens
    return LexicalQuery(folded=folded, toned=tokens if has_tones(query) else [],
                        bigrams=bigrams)


def fts_query(query: str, too_common: Callable[[str, str], bool] | None = None) -> str | None:
    """FTS5 MATCH expression for ``query``: an OR of quoted terms, one group per column."""
    terms = lexical_query(query, too_common)
    return None if terms is None else fts_expression(terms)


def fts_expression(terms: LexicalQuery) -> str:
    """``terms`` as an FTS5 MATCH expression (every term quoted)."""
    quote = lambda t: '"' + t.replace('"', '""') + '"'
    parts = ["folded : (" + " OR ".join(quote(t) for t in terms.folded) + ")"]
    if terms.toned:
        parts.append("toned : (" + " OR ".join(quote(t) for t in terms.toned) + ")")
    if terms.bigrams:
        parts.append("bigrams : (" + " OR ".join(quote(t) for t in terms.bigrams) + ")")
    return " OR ".join(parts)


@lru_cache(maxsize=1 << 16)
def _fold_token(token: str) -> str:
    # Highlighting folds every token of every hit: the vocabulary is small, cache it.
    return fold(token)


def highlight(text: str, query: str) -> str:
    """HTML-escaped ``text`` with the query's words (tone-insensitive) in ``<mark>``."""
    wanted = {_fold_token(t) for t in tokenize(query)}
    out: list[str] = []
    pos = 0
    for start, end in token_spans(text):
        if _fold_token(text[start:end]) in wanted:
            out.append(html.escape(text[pos:start]))
            out.append("<mark>" + html.escape(text[start:end]) + "</mark>")
            pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)


class QueryVectorCache:
    """A small thread-safe LRU of query vectors (repeated queries skip the encoder)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: str, value: np.ndarray) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


class Searcher:
    """Answers searches on one index directory; reloads when a writer commits."""

    def __init__(self, directory: Path, settings: Settings, encoder: Encoder,
                 lexical_matrix: bool = True) -> None:
        """Open ``directory`` for searching.

        ``lexical_matrix``: keep an in-memory BM25 matrix of indexes with at least
        ``settings.lexical_matrix_min_passages`` passages, built by a background thread on
        open and after every write (FTS5 answers until it is ready). False for one-shot use
        (the CLI's ``query``), where building it would cost more than one FTS5 query.
        """
        self.directory = Path(directory)
        self.settings = settings
        self.encoder = encoder
        self._snapshot = open_snapshot(self.directory, encoder.info.model_id)
        self._swap_lock = threading.Lock()
        self._local = threading.local()
        self._last_check = time.monotonic()
        self.query_cache = QueryVectorCache(settings.query_cache_size)
        # One encode at a time: concurrent encodes each spin up torch's threads and thrash
        # the cores (bench/query.py: 32 clients got 2x the throughput of 1, at 16x latency).
        self._encode_lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending: dict[str, Future] = {}
        self.started = time.time()
        import faiss

        # A single query over a flat index is a few ms of work; OpenMP thread start-up cost
        # more than that (24 ms vs 0.1 ms at 2,000 vectors, measured).
        faiss.omp_set_num_threads(1)
        self._matrix: LexicalMatrix | None = None
        self._matrix_failed: int | None = None  # generation whose build raised
        self._matrix_ready = threading.Condition()
        self._matrix_wanted = threading.Event()
        self._closed = False
        self._matrix_thread: threading.Thread | None = None
        if lexical_matrix:
            self._matrix_wanted.set()
            self._matrix_thread = threading.Thread(target=self._matrix_loop, daemon=True,
                                                   name="vnsearch-lexical-matrix")
            self._matrix_thread.start()

    # -- snapshot management --------------------------------------------------------------
    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def _conn(self):
        """A read-only SQLite connection for the calling thread."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = store.connect(self.directory, readonly=True)
            self._local.conn = conn
        return conn

    def maybe_reload(self, min_interval_s: float = 1.0) -> bool:
        """Swap in a new snapshot when the store's generation moved (at most once a second)."""
        now = time.monotonic()
        if now - self._last_check < min_interval_s:
            return False
        self._last_check = now
        with self._swap_lock:
            current = self._snapshot
            if not current.stale:
                return False
            fresh = open_snapshot(self.directory, self.encoder.info.model_id)
            self._snapshot = fresh
        self._matrix_wanted.set()
        current.close()
        return True

    def close(self) -> None:
        self._closed = True
        self._matrix_wanted.set()
        self._snapshot.close()

    # -- in-memory lexical index ------------------------------------------------------------
    def _matrix_loop(self) -> None:
        while True:
            self._matrix_wanted.wait()
            self._matrix_wanted.clear()
            if self._closed:
                return
            snap = self._snapshot
            if self._matrix is not None and self._matrix.generation != snap.generation:
                self._matrix = None  # stale: never used again, free it before building
            if len(snap.vectors) < self.settings.lexical_matrix_min_passages:
                with self._matrix_ready:
                    self._matrix_ready.notify_all()
                continue
            try:
                conn = store.connect(self.directory, readonly=True)
                try:
                    matrix = LexicalMatrix.build(conn, snap.generation)
                finally:
                    conn.close()
            except Exception:  # FTS5 keeps answering; logged, retried on the next write
                logger.exception("building the in-memory lexical index failed; using FTS5")
                with self._matrix_ready:
                    self._matrix_failed = snap.generation
                    self._matrix_ready.notify_all()
                continue
            with self._matrix_ready:
                self._matrix = matrix
                self._matrix_ready.notify_all()

    def lexical_matrix(self) -> LexicalMatrix | None:
        """The in-memory BM25 matrix of the current snapshot, if it is built."""
        matrix = self._matrix
        if matrix is not None and matrix.generation == self._snapshot.generation:
            return matrix
        return None

    @property
    def lexical_backend(self) -> str:
        """'memory' when lexical search uses the matrix, else 'fts5'."""
        return "memory" if self.lexical_matrix() is not None else "fts5"

    def wait_for_lexical(self, timeout: float | None = None) -> bool:
        """Block until lexical search is in its final state for the current snapshot: the
        matrix built, or the index too small for one, or its build failed (FTS5 then);
        True if so within ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout

        def ready() -> bool:
            return (self._matrix_thread is None or self.lexical_matrix() is not None
                    or self._matrix_failed == self._snapshot.generation
                    or len(self._snapshot.vectors) < self.settings.lexical_matrix_min_passages)

        with self._matrix_ready:
            while not ready():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._matrix_ready.wait(timeout=1.0 if left is None else min(left, 1.0))
        return True

    # -- validation -----------------------------------------------------------------------
    def validate(self, req: SearchRequest) -> SearchRequest:
        """Normalise and check a request; raises QueryError naming the bad field."""
        if not isinstance(req.query, str):
            raise QueryError("q: must be a string", field="q")
        if len(req.query) > self.settings.max_query_chars:
            raise QueryError(f"q: longer than {self.settings.max_query_chars} characters", field="q")
        query = normalize_query(req.query)
        if not query:
            raise QueryError("q: empty query", field="q")
        if not 1 <= req.k <= self.settings.max_k:
            raise QueryError(f"k: must be between 1 and {self.settings.max_k}", field="k")
        if not 0 <= req.offset <= self.settings.max_offset:
            raise QueryError(f"offset: must be between 0 and {self.settings.max_offset}",
                             field="offset")
        if req.mode not in MODES:
            raise QueryError(f"mode: must be one of {', '.join(MODES)}", field="mode")
        date_from = _parse_date(req.date_from, "date_from")
        date_to = _parse_date(req.date_to, "date_to")
        return SearchRequest(query=query, k=req.k, offset=req.offset, mode=req.mode,
                             source=req.source or None, category=req.category or None,
                             date_from=date_from, date_to=date_to, group=req.group)

    # -- retrieval ------------------------------------------------------------------------
    def _filter_sql(self, req: SearchRequest) -> tuple[str, list]:
        clauses, params = [], []
        if req.source:
            clauses.append("a.source = ?")
            params.append(req.source)
        if req.category:
            clauses.append("a.category = ?")
            params.append(req.category)
        if req.date_from:
            clauses.append("substr(a.published, 1, 10) >= ?")
            params.append(req.date_from)
        if req.date_to:
            clauses.append("substr(a.published, 1, 10) <= ?")
            params.append(req.date_to)
        return " AND ".join(clauses), params

    def _allowed_ids(self, req: SearchRequest) -> np.ndarray | None:
        where, params = self._filter_sql(req)
        if not where:
            return None
        rows = self._conn().execute(
            f"SELECT p.id FROM passages p JOIN articles a ON a.id = p.article_id WHERE {where}",
            params).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def query_vector(self, query: str) -> np.ndarray:
        """The query's vector: from the LRU, else encoded together with every other query
        waiting at that moment (one encoder call for a burst of concurrent requests)."""
        vector = self.query_cache.get(query)
        if vector is not None:
            return vector
        with self._pending_lock:
            future = self._pending.get(query)
            if future is None:
                future = self._pending[query] = Future()
        with self._encode_lock:
            if not future.done():
                with self._pending_lock:
                    batch, self._pending = self._pending, {}
                try:
                    vectors = self.encoder.encode_queries(list(batch))
                except BaseException as exc:
                    for waiting in batch.values():
                        waiting.set_exception(exc)
                    raise
                for (text, waiting), vec in zip(batch.items(), vectors):
                    self.query_cache.put(text, vec)
                    waiting.set_result(vec)
        return future.result()

    def dense(self, req: SearchRequest, n: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        hits = self._snapshot.vectors.search(self.query_vector(req.query), n, allowed)
        return [(int(i), float(s)) for i, s in zip(hits.ids, hits.scores)]

    def _too_common_filter(self, matrix: LexicalMatrix | None = None
                           ) -> Callable[[str, str], bool] | None:
        """A document-frequency test for query syllables, on large indexes only."""
        passages = len(self._snapshot.vectors)
        if passages < self.settings.lexical_prune_min_passages:
            return None
        limit = self.settings.lexical_max_df * passages
        if matrix is not None:
            return lambda column, term: matrix.doc_freq(column, term) > limit
        conn = self._conn()
        if not getattr(self._local, "vocab", False):
            conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.passages_vocab "
                         "USING fts5vocab(main, passages_fts, 'col')")
            self._local.vocab = True

        def too_common(column: str, term: str) -> bool:
            row = conn.execute("SELECT doc FROM temp.passages_vocab WHERE col = ? AND term = ?",
                               (column, term)).fetchone()
            return bool(row) and row[0] > limit

        return too_common

    def lexical(self, req: SearchRequest, n: int) -> list[tuple[int, float]]:
        matrix = self.lexical_matrix()
        terms = lexical_query(req.query, self._too_common_filter(matrix))
        if terms is None:
            return []
        if matrix is not None:
            return matrix.top(terms, n, self._allowed_ids(req))
        match = fts_expression(terms)
        where, params = self._filter_sql(req)
        if where:
            sql = ("SELECT f.rowid, -bm25(passages_fts) AS s FROM passages_fts f "
                   "JOIN passages p ON p.id = f.rowid JOIN articles a ON a.id = p.article_id "
                   f"WHERE passages_fts MATCH ? AND {where} ORDER BY bm25(passages_fts) "
                   "LIMIT ?")
            rows = self._conn().execute(sql, [match, *params, n]).fetchall()
        else:
            rows = self._conn().execute(
                "SELECT rowid, -bm25(passages_fts) FROM passages_fts "
                "WHERE passages_fts MATCH ? ORDER BY bm25(passages_fts) LIMIT ?",
                (match, n)).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def fuse(self, dense: list[tuple[int, float]], lexical: list[tuple[int, float]]
             ) -> list[tuple[int, float]]:
        """Weighted sum of min-max normalised scores (``dense_weight`` vs 1 - it).

        Tuned on vinewsqa-dev: min-max fusion at 0.3 beat reciprocal rank fusion by
        0.03–0.06 nDCG@10 (README, "Retrieval quality").
        """
        alpha = self.settings.dense_weight
        scores: dict[int, float] = {}
        for weight, ranked in ((alpha, dense), (1.0 - alpha, lexical)):
            if not ranked:
                continue
            hi, lo = ranked[0][1], ranked[-1][1]
            span = hi - lo
            for pid, value in ranked:
                norm = (value - lo) / span if span > 0 else 1.0
                scores[pid] = scores.get(pid, 0.0) + weight * norm
        return sorted(scores.items(), key=lambda item: -item[1])

    def restore_tones(self, query: str, lexical: list[tuple[int, float]], top: int = 10) -> str:
        """Put tones back on a toneless query using the best lexical hits' own words.

        The embedding model reads toneless Vietnamese badly (dense nDCG@10 0.15 instead of
        0.71 on vinewsqa-dev). Each query syllable takes the toned form that the top lexical
        passages use for it, preferring the form inside a matching syllable pair.
        """
        if has_tones(query) or not lexical:
            return query
        ids = [pid for pid, _ in lexical[:top]]
        marks = ",".join("?" * len(ids))
        texts = [r[0] for r in self._conn().execute(
            f"SELECT toned FROM passages_fts WHERE rowid IN ({marks})", ids)]
        unigrams: dict[str, Counter] = {}
        pairs: dict[tuple[str, str], Counter] = {}
        for text in texts:
            toks = text.split()
            for a, b in zip(toks, toks[1:] + [""]):
                unigrams.setdefault(fold(a), Counter())[a] += 1
                if b:
                    pairs.setdefault((fold(a), fold(b)), Counter())[(a, b)] += 1
        words = tokenize(query)
        folded = [fold(w) for w in words]
        out: list[str] = []
        for i, word in enumerate(folded):
            choice, best = None, 0
            for key, pos in (((word, folded[i + 1]) if i + 1 < len(folded) else None, 0),
                             ((folded[i - 1], word) if i > 0 else None, 1)):
                if key is not None and key in pairs:
                    form, count = pairs[key].most_common(1)[0]
                    if count > best:
                        choice, best = form[pos], count
            if choice is None and word in unigrams:
                choice = unigrams[word].most_common(1)[0][0]
            out.append(choice or words[i])
        return " ".join(out)

    def ranked_passages(self, req: SearchRequest, n: int) -> list[tuple[int, float]]:
        """Passage ids with scores, best first, for a validated request."""
        if req.mode == "lexical":
            return self.lexical(req, n)  # filters are a SQL join there
        allowed = self._allowed_ids(req)
        if has_tones(req.query):
            dense_req = req
            lexical = self.lexical(req, n) if req.mode == "hybrid" else []
        else:
            lexical = self.lexical(req, n)
            dense_req = replace(req, query=self.restore_tones(req.query, lexical))
        dense = self.dense(dense_req, n, allowed)
        if req.mode == "dense":
            return dense
        return self.fuse(dense, lexical)

    def search(self, request: SearchRequest) -> SearchResult:
        """Run a search: validate, retrieve, fuse, group by article, paginate, highlight."""
        started = time.perf_counter()
        self.maybe_reload()
        req = self.validate(request)
        want = req.offset + req.k
        n = max(self.settings.candidates, want * (3 if req.group else 1))
        ranked = self.ranked_passages(req, n)
        # Candidates only need their article for grouping; full rows only for the page.
        article_of = self._article_ids([pid for pid, _ in ranked])
        ranked = [(pid, s) for pid, s in ranked if pid in article_of]
        if req.group:
            best: dict[str, tuple[int, float]] = {}
            others: dict[str, int] = {}
            order: list[str] = []
            for pid, score in ranked:
                art = article_of[pid]
                if art in best:
                    others[art] += 1
                else:
                    best[art] = (pid, score)
                    others[art] = 0
                    order.append(art)
            entries = [(best[a][0], best[a][1], others[a]) for a in order]
        else:
            entries = [(pid, score, 0) for pid, score in ranked]
        page = entries[req.offset: req.offset + req.k]
        rows = self._passage_rows([pid for pid, _, _ in page])
        page = [entry for entry in page if entry[0] in rows]  # deleted since the ranking
        hits = []
        for i, (pid, score, other) in enumerate(page):
            row = rows[pid]
            hits.append(Hit(
                rank=req.offset + i + 1, score=round(score, 6), passage_id=pid, text=row["text"],
                highlighted=highlight(row["text"], req.query), start=row["start"], end=row["end"],
                article_id=row["article_id"], title=row["title"], url=row["url"],
                source=row["source"], published=row["published"], category=row["category"],
                other_matches=other))
        took = (time.perf_counter() - started) * 1000
        return SearchResult(query=req.query, mode=req.mode, took_ms=round(took, 2),
                            total=len(entries), results=hits)

    def _article_ids(self, ids: list[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        conn = self._conn()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            out.update(conn.execute(f"SELECT id, article_id FROM passages WHERE id IN ({marks})",
                                    chunk).fetchall())
        return out

    def _passage_rows(self, ids: list[int]) -> dict[int, dict]:
        out: dict[int, dict] = {}
        conn = self._conn()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for row in conn.execute(
                    "SELECT p.id, p.article_id, p.text, p.start, p.end, a.title, a.url, a.source, "
                    "a.published, a.category FROM passages p JOIN articles a ON a.id = p.article_id "
                    f"WHERE p.id IN ({marks})", chunk):
                out[row[0]] = {"article_id": row[1], "text": row[2], "start": row[3],
                               "end": row[4], "title": row[5], "url": row[6], "source": row[7],
                               "published": row[8], "category": row[9]}
        return out

    # -- articles ---------------------------------------------------------------------------
    def article(self, article_id: str) -> ArticleView:
        """The whole cleaned article; raises NotFoundError."""
        conn = self._conn()
        row = conn.execute("SELECT id, title, text, url, source, published, category FROM articles "
                           "WHERE id = ?", (article_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"article {article_id!r} not found")
        urls = [r[0] for r in conn.execute("SELECT url FROM article_urls WHERE article_id=? "
                                           "ORDER BY url", (article_id,))]
        passages = [{"id": r[0], "ordinal": r[1], "start": r[2], "end": r[3]} for r in conn.execute(
            "SELECT id, ordinal, start, end FROM passages WHERE article_id=? ORDER BY ordinal",
            (article_id,))]
        return ArticleView(id=row[0], title=row[1], text=row[2], url=row[3], urls=urls,
                           source=row[4], published=row[5], category=row[6], passages=passages)

    def facets(self) -> dict[str, list[str]]:
        """Distinct sources and categories (for the web page's filters)."""
        conn = self._conn()
        sources = [r[0] for r in conn.execute(
            "SELECT source FROM articles WHERE source IS NOT NULL GROUP BY source "
            "ORDER BY count(*) DESC LIMIT 200")]
        categories = [r[0] for r in conn.execute(
            "SELECT category FROM articles WHERE category IS NOT NULL GROUP BY category "
            "ORDER BY count(*) DESC LIMIT 200")]
        return {"sources": sources, "categories": categories}
