"""Step one of a write batch: clean each article and decide what to do with it."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..article import Article, Passage, SkippedRecord
from ..cleaning import clean_text
from ..db import IndexDB
from ..metadata.normalise import MetadataRules, normalise_metadata
from ..sharding import ShardSpec
from .identity import clean_title, content_hash, stable_article_id


class Action(enum.Enum):
    """What a batch does with one incoming article."""

    ADD = "add"            # new: insert it and its passages
    SAME = "same"          # content already stored: maybe new aliases or metadata
    REPLACE = "replace"    # stored under this identity with other content: re-chunk, re-embed


@dataclass
class Prepared:
    """A cleaned article with its content hash (passages cut only if it will be written)."""

    article: Article
    chash: str
    passages: list[Passage] = field(default_factory=list)
    vectors: np.ndarray | None = None
    #: Its place in the run's input (counted from 0 by ``index_articles``; -1 when not
    #: counted): a cluster assigns stories across shards in this order.
    position: int = -1


@dataclass
class Planned:
    """One article of a batch with the id it is stored under and the action to take."""

    article_id: str
    item: Prepared
    action: Action

    @property
    def writes_passages(self) -> bool:
        """True when the article's passages are (re)written, so they need vectors."""
        return self.action is not Action.SAME


@dataclass
class BatchPlan:
    """The plan of one batch: planned articles, plus what was skipped or merged."""

    planned: list[Planned] = field(default_factory=list)
    skipped: list[SkippedRecord] = field(default_factory=list)
    duplicates: int = 0
    #: Articles deleted earlier (tombstoned) and therefore not brought back.
    tombstoned: list[str] = field(default_factory=list)
    #: Articles left out because they belong to another shard (``--shard``).
    other_shard: int = 0
    #: Tombstoned ids whose articles ``--force`` brings back (their tombstones go).
    revived: list[str] = field(default_factory=list)
    #: Articles whose input date could not be parsed (kept as ``published_raw``).
    dates_unparsed: list[Article] = field(default_factory=list)


def prepare(raw: Article, rules: MetadataRules) -> Prepared | SkippedRecord:
    """Clean an incoming article and normalise its metadata; a record with no text left is
    skipped with a reason."""
    title = clean_title(raw.title)
    text = clean_text(raw.text or "", title=title)
    if not text.strip():
        return SkippedRecord(path=raw.origin or raw.id or (raw.url or "?"), line=None,
                             reason="no text after cleaning")
    article = normalise_metadata(
        dataclasses.replace(raw, title=title, text=text, url=(raw.url or None)), rules)
    return Prepared(article, content_hash(title, text))


#: The prefix of a file key among an article's aliases (``external_ids``).
FILE_KEY_PREFIX = "file:"


def resolve(db: IndexDB, item: Prepared) -> tuple[str, str | None]:
    """(article id, stored content hash or None) for an incoming article.

    Identity, first match wins: the input id, the URL, the file it was read from (an article
    with neither id nor URL; see ``Article.file_key``), identical content (a syndicated
    copy); else a new stable id. A single-article file indexed before file keys existed is
    found by its stored origin once, so editing it updates the article.
    """
    art = item.article
    found = db.article_by_alias(art.id) if art.id else None
    if found is None and art.url:
        found = db.article_by_url(art.url)
    if found is None and art.file_key:
        found = db.article_by_alias(FILE_KEY_PREFIX + art.file_key)
        if found is None and art.file_key == art.origin:  # a single-article file
            found = db.only_article_from(art.file_key)
    if found is None:
        found = db.article_by_hash(item.chash)
    if found:
        return found.id, found.content_hash
    new_id = stable_article_id(art.url, item.chash)
    return new_id, db.content_hash_of(new_id)


def deleted_as(db: IndexDB, article_id: str, item: Prepared) -> str | None:
    """The id under which the article was deleted through the API or CLI, or None (a
    tombstone remembers it by id, URL, input id and content)."""
    art = item.article
    keys = [article_id, art.url or "", art.id or "", f"hash:{item.chash}",
            FILE_KEY_PREFIX + art.file_key if art.file_key else ""]
    return db.tombstoned([k for k in keys if k])


def plan_batch(db: IndexDB, raws: Sequence[Article | Prepared | SkippedRecord],
               rules: MetadataRules,
               force: bool = False, shard: ShardSpec | None = None) -> BatchPlan:
    """Prepare every article of a batch and choose its action against the store.

    A tombstoned article is left out (``plan.tombstoned``) unless ``force``; with ``shard``,
    so is every article whose stable id belongs to another shard (``plan.other_shard``).
    """
    plan = BatchPlan()
    seen_in_batch: dict[str, str] = {}  # content hash -> article id, within this batch
    for raw in raws:
        # Already cleaned by the indexing pipeline (Prepared, or skipped by cleaning)?
        item = raw if isinstance(raw, (Prepared, SkippedRecord)) else prepare(raw, rules)
        if isinstance(item, SkippedRecord):
            plan.skipped.append(item)
            continue
        if shard is not None and not shard.holds(stable_article_id(item.article.url,
                                                                   item.chash)):
            plan.other_shard += 1
            continue
        if item.chash in seen_in_batch and not item.article.url:
            plan.duplicates += 1
            continue
        article_id, existing_hash = resolve(db, item)
        deleted = deleted_as(db, article_id, item) if existing_hash is None else None
        if deleted and not force:
            art = item.article
            plan.tombstoned.append(art.url or art.id or art.origin or article_id)
            continue
        if deleted:
            plan.revived.append(deleted)
        if item.article.published_raw:
            plan.dates_unparsed.append(item.article)
        if item.chash in seen_in_batch:
            article_id, existing_hash = seen_in_batch[item.chash], item.chash
        if existing_hash is None:
            action = Action.ADD
        elif existing_hash == item.chash:
            action = Action.SAME
        else:
            action = Action.REPLACE
        seen_in_batch[item.chash] = article_id
        plan.planned.append(Planned(article_id, item, action))
    return plan
