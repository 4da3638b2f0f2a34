"""``vnsearch check --upgrade``: bring an index written by an older vnsearch to this schema.

Schema 2 → 3 adds the places and stories tables and ``articles.story_id``, then
tags and signs every stored article from its stored title and cleaned text, in the order
they were indexed (:func:`indexer.writer.regions.tag_article`: the same rules as a new
index). A schema-1 index goes through 2 first. As for 1 → 2, the old store is copied
first (``store.sqlite.schema2.bak``), the upgrade is one transaction, nothing is
re-embedded and the FAISS file stays valid.

Schema 1 → 2 adds columns and tables (normalised outlet key, unparsed dates,
origin files, one row per category, tombstones) and re-normalises every article's metadata
with today's rules: dates parsed into ISO, outlet names canonicalised, categories split.
Text, passages and vectors are untouched, so nothing is re-embedded and the FAISS file
stays valid. A consistent copy of the old store is kept beside it first
(``store.sqlite.schema1.bak``); the upgrade is one SQLite transaction, so a crash leaves
the old schema. The generation is not bumped (no search result changes but metadata), so
stop servers of the index while upgrading.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from .article import Article
from .db import ArticleMetadata, IndexDB
from .errors import IndexFormatError
from .layout import DATABASE, SCHEMA_VERSION
from .lock import WriteLock
from .manifest import Manifest
from .metadata.normalise import MetadataRules, normalise_metadata
from .settings import Settings


@dataclass
class UpgradeReport:
    """What an upgrade did."""

    from_version: int
    to_version: int
    articles: int = 0
    changed: int = 0
    dates_unparsed: int = 0
    #: Schema 2 → 3: articles given provinces, and stories of more than one article.
    tagged: int = 0
    joined_stories: int = 0
    backup: Path | None = None

    @property
    def upgraded(self) -> bool:
        """False when the index was already current."""
        return self.from_version != self.to_version


def upgrade_index(directory: Path, settings: Settings) -> UpgradeReport:
    """Upgrade the index at ``directory`` in place (taking its write lock)."""
    directory = Path(directory)
    manifest = Manifest.load(directory)
    with WriteLock(directory).held():
        with IndexDB(directory) as db:
            return upgrade_store(db, directory, manifest, settings)


def upgrade_store(db: IndexDB, directory: Path, manifest: Manifest,
                  settings: Settings) -> UpgradeReport:
    """Upgrade an open store whose write lock the caller holds (the writer upgrades an old
    index it opens this way: ``vnsearch index`` into it just works)."""
    version = int(db.schema_version() or 0)
    if version == SCHEMA_VERSION:
        return UpgradeReport(version, version)
    if version not in (1, 2):
        raise IndexFormatError(f"{directory}: schema version {version}: this vnsearch "
                               f"upgrades schema 1 or 2 to {SCHEMA_VERSION} only")
    report = UpgradeReport(version, SCHEMA_VERSION, backup=_backup(db, directory, version))
    with db.transaction():
        if version == 1:
            db.add_schema_2()
            _renormalise(db, MetadataRules.from_settings(settings), report)
        db.add_schema_3()
        _tag_and_sign(db, report)
    manifest.schema_version = SCHEMA_VERSION
    manifest.save(directory)
    logging.getLogger("vnsearch").warning(
        "vnsearch: upgraded %s from schema %d to %d (%d articles re-normalised, %d tagged "
        "with provinces, %d joined a story; nothing re-embedded; old store kept as %s)",
        directory, version, SCHEMA_VERSION, report.articles, report.tagged,
        report.joined_stories, report.backup)
    return report


def _backup(db: IndexDB, directory: Path, version: int) -> Path:
    target = directory / f"{DATABASE}.schema{version}.bak"
    if target.exists():
        raise IndexFormatError(f"{target}: a backup from an earlier upgrade is in the way; "
                               "move it elsewhere first")
    db.backup_to(target)
    return target


def _renormalise(db: IndexDB, rules: MetadataRules, report: UpgradeReport) -> None:
    """Every article's stored metadata through today's normalisation."""
    for article_id, meta in list(db.iter_metadata()):
        report.articles += 1
        art = normalise_metadata(Article(id=article_id, title=None, text="", url=meta.url,
                                         source=meta.source, published=meta.published,
                                         category="; ".join(meta.categories) or None), rules)
        new = ArticleMetadata(meta.url, art.source, art.published, art.published_raw,
                             art.categories)
        report.dates_unparsed += bool(art.published_raw)
        if new != meta.without_origin():
            report.changed += 1
        db.set_metadata(article_id, new, now=None)


def _tag_and_sign(db: IndexDB, report: UpgradeReport) -> None:
    """Schema 3: every article's provinces and story, in indexing order."""
    from .writer import tag_article

    for art in list(db.iter_article_texts()):
        tags = tag_article(db, art.id, art.title, art.text, art.source)
        report.tagged += bool(tags.provinces)
        report.joined_stories += tags.story_id != art.id
