"""``index_articles``: a stream of reader output, written in batches by one writer."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from ..article import Article, SkippedRecord
from ..encoders import PassageEncoder
from ..metadata.normalise import MetadataRules
from ..settings import Settings
from ..sharding import ShardSpec
from .pipeline import prefetched
from .plan import Prepared, prepare
from .summary import IndexSummary
from .writer import IndexWriter

Progress = Callable[[IndexSummary, int], None]


def index_articles(directory: Path, articles: Iterable[Article | SkippedRecord], settings: Settings,
                   encoder: PassageEncoder, batch_articles: int = 64,
                   progress: Progress | None = None, *, force: bool = False,
                   sync_roots: Sequence[Path] = (), shard: ShardSpec | None = None
                   ) -> IndexSummary:
    """Index a stream of reader output in batches; returns the run's summary.

    ``progress(summary so far, articles in the batch just written)`` is called after each
    batch and after each skipped record (with 0). ``force`` brings back articles deleted
    earlier (tombstoned). After the last batch, for each existing folder of ``sync_roots``
    the articles read from files under it that are gone are deleted (``--sync``). With
    ``shard``, only the articles of that shard are written (``--shard i/N``).
    """
    started = time.perf_counter()
    total = IndexSummary()
    with IndexWriter(directory, settings, encoder, shard=shard) as writer:
        # Reading and cleaning run one step ahead in a thread (see .pipeline).
        for item in prefetched(_prepared_batches(articles, writer.rules, batch_articles)):
            if isinstance(item, SkippedRecord):
                total.skip(item)
                if progress:
                    progress(total, 0)
            else:
                _write_batch(writer, item, total, progress, force)
        for root in sync_roots:
            # A folder that is missing (a typo) must not read as "every file is gone".
            if Path(root).is_dir():
                total.merge(writer.sync_folder(Path(root)))
    total.seconds = time.perf_counter() - started
    return total


def _prepared_batches(articles: Iterable[Article | SkippedRecord], rules: MetadataRules,
                      size: int) -> Iterator[SkippedRecord | list[Prepared | SkippedRecord]]:
    """Reader output as batches of ``size`` cleaned articles; a reader's skipped record is
    yielded on its own, where it came (an article that cleaning empties stays in its batch,
    where the plan reports it)."""
    batch: list[Prepared | SkippedRecord] = []
    for position, item in enumerate(articles):
        if isinstance(item, SkippedRecord):
            yield item
            continue
        prepared = prepare(item, rules)
        if isinstance(prepared, Prepared):
            prepared.position = position
        batch.append(prepared)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _write_batch(writer: IndexWriter, batch: list[Prepared | SkippedRecord], total: IndexSummary,
                 progress: Progress | None, force: bool) -> None:
    total.merge(writer.add_articles(batch, force=force))
    if progress:
        progress(total, len(batch))
