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
from concurrent.futures import Executor
from typing import Any, TypeVar

from indexer.db import (
    ArticleMeta,
    ArticleRecord,
    ArticleRegions,
    MetadataFilter,
    PassageRow,
    StoryMember,
)

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


Read = Callable[[Any], Any]


@dataclasses.dataclass
class ShardAnswer:
    """One shard's answer to a call; ``ok`` is False when the shard did not answer."""

    shard: Any
    value: Any
    ok: bool


def ask_shards(calls: Sequence[tuple[Any, Read]], pool: Executor | None,
               missing: MissingShards) -> list[ShardAnswer]:
    """``ask(shard)`` for each ``(shard, ask)`` call — in ``pool`` when there is one and more
    than one call — with every shard that raised :class:`~.shard.ShardUnavailable` noted in
    ``missing``. The one place the cluster asks its shards, for the searcher's rankings and
    for the database reads alike."""
    def one(call: tuple[Any, Read]) -> ShardAnswer:
        shard, ask = call
        try:
            return ShardAnswer(shard, ask(shard), True)
        except ShardUnavailable:
            return ShardAnswer(shard, None, False)

    done = list(pool.map(one, calls)) if pool is not None and len(calls) > 1 \
        else [one(c) for c in calls]
    for answer in done:  # noted here: pool threads do not see the request's record
        if not answer.ok:
            missing.add(answer.shard.number)
    return done


def newest_first(members: Iterable[StoryMember]) -> list[StoryMember]:
    """``members`` as ``IndexDB.story_members`` orders them (``ORDER BY published IS NULL,
    published DESC, id``; SQLite compares text as Python does, by code point)."""
    by_id = sorted(members, key=lambda m: m.article_id)
    dated = sorted((m for m in by_id if m.published is not None),
                   key=lambda m: m.published or "", reverse=True)  # stable: ties keep id order
    return dated + [m for m in by_id if m.published is None]


