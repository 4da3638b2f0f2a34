"""The exclusive writer of one index directory: plan → embed → persist, a transaction a batch."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..article import Article, SkippedRecord
from ..chunking import ChunkSettings, chunk_text
from ..db import IndexDB
from ..derived import derived_missing, write_manifest, write_vectors
from ..embed_cache import EmbeddingCache
from ..encoders import PassageEncoder
from ..errors import IndexFormatError, InputError
from ..layout import DATABASE, MANIFEST, utc_now
from ..lexical.files import LexicalWrite, write_lexical
from ..lock import WriteLock
from ..manifest import Manifest
from ..metadata.normalise import MetadataRules
from ..settings import Settings
from ..sharding import ShardSpec
from ..upgrade import upgrade_store
from ..vector_files import VectorPolicy, vectors_written
from ..vector_generation import VectorWrite
from .identity import embedding_text, lexical_columns
from .plan import FILE_KEY_PREFIX, Action, Planned, Prepared, plan_batch
from .regions import tag_article
from .summary import IndexSummary

# Room left under the model's token limit for the prompt and title context of a passage.
TOKEN_MARGIN = 24


def cache_key(encoder: PassageEncoder) -> str:
    """The embedding-cache model key: int8 vectors differ slightly from fp32 ones, so each
    backend (and export revision) has its own entries."""
    info = encoder.info
    return info.model_id if info.backend == "torch" else \
        f"{info.model_id}+{info.backend}{info.revision}"


#: Seconds between the derived files' writes during a long run (see ``_maybe_write_derived``).
DERIVED_INTERVAL_S = 30.0


class IndexWriter:
    """Exclusive writer of one index directory. Use as a context manager.

    ``encoder`` may be None for writes that embed nothing (deletes): then the index must
    already exist, and no model is loaded. ``background_fold`` (API writes): a vector fold
    too large to run inline (:mod:`indexer.vector_fold`) runs in a process of its own
    rather than inside this writer's write.
    """

    def __init__(self, directory: Path, settings: Settings,
                 encoder: PassageEncoder | None = None, shard: ShardSpec | None = None,
                 *, background_fold: bool = False) -> None:
        self.directory = Path(directory)
        self.settings = settings
        self.encoder = encoder
        self.manifest: Manifest | None = None
        self._lock = WriteLock(self.directory)
        self._db: IndexDB | None = None
        #: Passage ids removed since the vector record of generation ``_vectors_since``
        #: (None: not known, the next vector write compares with the store).
        self._removed: list[int] = []
        self._vectors_since: int | None = None
        self._policy = VectorPolicy.from_settings(settings)
        self._background_fold = background_fold
        #: What the last write of the vector files did (None before one).
        self.vector_write: VectorWrite | None = None
        #: Seconds of the last batch's steps (embed, commit) and derived writes (vectors,
        #: lexical, manifest): where a write's time goes (bench/query.py --write-probe).
        self.timings: dict[str, float] = {}
        self._cache: EmbeddingCache | None = None
        self._dirty = False
        self._derived_at = time.monotonic()  # when the derived files were last written
        self._derived_s = 0.0  # how long that took
        #: What the last write of the lexical matrix files did (None before one).
        self.lexical_write: LexicalWrite | None = None
        self.rules = MetadataRules.from_settings(settings)
        #: Keep only this shard's articles (``--shard i/N``); None: all.
        self.shard = shard

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> IndexWriter:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self, wait_s: float = 0.0) -> None:
        """Take the write lock (waiting up to ``wait_s``) and open or create the index."""
        if self.encoder is None:
            Manifest.load(self.directory)  # nothing to create an index with: it must exist
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock.acquire(wait_s)
        try:
            self._open_locked()
        except BaseException:
            self._lock.release()
            raise

    def _open_locked(self) -> None:
        fresh = not (self.directory / MANIFEST).exists()
        if fresh and (self.directory / DATABASE).exists() \
                and not self._empty_store_from_killed_create():
            raise IndexFormatError(f"{self.directory / MANIFEST}: missing although {DATABASE} "
                                   "exists; refusing to overwrite — restore the manifest or use "
                                   "a new directory")
        self.manifest = self._new_manifest() if fresh else self._existing_manifest()
        self._db = IndexDB(self.directory)
        if fresh:
            self._db.init_schema()
        else:
            # An index from an older vnsearch is upgraded in place (backup kept) rather than
            # refused: the writer holds the lock the upgrade needs.
            upgrade_store(self._db, self.directory, self.manifest, self.settings)
            self._db.check_schema()
        # The manifest's chunking wins over settings so one index never mixes two schemes.
        chunking = self.manifest.chunking
        self.chunk_settings = ChunkSettings.from_manifest(chunking)
        self.title_context = bool(chunking.get("title_context", True))
        self._check_vectors()
        if derived_missing(self.directory, self._db.generation()):
            self._dirty = True  # e.g. an index from before the lexical files: write them
        if fresh:
            self._write_derived()

    def _new_manifest(self) -> Manifest:
        if self.encoder is None:
            raise InputError(f"{self.directory}: no index to change")
        info = self.encoder.info
        chunking = {"min_words": self.settings.chunk_min_words,
                    "max_words": self.settings.chunk_max_words,
                    "max_chars": ChunkSettings(max_words=self.settings.chunk_max_words,
                                               max_chars=self.settings.chunk_max_chars
                                               ).char_limit,
                    "title_context": self.settings.chunk_title_context,
                    "lexical": "syllables toned + folded, folded bigrams, title included"}
        return Manifest(model_name=info.name, model_id=info.model_id, dimension=info.dimension,
                        max_tokens=info.max_tokens, chunking=chunking)

    def _existing_manifest(self) -> Manifest:
        manifest = Manifest.load(self.directory)
        if self.encoder is not None:
            manifest.check_model(self.encoder.info.model_id, self.directory)
        return manifest

    def _empty_store_from_killed_create(self) -> bool:
        """A store at generation 0 with no manifest: a creation killed before its manifest."""
        try:
            with IndexDB(self.directory) as db:
                empty = db.generation() == 0 and db.counts()["articles"] == 0
        except Exception:
            return False
        if empty:
            for name in (DATABASE, DATABASE + "-wal", DATABASE + "-shm"):
                (self.directory / name).unlink(missing_ok=True)
        return empty

    def _check_vectors(self) -> None:
        """Note whether the current generation's vectors are written (then this writer only
        appends to them); else the next derived write rolls them forward from the store."""
        db, manifest = self._state()
        generation = db.generation()
        if generation == manifest.generation and vectors_written(self.directory, generation):
            self._vectors_since = generation
        else:
            self._dirty = True

    def close(self) -> None:
        """Write the derived files if anything changed, close, and release the lock."""
        try:
            if self._db is not None:
                if self._dirty:
                    self._write_derived()
                self._db.close()
                self._db = None
            if self._cache is not None:
                self._cache.close()
                self._cache = None
        finally:
            self._lock.release()

    def _state(self) -> tuple[IndexDB, Manifest]:
        if self._db is None or self.manifest is None:
            raise IndexFormatError(f"{self.directory}: the writer is not open")
        return self._db, self.manifest

    def _write_derived(self) -> None:
        """Write the vector files (a segment; a fold when due), the lexical matrix files
        (incrementally) and the manifest for the committed generation, drop old files."""
        db, manifest = self._state()
        started = time.monotonic()
        removed, since = np.asarray(self._removed, np.int64), self._vectors_since
        self.vector_write = write_vectors(self.directory, db, manifest, self._policy, removed,
                                          since, background=self._background_fold)
        self._removed, self._vectors_since = [], self.vector_write.generation
        lexical_at = time.monotonic()
        # The lexical files lag by the same generations as the vector record did.
        self.lexical_write = write_lexical(self.directory, db, removed=removed, since=since)
        manifest_at = time.monotonic()
        write_manifest(self.directory, manifest, db, self.lexical_write)
        self.timings.update(vectors=lexical_at - started, lexical=manifest_at - lexical_at,
                            manifest=time.monotonic() - manifest_at)
        self._dirty = False
        self._derived_at = time.monotonic()
        self._derived_s = self._derived_at - started

    def _maybe_write_derived(self) -> None:
        """During a long run, write the derived files now and then, not only at close:
        readers swap only to generations that have them (see ``Searcher.maybe_reload``), so
        this is how often they see the run's progress. Every :data:`DERIVED_INTERVAL_S`, or
        20x the last write's duration if longer (≤ 5 % of the run at any index size)."""
        due = max(DERIVED_INTERVAL_S, 20 * self._derived_s)
        if self._dirty and time.monotonic() - self._derived_at >= due:
            self._write_derived()

    # -- writes -----------------------------------------------------------------------------
    def add_articles(self, raws: Iterable[Article | Prepared | SkippedRecord],
                     force: bool = False) -> IndexSummary:
        """Index one batch of articles in one transaction (add, update or skip each).

        Items may come already cleaned (:class:`.plan.Prepared`, by the indexing pipeline).

        Articles deleted earlier (tombstoned) are not brought back unless ``force``.
        """
        db, _ = self._state()
        summary = IndexSummary()
        plan = plan_batch(db, list(raws), self.rules, force, self.shard)
        for record in plan.skipped:
            summary.skip(record)
        summary.duplicates += plan.duplicates
        summary.tombstoned += len(plan.tombstoned)
        summary.other_shard += plan.other_shard
        summary.dates_unparsed += len(plan.dates_unparsed)
        summary.unparsed_examples += [f"{a.origin or a.url or a.title}: {a.published_raw!r}"
                                      for a in plan.dates_unparsed[:5]]
        started = time.monotonic()
        self._embed_planned(plan.planned, summary)
        self.timings["embed"] = time.monotonic() - started
        self._persist(plan.planned, summary, plan.revived)
        return summary

    def _embed_planned(self, planned: list[Planned], summary: IndexSummary) -> None:
        """Cut every article that will be (re)written and give each passage its vector."""
        texts: list[str] = []
        for entry in planned:
            if entry.writes_passages:
                item = entry.item
                item.passages = chunk_text(item.article.text, self.chunk_settings,
                                           self._count_tokens,
                                           self._encoder().info.max_tokens - TOKEN_MARGIN)
                texts.extend(embedding_text(item.article.title, p.text, self.title_context)
                             for p in item.passages)
        vectors = self._embed(texts, summary)
        start = 0
        for entry in planned:
            if entry.writes_passages:
                n = len(entry.item.passages)
                entry.item.vectors = vectors[start:start + n]
                start += n

    def _encoder(self) -> PassageEncoder:
        if self.encoder is None:
            raise InputError("this command does not embed")
        return self.encoder

    def _count_tokens(self, text: str) -> int:
        return self._encoder().count_tokens(text)

    def _embed(self, texts: list[str], summary: IndexSummary) -> np.ndarray:
        """Vectors for ``texts``: from the embedding cache, the rest from the encoder."""
        if not texts:
            return np.zeros((0, self.manifest.dimension if self.manifest else 0), np.float32)
        encoder = self._encoder()
        if self._cache is None:
            self._cache = EmbeddingCache(self.settings.embedding_cache_path, cache_key(encoder),
                                         encoder.info.dimension)
        out = np.zeros((len(texts), encoder.info.dimension), dtype=np.float32)
        cached = self._cache.get_many(texts)
        for i, vector in cached.items():
            out[i] = vector
        missing = [i for i in range(len(texts)) if i not in cached]
        summary.embedded_from_cache += len(cached)
        if missing:
            todo = [texts[i] for i in missing]
            vectors = encoder.encode_passages(todo, batch_size=self.settings.batch_size)
            self._cache.put_many(todo, vectors)
            out[missing] = vectors
            summary.embedded += len(missing)
        return out

    def _persist(self, planned: list[Planned], summary: IndexSummary,
                 revived: list[str]) -> None:
        """Write a planned, embedded batch in one transaction, then update the vector index."""
        db, manifest = self._state()
        now = utc_now()
        removed_ids: list[int] = []
        added_ids: list[int] = []
        started = time.monotonic()
        with db.transaction():
            for article_id in revived:
                db.remove_tombstones(article_id)
            for entry in planned:
                if entry.action is Action.SAME:
                    self._persist_same(entry, summary, now)
                    continue
                removed_ids.extend(self._persist_article(entry, summary, now))
                assert entry.item.vectors is not None  # embedded by _embed_planned
                for passage, vector in zip(entry.item.passages, entry.item.vectors, strict=False):
                    added_ids.append(db.insert_passage(
                        entry.article_id, passage, vector.tobytes(),
                        lexical_columns(entry.item.article.title, passage.text)))
                summary.passages_added += len(entry.item.passages)
                summary.article_ids.append(entry.article_id)
            changed = bool(removed_ids or added_ids or summary.updated)
            if changed:
                db.bump_generation()
        self.timings["commit"] = time.monotonic() - started
        # The added vectors are read back from the store by the next vector write (the
        # passages above the last record's ids); the removed ones become tombstones.
        self._removed.extend(removed_ids)
        if changed:
            self._dirty = True
            write_manifest(self.directory, manifest, db)
            self._maybe_write_derived()

    def _persist_same(self, entry: Planned, summary: IndexSummary, now: str) -> None:
        """Content already stored: record a syndicated copy's URL or refreshed metadata."""
        db, _ = self._state()
        art = entry.item.article
        if art.url and not db.url_known(art.url):
            summary.duplicates += 1  # syndicated copy: keep it once, record its URL
            db.set_url_if_missing(entry.article_id, art.url)
        elif db.merge_metadata(entry.article_id, art, now):
            summary.updated += 1
        else:
            summary.unchanged += 1
        db.add_aliases(entry.article_id, art.url, art.id)
        if art.file_key and not db.has_file_key(entry.article_id):
            # Another file with the same content keeps its own key: editing the copy later
            # must not overwrite the first file's article.
            db.add_aliases(entry.article_id, None, FILE_KEY_PREFIX + art.file_key)
        summary.article_ids.append(entry.article_id)

    def _persist_article(self, entry: Planned, summary: IndexSummary, now: str) -> list[int]:
        """Insert a new article row or replace a changed one; returns removed passage ids."""
        db, _ = self._state()
        art = entry.item.article
        old: list[int] = []
        if entry.action is Action.REPLACE:
            old = db.passage_ids_of(entry.article_id)
            db.delete_passages(old)
            db.replace_article(entry.article_id, art, entry.item.chash, now)
            summary.updated += 1
            summary.passages_removed += len(old)
        else:
            db.insert_article(entry.article_id, art, entry.item.chash, now)
            db.remove_tombstones(entry.article_id)  # added again: no longer deleted
            summary.added += 1
        db.add_aliases(entry.article_id, art.url, art.id)
        if art.file_key:
            db.add_aliases(entry.article_id, None, FILE_KEY_PREFIX + art.file_key)
        tag_article(db, entry.article_id, art.title, art.text, art.source)
        summary.storied.append((entry.item.position, entry.article_id))
        return old

    def resolve_key(self, key: str) -> str | None:
        """Article id for an id, a URL or an input (external) id."""
        return self._state()[0].resolve_key(key)

    def delete(self, keys: Iterable[str], tombstone: bool = True) -> IndexSummary:
        """Delete articles by id, URL or input id, in one transaction.

        With ``tombstone`` (deletes by a user: CLI and API) the article is remembered so a
        re-index of its file does not bring it back (``vnsearch index --force`` does).
        """
        db, _ = self._state()
        summary = IndexSummary()
        with db.transaction():
            article_ids = []
            for key in keys:
                article_id = db.resolve_key(key)
                if article_id is None:
                    summary.not_found += 1
                else:
                    article_ids.append(article_id)
            removed = self._delete_ids(dict.fromkeys(article_ids), summary, tombstone)
        self._deleted(removed, summary)
        return summary

    def sync_folder(self, root: Path) -> IndexSummary:
        """Delete the articles read from files under ``root`` that no longer exist (no
        tombstone: if the file comes back, so does the article)."""
        db, _ = self._state()
        root = Path(root).resolve()
        summary = IndexSummary()
        with db.transaction():
            gone = [aid for origin, ids in db.origins().items()
                    if Path(origin).is_relative_to(root) and not Path(origin).exists()
                    for aid in ids]
            removed = self._delete_ids(gone, summary, tombstone=False)
        self._deleted(removed, summary)
        summary.synced_removed = summary.deleted
        return summary

    def _delete_ids(self, article_ids: Iterable[str], summary: IndexSummary,
                    tombstone: bool) -> list[int]:
        """Delete stored articles inside the caller's transaction; returns their passage ids
        (pass them to :meth:`_deleted` after the commit)."""
        db, _ = self._state()
        removed: list[int] = []
        now = utc_now()
        for article_id in article_ids:
            if tombstone:
                db.add_tombstones(article_id, db.article_keys(article_id), now)
            old = db.delete_article(article_id)
            removed.extend(old)
            summary.deleted += 1
            summary.passages_removed += len(old)
            summary.article_ids.append(article_id)
        if summary.deleted:
            db.bump_generation()
        return removed

    def _deleted(self, removed: list[int], summary: IndexSummary) -> None:
        """After a committed delete: drop the vectors and write the manifest."""
        db, manifest = self._state()
        self._removed.extend(removed)
        if summary.deleted:
            self._dirty = True
            write_manifest(self.directory, manifest, db)
