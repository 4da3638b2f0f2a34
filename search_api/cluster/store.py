"""``ClusterDB``: the read methods the search pipeline calls on an index database, answered
by a set of shards as if they were one index.

Passage ids are cluster-wide (:func:`.shard.to_gid`); a call on passage ids goes to the
shards that hold them, a call on article ids or on the whole index to every shard, and the
answers are combined (counts summed, facets merged by count, document frequencies summed).
Only the pipeline's reads are here; writes go to each shard with ``vnsearch index``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from indexer.db import ArticleMeta, ArticleRecord, MetadataFilter, PassageRow

from .shard import ShardReader, ShardUnavailable, split_gid, to_gid

T = TypeVar("T")
FACET_LIMIT = 200


class MissingShards:
    """The shards that did not answer during the current request (one set per thread)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def reset(self) -> None:
        """Start a request."""
        self._local.missing = set()

    def add(self, shard: int) -> None:
        """Note a shard that did not answer."""
        if not hasattr(self._local, "missing"):
            self.reset()
        self._local.missing.add(shard)

    def current(self) -> list[int]:
        """The shards missing so far in this request, ascending."""
        return sorted(getattr(self._local, "missing", ()))


class ClusterDB:
    """Routes the pipeline's reads to the shards (see module docstring). A shard that raises
    :class:`~.shard.ShardUnavailable` is left out of the answer and noted in ``missing``."""

    def __init__(self, shards: list[ShardReader], missing: MissingShards | None = None) -> None:
        self.shards = shards
        self.missing = missing or MissingShards()

    def _ask(self, shard: ShardReader, read: Callable[[Any], T], default: T) -> T:
        """``read(shard's db)``, or ``default`` when the shard does not answer."""
        try:
            return read(shard.db())
        except ShardUnavailable:
            self.missing.add(shard.number)
            return default

    # -- routing helpers --------------------------------------------------------------------
    def _by_shard(self, gids: Iterable[int]) -> dict[int, list[int]]:
        out: dict[int, list[int]] = defaultdict(list)
        for gid in gids:
            shard, pid = split_gid(gid)
            out[shard].append(pid)
        return out

    def _per_shard(self, gids: Sequence[int],
                   read: Callable[[Any, list[int]], dict[int, T]]) -> dict[int, T]:
        """``read(shard db, local ids)`` on each shard holding some of ``gids``, keyed by gid."""
        out: dict[int, T] = {}
        for shard, pids in self._by_shard(gids).items():
            answer = self._ask(self.shards[shard], lambda db: read(db, pids), {})
            for pid, value in answer.items():
                out[to_gid(shard, pid)] = value
        return out

    # -- passages -------------------------------------------------------------------------
    def article_ids(self, ids: Sequence[int]) -> dict[int, str]:
        """Passage id → article id for the passages among ``ids`` that exist."""
        return self._per_shard(ids, lambda db, pids: db.article_ids(pids))

    def passage_rows(self, ids: Sequence[int]) -> dict[int, PassageRow]:
        """The passages among ``ids`` with their article's metadata (ids cluster-wide)."""
        rows = self._per_shard(ids, lambda db, pids: db.passage_rows(pids))
        return {gid: dataclasses.replace(row, id=gid) for gid, row in rows.items()}

    def relevance_rows(self, ids: Sequence[int]) -> dict[int, tuple[str, str, str, bytes]]:
        """Lexical columns and vector of each passage among ``ids``."""
        return self._per_shard(ids, lambda db, pids: db.relevance_rows(pids))

    def toned_texts(self, ids: Sequence[int]) -> list[str]:
        """The tone-kept lexical column of the passages among ``ids``, in ``ids`` order."""
        texts: dict[int, str] = {}
        for shard, pids in self._by_shard(ids).items():
            # toned_texts answers in pids order, leaving out deleted passages
            present = self._ask(self.shards[shard], lambda db: db.article_ids(pids), {})
            found = self._ask(self.shards[shard], lambda db: db.toned_texts(pids), [])
            for pid, text in zip([p for p in pids if p in present], found):
                texts[to_gid(shard, pid)] = text
        return [texts[gid] for gid in ids if gid in texts]

    def passages_matching(self, match: str, ids: Sequence[int]) -> set[int]:
        """The passages among ``ids`` whose full-text row matches ``match``."""
        out: set[int] = set()
        for shard, pids in self._by_shard(ids).items():
            found = self._ask(self.shards[shard], lambda db: db.passages_matching(match, pids),
                              set())
            out |= {to_gid(shard, p) for p in found}
        return out

    def fts_doc_freq(self, column: str, term: str) -> int:
        """Passages holding ``term`` in ``column``, summed over the shards (FTS5's count)."""
        return sum(self._ask(s, lambda db: db.fts_doc_freq(column, term), 0)
                   for s in self.shards)

    # -- articles -------------------------------------------------------------------------
    def articles_matching(self, match: str, article_ids: Sequence[str]) -> set[str]:
        """The articles among ``article_ids`` with a passage matching ``match``."""
        return set().union(*(self._ask(s, lambda db: db.articles_matching(match, article_ids),
                                       set()) for s in self.shards))

    def article_meta(self, article_ids: Sequence[str]) -> dict[str, ArticleMeta]:
        """Outlet, category and date of the articles among ``article_ids``."""
        out: dict[str, ArticleMeta] = {}
        for shard in self.shards:
            out.update(self._ask(shard, lambda db: db.article_meta(article_ids), {}))
        return out

    def has_undated(self, filt: MetadataFilter) -> bool:
        """True when some shard has an undated article passing ``filt``'s outlet/category."""
        return any(self._ask(s, lambda db: db.has_undated(filt), False) for s in self.shards)

    def article(self, article_id: str, with_text: bool = False) -> ArticleRecord | None:
        """A whole article (its passage ids cluster-wide), from the shard that holds it."""
        for shard in self.shards:
            record = self._ask(shard, lambda db: db.article(article_id, with_text), None)
            if record is not None:
                record.passages = [dataclasses.replace(p, id=to_gid(shard.number, p.id))
                                   for p in record.passages]
                return record
        return None

    # -- whole index ----------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Articles and passages over all shards."""
        total: Counter = Counter()
        for shard in self.shards:
            total.update(self._ask(shard, lambda db: db.counts(), {}))
        return {"articles": total["articles"], "passages": total["passages"]}

    def facets(self) -> dict[str, list[str]]:
        """Outlets and categories of all shards, most frequent first (counts summed)."""
        out: dict[str, list[str]] = {}
        for key in ("sources", "categories"):
            counts: Counter = Counter()
            for shard in self.shards:
                answer = self._ask(shard, lambda db: db.facet_counts(), {})
                counts.update(dict(answer.get(key, [])))
            ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            out[key] = [name for name, _ in ranked[:FACET_LIMIT]]
        return out