class ClusterDB:
    """Routes the pipeline's reads to the shards (see module docstring). A shard that raises
    :class:`~.shard.ShardUnavailable` is left out of the answer and noted in ``missing``.

    ``pool``: ask the shards of one read in parallel (remote shards: one round trip each
    instead of one after another); None asks them in turn (shards in this process).
    """

    def __init__(self, shards: list[ShardReader], missing: MissingShards | None = None,
                 pool: Executor | None = None) -> None:
        self.shards = shards
        self.missing = missing or MissingShards()
        self.pool = pool

    # -- routing helpers --------------------------------------------------------------------
    def _gather(self, calls: list[tuple[ShardReader, Read]]) -> list[tuple[ShardReader, Any]]:
        """``read(shard's db)`` for each call; the shards that answered, with their answers."""
        def on_db(read: Read) -> Read:
            return lambda shard: read(shard.db())

        answers = ask_shards([(shard, on_db(read)) for shard, read in calls], self.pool,
                             self.missing)
        return [(a.shard, a.value) for a in answers if a.ok]

    def _everywhere(self, read: Read) -> list[Any]:
        """``read`` on every shard that answers."""
        return [answer for _, answer in self._gather([(s, read) for s in self.shards])]

    def _by_shard(self, gids: Iterable[int]) -> dict[int, list[int]]:
        out: dict[int, list[int]] = defaultdict(list)
        for gid in gids:
            shard, pid = split_gid(gid)
            out[shard].append(pid)
        return out

    def _per_shard(self, gids: Sequence[int],
                   read: Callable[[Any, list[int]], Any]) -> list[tuple[int, list[int], Any]]:
        """``read(shard db, local ids)`` on each shard holding some of ``gids``:
        ``(shard number, its local ids, answer)`` for the shards that answered."""
        groups = self._by_shard(gids)
        calls = [(self.shards[n], (lambda ids: lambda db: read(db, ids))(pids))
                 for n, pids in groups.items()]
        return [(shard.number, groups[shard.number], answer)
                for shard, answer in self._gather(calls)]

    def _keyed(self, gids: Sequence[int], read: Callable[[Any, list[int]], dict]) -> dict:
        """A per-passage read keyed by cluster-wide ids."""
        return {to_gid(n, pid): value for n, _, answer in self._per_shard(gids, read)
                for pid, value in answer.items()}

    # -- passages -------------------------------------------------------------------------
    def article_ids(self, ids: Sequence[int]) -> dict[int, str]:
        """Passage id → article id for the passages among ``ids`` that exist."""
        return self._keyed(ids, lambda db, pids: db.article_ids(pids))

    def passage_rows(self, ids: Sequence[int]) -> dict[int, PassageRow]:
        """The passages among ``ids`` with their article's metadata (ids cluster-wide)."""
        rows = self._keyed(ids, lambda db, pids: db.passage_rows(pids))
        return {gid: dataclasses.replace(row, id=gid) for gid, row in rows.items()}

    def relevance_rows(self, ids: Sequence[int],
                       vectors: bool = True) -> dict[int, tuple[str, str, str, bytes, int]]:
        """Lexical columns and vector of each passage among ``ids``."""
        return self._keyed(ids, lambda db, pids: db.relevance_rows(pids, vectors))

    def toned_texts(self, ids: Sequence[int]) -> list[str]:
        """The tone-kept lexical column of the passages among ``ids``, in ``ids`` order."""
        # toned_texts answers in pids order, leaving out deleted passages: pair them up
        # with the passages that still exist.
        answers = self._per_shard(ids, lambda db, pids: (db.article_ids(pids),
                                                         db.toned_texts(pids)))
        texts: dict[int, str] = {}
        for n, pids, (present, found) in answers:
            for pid, text in zip([p for p in pids if p in present], found, strict=False):
                texts[to_gid(n, pid)] = text
        return [texts[gid] for gid in ids if gid in texts]

    def passages_matching(self, match: str, ids: Sequence[int]) -> set[int]:
        """The passages among ``ids`` whose full-text row matches ``match``."""
        answers = self._per_shard(ids, lambda db, pids: db.passages_matching(match, pids))
        return {to_gid(n, pid) for n, _, found in answers for pid in found}

    def fts_doc_freq(self, column: str, term: str) -> int:
        """Passages holding ``term`` in ``column``, summed over the shards (FTS5's count)."""
        return self.fts_doc_freqs(column, [term])[0]

    def fts_doc_freqs(self, column: str, terms: Sequence[str]) -> list[int]:
        """:meth:`fts_doc_freq` of each of ``terms`` (one call per shard)."""
        totals = [0] * len(terms)
        for counts in self._everywhere(lambda db: db.fts_doc_freqs(column, list(terms))):
            totals = [a + b for a, b in zip(totals, counts, strict=False)]
        return totals

    # -- articles -------------------------------------------------------------------------
    def articles_matching(self, match: str, article_ids: Sequence[str]) -> set[str]:
        """The articles among ``article_ids`` with a passage matching ``match``."""
        return set().union(*self._everywhere(
            lambda db: db.articles_matching(match, article_ids)))

    def article_meta(self, article_ids: Sequence[str]) -> dict[str, ArticleMeta]:
        """Outlet, category and date of the articles among ``article_ids``."""
        out: dict[str, ArticleMeta] = {}
        for found in self._everywhere(lambda db: db.article_meta(article_ids)):
            out.update(found)
        return out

    def has_undated(self, filt: MetadataFilter) -> bool:
        """True when some shard has an undated article passing ``filt``'s outlet/category."""
        return any(self._everywhere(lambda db: db.has_undated(filt)))

    def article(self, article_id: str, with_text: bool = False) -> ArticleRecord | None:
        """A whole article (its passage ids cluster-wide), from the shard that holds it."""
        for shard, record in self._gather([(s, lambda db: db.article(article_id, with_text))
                                           for s in self.shards]):
            if record is not None:
                record.passages = [dataclasses.replace(p, id=to_gid(shard.number, p.id))
                                   for p in record.passages]
                return record
        return None

    # -- whole index ----------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Articles and passages over all shards."""
        total: Counter = Counter()
        for counts in self._everywhere(lambda db: db.counts()):
            total.update(counts)
        return {"articles": total["articles"], "passages": total["passages"]}

    def facets(self) -> dict[str, list[str]]:
        """Outlets and categories of all shards, most frequent first (counts summed)."""
        answers = self._everywhere(lambda db: db.facet_counts())
        out: dict[str, list[str]] = {}
        for key in ("sources", "categories"):
            counts: Counter = Counter()
            for answer in answers:
                counts.update(dict(answer.get(key, [])))
            ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            out[key] = [name for name, _ in ranked[:FACET_LIMIT]]
        return out

    # -- places and stories -------------------------------------------------------------
    # A story id is cluster-wide: `cluster index` gives a story's articles one id whatever
    # their shards (indexer.cluster.stories), so a story's members come from several shards.
    def article_regions(self, article_ids: Sequence[str],
                        with_places: bool = True) -> dict[str, ArticleRegions]:
        """Story and provinces of the articles among ``article_ids``, from their shards."""
        out: dict[str, ArticleRegions] = {}
        for found in self._everywhere(lambda db: db.article_regions(article_ids, with_places)):
            out.update(found)
        return out

    def story_members(self, story_ids: Sequence[str]) -> dict[str, list[StoryMember]]:
        """Story id → its articles from every shard, in one index's order: newest first,
        undated last, then by article id."""
        out: dict[str, list[StoryMember]] = {}
        for found in self._everywhere(lambda db: db.story_members(story_ids)):
            for story, members in found.items():
                out.setdefault(story, []).extend(members)
        return {story: newest_first(members) for story, members in out.items()}

    def province_counts(self) -> list[tuple[str, int]]:
        """Current provinces of all shards with their article counts, most frequent first."""
        counts: Counter = Counter()
        for answer in self._everywhere(lambda db: db.facet_counts()):
            counts.update(dict(answer.get("provinces", [])))
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
