"""Admin writes through the API: add/update and delete articles in the served index.

One :class:`ArticleWrites` per app serialises its writes (a lock: the index takes one writer
at a time, and a second request would only wait for the file lock). Each write opens an
``IndexWriter`` on the searcher's directory, waits up to 5 s for another process's batch to
finish, commits, and reloads the searcher so the next search sees it; the answer is sent
only after the commit, so an acknowledged write is durable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, cast

from indexer.article import Article
from indexer.errors import NotFoundError, QueryError, ReadOnlyError
from indexer.settings import Settings

from .retrieval import Searcher
from .schemas import ArticleIn, WriteResponse

if TYPE_CHECKING:
    from indexer.encoders import PassageEncoder
    from indexer.writer import IndexSummary, IndexWriter

WRITER_WAIT_S = 5.0  # another writer's batch is short: wait for it, don't fail at once


def to_articles(items: Sequence[ArticleIn], max_batch: int,
                max_chars: int | None = None) -> list[Article]:
    """The request's articles as :class:`Article` records; an empty or oversized batch, or
    an article with more than ``max_chars`` characters of text, is a 422."""
    if not items:
        raise QueryError("articles: empty batch", field="articles")
    if len(items) > max_batch:
        raise QueryError(f"articles: at most {max_batch} per request", field="articles")
    for i, item in enumerate(items):
        if max_chars is not None and len(item.text) > max_chars:
            where = f"articles[{i}].text" if len(items) > 1 else "text"
            raise QueryError(f"{where}: {len(item.text):,} characters, at most {max_chars:,} "
                             "(VNSEARCH_MAX_ARTICLE_CHARS)", field="text")
    return [Article(id=a.id or "", title=a.title, text=a.text, url=a.url, source=a.source,
                    published=a.published, category=a.category) for a in items]


def write_response(summary: IndexSummary, generation: int) -> WriteResponse:
    """The acknowledgement of a committed write."""
    return WriteResponse(added=summary.added, updated=summary.updated,
                         unchanged=summary.unchanged, duplicates=summary.duplicates,
                         skipped=summary.skipped, deleted=summary.deleted,
                         passages_added=summary.passages_added,
                         passages_removed=summary.passages_removed,
                         article_ids=summary.article_ids, generation=generation)


class ArticleWrites:
    """The writes of one app, one at a time. Blocking: call from the thread pool."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()

    def add(self, searcher: Searcher, items: Sequence[ArticleIn]) -> WriteResponse:
        """Add or update ``items`` (at most ``settings.max_batch_articles``).

        An article sent explicitly is wanted: it is added even if it was deleted before
        (its tombstone goes), unlike a re-index of a folder.
        """
        articles = to_articles(items, self.settings.max_batch_articles,
                               self.settings.max_article_chars)
        return self._commit(searcher, lambda writer: writer.add_articles(articles, force=True))

    def delete(self, searcher: Searcher, article_id: str) -> WriteResponse:
        """Delete one article (by id or alias); NotFoundError when there is none."""
        result = self._commit(searcher, lambda writer: writer.delete([article_id]))
        if not result.deleted:
            raise NotFoundError(f"article {article_id!r} not found")
        return result

    def _commit(self, searcher: Searcher,
                action: Callable[[IndexWriter], IndexSummary]) -> WriteResponse:
        """Run ``action`` in a writer on the searcher's index, then reload the searcher."""
        from indexer.writer import IndexWriter  # the write path: only loaded when a write comes

        if getattr(searcher, "shards", None) is not None:
            raise ReadOnlyError("this server answers for a set of shards, read-only: index "
                                "into a shard with `vnsearch index --shard i/N`, then run "
                                "`vnsearch cluster stats` again")
        with self._lock:
            # the searcher's encoder is the whole model, which encodes passages too
            # background_fold: a vector fold of a large index must not hold up the answer
            writer = IndexWriter(searcher.directory, self.settings,
                                 cast("PassageEncoder", searcher.encoder), background_fold=True)
            writer.open(wait_s=WRITER_WAIT_S)
            try:
                summary = action(writer)
                assert writer.manifest is not None  # set by open()
                generation = writer.manifest.generation
            finally:
                writer.close()
            searcher.maybe_reload(0.0)
        return write_response(summary, generation)
