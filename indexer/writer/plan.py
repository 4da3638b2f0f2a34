"""Step one of a write batch: clean each article and decide what to do with it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from ..article import Article, Passage, SkippedRecord
from ..cleaning import clean_text
from ..db import IndexDB
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


def prepare(raw: Article) -> Prepared | SkippedRecord:
    """Clean an incoming article; a record with no text left is skipped with a reason."""
    title = clean_title(raw.title)
    text = clean_text(raw.text or "", title=title)
    if not text.strip():
        return SkippedRecord(path=raw.id or (raw.url or "?"), line=None,
                             reason="no text after cleaning")
    article = Article(id=raw.id, title=title, text=text, url=(raw.url or None),
                      source=raw.source, published=raw.published, category=raw.category)
    return Prepared(article, content_hash(title, text))


def resolve(db: IndexDB, item: Prepared) -> tuple[str, str | None]:
    """(article id, stored content hash or None) for an incoming article.

    By URL first, then by identical content (a syndicated copy), else a new stable id.
    """
    if item.article.url:
        found = db.article_by_url(item.article.url)
        if found:
            return found.id, found.content_hash
    found = db.article_by_hash(item.chash)
    if found:
        return found.id, found.content_hash
    new_id = stable_article_id(item.article.url, item.chash)
    return new_id, db.content_hash_of(new_id)


def plan_batch(db: IndexDB, raws: list[Article]) -> BatchPlan:
    """Prepare every article of a batch and choose its action against the store."""
    plan = BatchPlan()
    seen_in_batch: dict[str, str] = {}  # content hash -> article id, within this batch
    for raw in raws:
        item = prepare(raw)
        if isinstance(item, SkippedRecord):
            plan.skipped.append(item)
            continue
        if item.chash in seen_in_batch and not item.article.url:
            plan.duplicates += 1
            continue
        article_id, existing_hash = resolve(db, item)
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
