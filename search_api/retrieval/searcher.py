"""``Searcher``: hybrid Vietnamese retrieval over one index directory, as one facade.

* dense (:mod:`.dense`): FAISS inner product of the query vector with the passages';
* lexical (:mod:`.lexical`): BM25 over syllable tokens, by SQLite FTS5 or, on large
  indexes once built, the in-memory matrix kept by :class:`LexicalMatrixService`;
* fusion (:mod:`.fusion`): weighted sum of the min-max normalised scores of both lists;
* a toneless query is re-toned from its lexical hits before the dense search (:mod:`.tones`);
* filters (source, category, date range) apply inside both searches (FAISS id selector,
  SQL join), so a filtered query still fills k results when k passages match;
* results are grouped by story (near-duplicates across outlets; the default), by article
  or not at all (:mod:`.grouping`), hydrated and highlighted, and carry their article's
  provinces, story id and the story's other outlets (:mod:`.regions`);
* ``province=`` filters inside both searches like the outlet (:mod:`.request`);
  :meth:`Searcher.related` is an article's related coverage (:mod:`.related`).

The searcher is built from the parts it is handed (:class:`~.parts.IndexParts`): the rows,
the dense and lexical retrievers, the document frequencies and the index view. By default
those of one index directory (:class:`~.parts.LocalIndex`: the current
:class:`~indexer.snapshot.Snapshot`, swapped when a writer commits, and a read-only
:class:`~indexer.db.IndexDB` per thread); a set of shards hands in its own. It runs no SQL
itself.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from indexer.db import IndexDB, PassageRow, split_stored_categories
from indexer.errors import NotFoundError
from indexer.links import link_url, link_urls, unlinked_url
from indexer.settings import Settings
from indexer.vietnamese import has_tones

from .dense import QueryBatcher, QueryVectorCache, limit_faiss_threads
from .fusion import fuse
from .grouping import Entry, rank_entries
from .grouping import page as page_of
from .highlight import highlight
from .learned import Scored, create_scorer
from .lexical.base import LexicalIndex, TooCommon, lexical_query, too_common_filter
from .lexical.matrix import LexicalMatrix
from .messages import no_result_hints
from .operators import apply_operators, widen_candidates
from .ordering import (
    article_meta,
    drop_undated,
    facet_counts,
    pool_size,
    sort_entries,
    undated_excluded,
)
from .parts import IndexParts, LocalIndex
from .regions import attach_regions, story_of
from .related import related_coverage
from .relevance import DocFreqs, Retrieval
from .request import SearchRequest, validate
from .results import ArticleView, Hit, RelatedResult, SearchResult
from .tones import restore_tones as _restore_tones

if TYPE_CHECKING:
    from indexer.encoders import QueryEncoder

    from .lexical.mapped import MappedLexicalMatrix


Ranking = list[tuple[int, float]]


class Searcher:
    """Answers searches on the parts it is handed (one index directory by default);
    reloads when a writer commits."""

    def __init__(self, directory: Path, settings: Settings, encoder: QueryEncoder,
                 lexical_matrix: bool = True, *, parts: IndexParts | None = None) -> None:
        """Open ``directory`` for searching, or search ``parts`` (``directory`` then only
        names what is served).

        ``lexical_matrix``: keep an in-memory BM25 matrix of indexes with at least
        ``settings.lexical_matrix_min_passages`` passages, built by a background thread on
        open and after every write (FTS5 answers until it is ready). False for one-shot use
        (the CLI's ``query``), where building it would cost more than one FTS5 query.
        """
        self.directory = Path(directory)
        self.settings = settings
        self._last_check = time.monotonic()
        self._batcher = QueryBatcher(encoder, QueryVectorCache(settings.query_cache_size))
        self.started = time.time()
        limit_faiss_threads()
        self._scorer = create_scorer(settings)
        self.parts: IndexParts = parts if parts is not None else LocalIndex(
            self.directory, lambda: self.encoder.info.model_id,
            settings.lexical_matrix_min_passages, lexical_matrix)

    # -- parts ------------------------------------------------------------------------------
    @property
    def encoder(self) -> QueryEncoder:
        """The query encoder (its ``info.model_id`` must match the index)."""
        return self._batcher.encoder

    @encoder.setter
    def encoder(self, value: QueryEncoder) -> None:
        self._batcher.encoder = value

    @property
    def query_cache(self) -> QueryVectorCache:
        """The LRU of query vectors (replaceable: the evaluation pre-fills a larger one)."""
        return self._batcher.cache

    @query_cache.setter
    def query_cache(self, value: QueryVectorCache) -> None:
        self._batcher.cache = value

    def _db(self) -> IndexDB:
        """The calling thread's reader of rows (an ``IndexDB``, or the shards' stand-in)."""
        return self.parts.rows()

    # -- snapshot management --------------------------------------------------------------
    @property
    def snapshot(self) -> Any:
        """The current consistent view of the index (vectors, manifest, generation)."""
        return self.parts.snapshot

    def _reload_due(self, min_interval_s: float) -> bool:
        """True (and the clock restarted) when the last check is ``min_interval_s`` old."""
        now = time.monotonic()
        if now - self._last_check < min_interval_s:
            return False
        self._last_check = now
        return True

    def maybe_reload(self, min_interval_s: float = 1.0) -> bool:
        """Pick up what writers committed (a new snapshot, changed shards), at most once
        every ``min_interval_s``; True when the view changed."""
        if not self._reload_due(min_interval_s):
            return False
        return self.parts.reload()

    def close(self) -> None:
        """Stop the parts' threads and close their files."""
        self.parts.close()

    # -- in-memory lexical index ------------------------------------------------------------
    def lexical_matrix(self) -> LexicalMatrix | MappedLexicalMatrix | None:
        """The in-memory BM25 matrix of the current snapshot, if it is built (None for a
        set of shards: each has its own)."""
        return self.parts.lexical_matrix()

    @property
    def lexical_backend(self) -> str:
        """'memory' when lexical search uses the matrix, else 'fts5'."""
        return self.parts.lexical_backend

    def wait_for_lexical(self, timeout: float | None = None) -> bool:
        """Block until lexical search is in its final state for the current snapshot: the
        matrix built, or the index too small for one, or its build failed (FTS5 then);
        True if so within ``timeout``."""
        return self.parts.wait_for_lexical(timeout)

    # -- retrieval ------------------------------------------------------------------------
    def validate(self, req: SearchRequest) -> SearchRequest:
        """Normalise and check a request; raises QueryError naming the bad field."""
        return validate(req, self.settings)

    def _allowed_ids(self, req: SearchRequest) -> Any:
        return self.parts.dense_filter(req.filters())

    def query_vector(self, query: str) -> np.ndarray:
        """The query's vector: from the LRU, else encoded together with every other query
        waiting at that moment (one encoder call for a burst of concurrent requests)."""
        return self._batcher.vector(query)

    def dense(self, query: str, n: int, allowed: Any) -> Ranking:
        """Best ``n`` passages by vector similarity to ``query`` among ``allowed`` (what
        the parts' ``dense_filter`` made of the request's filter)."""
        return self.parts.dense(self.query_vector(query), n, allowed)

    def _lexical_index(self) -> LexicalIndex:
        return self.parts.lexical_index()

    def _too_common_filter(self, index: LexicalIndex | None = None) -> TooCommon | None:
        """A document-frequency test for query syllables, on large indexes only."""
        return too_common_filter(self._lexical_index() if index is None else index,
                                 len(self.parts.snapshot.vectors),
                                 self.settings.lexical_max_df,
                                 self.settings.lexical_prune_min_passages)

    def lexical(self, req: SearchRequest, n: int) -> Ranking:
        """Best ``n`` passages by BM25 for a validated request, filtered."""
        index = self._lexical_index()
        terms = lexical_query(req.ranking_query, self._too_common_filter(index))
        if terms is None:
            return []
        return index.top(terms, n, req.filters())

    def fuse(self, dense: Ranking, lexical: Ranking) -> Ranking:
        """Weighted min-max fusion at ``settings.dense_weight`` (see :func:`.fusion.fuse`)."""
        return fuse(dense, lexical, self.settings.dense_weight)

    def restore_tones(self, query: str, lexical: Ranking, top: int = 10) -> str:
        """Put tones back on a toneless query using the best ``top`` lexical hits' own words
        (see :func:`.tones.restore_tones`); a toned query is returned as it is."""
        if has_tones(query) or not lexical or not self.settings.tone_restoration:
            return query
        texts = self._db().toned_texts([pid for pid, _ in lexical[:top]])
        return _restore_tones(query, texts)

    def retrieve(self, req: SearchRequest, n: int) -> Retrieval:
        """The dense and lexical rankings of a validated request and the mode's ranking."""
        query = req.ranking_query
        if req.mode == "lexical":
            lexical = self.lexical(req, n)  # filters are applied inside the lexical index
            return Retrieval(query, query, [], lexical, lexical)
        allowed = self._allowed_ids(req)
        if has_tones(query):
            dense_query = query
            lexical = self.lexical(req, n) if req.mode == "hybrid" else []
        else:
            lexical = self.lexical(req, n)
            dense_query = self.restore_tones(query, lexical)
        # One vector for the dense search and the relevance features (lexical-only
        # candidates' cosines): asking the LRU twice encoded the query twice when the
        # cache is off or the query was evicted in between.
        vector = self.query_vector(dense_query)
        dense = self.parts.dense(vector, n, allowed)
        ranked = dense if req.mode == "dense" else self.fuse(dense, lexical)
        return Retrieval(query, dense_query, dense, lexical, ranked, vector)

    def score(self, req: SearchRequest, retrieval: Retrieval, ranked: Ranking) -> Scored:
        """The final order of ``ranked`` and each candidate's calibrated relevance
        (non-increasing down that order): the learned ranker's, or the fusion's as it is
        (``settings.ranking``; see :mod:`.learned`)."""
        return self._scorer.score(req, retrieval, ranked, self._db(), self.parts.snapshot,
                                  self._doc_freqs())

    def _doc_freqs(self) -> DocFreqs | None:
        """The document frequencies of the relevance features (the parts': FTS5's counts
        cached per generation for one index; None: the rows' own)."""
        return self.parts.doc_freqs()

    def ranked_passages(self, req: SearchRequest, n: int) -> Ranking:
        """Passage ids with scores, best first, for a validated request."""
        return self.retrieve(req, n).ranked

    def _entries(self, req: SearchRequest, n: int, db: IndexDB) -> tuple[list[Entry], int]:
        """The whole result set of a validated request, best first, and how many entries
        ``min_relevance`` cut: retrieve, apply operators, score relevance and cut at
        ``min_relevance``, group by story/article.

        The cut count is in entries (the unit of ``total``): the entries of every candidate
        less those of the kept ones. Relevance never rises down the ranking, so the kept
        passages are a prefix and an entry whose best passage is kept is not counted even
        when some of its other passages were cut.
        """
        retrieval = self.retrieve(req, n)
        ranked = apply_operators(retrieval.ranked, req.operators, db)
        scored = self._scorer.score(req, retrieval, ranked, db, self.parts.snapshot,
                                    self._doc_freqs())
        relevance = scored.relevance
        cut = cast(float, req.min_relevance)  # validate() fills it in
        ranked = scored.ranked
        kept = [(pid, s) for pid, s in ranked if relevance[pid] >= cut]
        # Candidates only need their article (and story) for grouping; full rows only for
        # the page. The cut candidates' too, only to count their entries.
        article_of = db.article_ids([pid for pid, _ in ranked])
        stories = story_of(db, list(article_of.values())) if req.group == "story" else None
        entries = rank_entries(kept, article_of, req.group, relevance, stories)
        if len(kept) == len(ranked):
            return entries, 0
        every = rank_entries(ranked, article_of, req.group, relevance, stories)
        return entries, len(every) - len(entries)

    def search(self, request: SearchRequest) -> SearchResult:
        """Run a search (see :meth:`_search`); a set of shards may answer partially, and
        then says which shards did not answer (``partial``, ``missing_shards``)."""
        self.parts.begin_request()
        result = self._search(request)
        missing = self.parts.missing_shards()
        if missing:
            result.partial, result.missing_shards = True, missing
        return result

    def _search(self, request: SearchRequest) -> SearchResult:
        """Run a search: validate, retrieve, apply operators, score relevance and cut,
        group by article, leave out undated articles under a date filter, count, sort,
        paginate, highlight."""
        started = time.perf_counter()
        self.maybe_reload()
        req = self.validate(request)
        n = pool_size(req, self.settings)  # date sorts and counts: not page-dependent
        n = widen_candidates(n, req.operators)  # phrases/exclusions drop candidates
        db = self._db()
        entries, cut = self._entries(req, n, db)  # the relevance cut comes first…
        meta = article_meta(entries, req, db)
        entries, _ = drop_undated(entries, req, meta)  # none: the date filter is in the SQL
        # Under a date filter, a second pass that lets undated articles in counts them.
        undated = undated_excluded(req, db, lambda wide: self._entries(wide, n, db)[0])
        facets = facet_counts(entries, meta) if req.facets else None
        entries = sort_entries(entries, req.sort, meta)  # …a date sort only reorders the rest
        page = page_of(entries, req.offset, req.k)
        rows = db.passage_rows([e.passage_id for e in page])
        page = [e for e in page if e.passage_id in rows]  # deleted since the ranking
        hits = [_hit(req.offset + i + 1, e, rows[e.passage_id], req)
                for i, e in enumerate(page)]
        attach_regions(hits, db)
        took = (time.perf_counter() - started) * 1000
        return SearchResult(query=req.query, mode=req.mode, took_ms=round(took, 2),
                            total=len(entries), results=hits, undated_excluded=undated,
                            facets=facets, province_note=req.province_note, cut=cut,
                            hints=[] if entries else _hints(req, request))

    # -- articles ---------------------------------------------------------------------------
    def article(self, article_id: str) -> ArticleView:
        """The whole cleaned article with its provinces and story; raises NotFoundError."""
        db = self._db()
        record = db.article(article_id)
        if record is None:
            raise NotFoundError(f"article {article_id!r} not found")
        region = db.article_regions([article_id]).get(article_id)
        passages = [{"id": p.id, "ordinal": p.ordinal, "start": p.start, "end": p.end}
                    for p in record.passages]
        return ArticleView(id=record.id, title=record.title, text=record.text,
                           url=link_url(record.url), url_text=unlinked_url(record.url),
                           urls=link_urls(record.urls), source=record.source,
                           published=record.published,
                           category=record.category, passages=passages,
                           categories=list(split_stored_categories(record.category)),
                           published_raw=record.published_raw,
                           provinces=list(region.provinces) if region else [],
                           provinces_former=list(region.provinces_former) if region else [],
                           story_id=region.story_id if region else record.id)

    def related(self, article_id: str, k: int = 10) -> RelatedResult:
        """Other stories on the same event or topic, newest first (:mod:`.related`)."""
        self.maybe_reload()
        return related_coverage(self, article_id, k)

    def counts(self) -> dict[str, int]:
        """{"articles": n, "passages": n} of the current store."""
        return self._db().counts()

    def facets(self) -> dict[str, list]:
        """Distinct sources and categories (for the web page's filters), and the current
        provinces with their article counts (``[{"name", "count"}]``)."""
        db = self._db()
        return {**db.facets(), "provinces": [{"name": name, "count": count}
                                             for name, count in db.province_counts()]}


def _hints(req: SearchRequest, asked: SearchRequest) -> list[str]:
    """The no-result hints of a validated request (``asked``: the request as sent)."""
    return no_result_hints(req.ranking_query, mode=req.mode, filtered=req.filtered,
                           operators=req.operators is not None and req.operators.active,
                           asked_min_relevance=asked.min_relevance)


def _hit(rank: int, entry: Entry, row: PassageRow, req: SearchRequest) -> Hit:
    """A result line: the passage row, its score, relevance and rank, the query's words marked."""
    return Hit(rank=rank, score=round(entry.score, 6), relevance=round(entry.relevance, 4),
               passage_id=entry.passage_id, text=row.text,
               highlighted=highlight(row.text, req.ranking_query), start=row.start,
               end=row.end, ordinal=row.ordinal, article_id=row.article_id, title=row.title,
               url=link_url(row.url), url_text=unlinked_url(row.url),
               source=row.source, published=row.published, category=row.category,
               categories=list(split_stored_categories(row.category)),
               other_matches=entry.other_matches,
               other_passage_ids=list(entry.other_passage_ids))
