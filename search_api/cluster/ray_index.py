"""``vnsearch cluster index``: embed on a Ray Data actor pool, write shards with the writer.

The run, in order:

1. **Read and route** (driver): ``indexer.readers.iter_inputs``; each article is cleaned
   and identified exactly as the writer does (``plan.prepare`` + ``stable_article_id``)
   and goes to shard ``shard_of(id, N)`` — the rule of ``vnsearch index --shard i/N``.
2. **Cut** (driver): each article is chunked as its shard's writer will chunk it (the
   shard's manifest chunking when it exists, else the settings), giving the exact texts the
   writer will ask vectors for. Texts already in the embedding cache are not sent.
3. **Embed** (Ray Data): ``map_batches`` over an actor pool, one loaded encoder per actor
   with ``threads`` intra-op threads; actors × threads stays within the cluster's CPUs minus
   one (an actor pool holding every CPU starves the other stages: ray-project/ray#44687).
   A killed actor is restarted and its batch retried (``max_restarts``/``max_task_retries``).
4. **Write** (driver): each ``out_dir/shard-{i}`` with the normal ``IndexWriter`` whose
   encoder answers from the pipeline's vectors (no re-embedding; a text the pipeline did not
   embed is an error), so identity, updates, aliases and the manifest follow the same rules
   as ``vnsearch index``; then ``cluster.json`` is summed from the shards.

The driver loads the encoder once for token counting (chunking needs the model's
tokenizer); it never embeds with it.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexer.article import Article, SkippedRecord
from indexer.chunking import ChunkSettings, chunk_text
from indexer.encoders import ModelInfo, PassageEncoder
from indexer.errors import InputError
from indexer.layout import MANIFEST
from indexer.manifest import Manifest
from indexer.metadata.normalise import MetadataRules
from indexer.settings import Settings
from indexer.sharding import shard_of
from indexer.writer import IndexSummary, embedding_text, stable_article_id
from indexer.writer.plan import prepare

#: Passages per Ray Data batch (one actor call): big enough to amortise the call, small
#: enough that a killed actor loses little work.
RAY_BATCH = 64
#: Restarts of a killed encoder actor / retries of its batch before the job fails (bounded:
#: an actor that dies on every start must fail the job, not loop forever).
MAX_RESTARTS = 4

Progress = Callable[[int], None]


@dataclass
class ClusterIndexReport:
    """What ``cluster_index`` did."""

    out_dir: Path
    shard_dirs: list[Path]
    cluster_file: Path
    #: All shards together (counters summed; ``seconds`` is the whole run).
    summary: IndexSummary
    per_shard: list[IndexSummary]
    #: Passages embedded by the Ray actor pool (the rest came from the embedding cache).
    embedded_on_ray: int
    actors: int
    #: 0 when Ray was not started (every passage was in the embedding cache).
    threads_per_actor: int
    embed_seconds: float
    seconds: float
    skipped_records: list[SkippedRecord] = field(default_factory=list)


@dataclass
class _Routed:
    """Reader output split by shard."""

    shards: list[list[Article]]
    skipped: list[SkippedRecord] = field(default_factory=list)


class PipelineEncoder:
    """The writer's encoder during a cluster run: vectors come from the Ray pipeline.

    ``info`` and ``count_tokens`` are the real encoder's (the manifest, the cache key and
    the chunking must be the same as a normal run); ``encode_passages`` only looks up.
    """

    def __init__(self, encoder: PassageEncoder, vectors: dict[str, np.ndarray]) -> None:
        self._encoder = encoder
        self._vectors = vectors
        self.info: ModelInfo = encoder.info

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` as the real encoder counts them."""
        return self._encoder.count_tokens(text)

    def encode_passages(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """The pipeline's vectors for exactly ``texts``; a missing one is a bug, not a
        reason to embed here (the run promises no re-embedding)."""
        missing = [t for t in texts if t not in self._vectors]
        if missing:
            raise RuntimeError(f"cluster index: {len(missing)} passage texts were not embedded "
                               f"by the pipeline, e.g. {missing[0][:80]!r}")
        if not texts:
            return np.zeros((0, self.info.dimension), np.float32)
        return np.vstack([self._vectors[t] for t in texts]).astype(np.float32, copy=False)


class _EmbedActor:
    """One Ray Data actor: one loaded model, ``settings.threads`` threads."""

    def __init__(self, settings: Settings) -> None:
        from indexer.encoders import create_encoder

        self._encoder = create_encoder(settings)
        self._batch = settings.batch_size

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(t) for t in batch["text"]]
        vectors = self._encoder.encode_passages(texts, batch_size=self._batch)
        return {"text": np.asarray(texts, dtype=object), "vector": vectors}


def route(paths: Iterable[str | Path], settings: Settings, shards: int) -> _Routed:
    """Read ``paths`` and put each article in its shard (cleaned and identified as the
    writer does; an article with no text left is skipped like the writer skips it)."""
    from indexer.readers import iter_inputs

    rules = MetadataRules.from_settings(settings)
    routed = _Routed([[] for _ in range(shards)])
    for item in iter_inputs([str(p) for p in paths]):
        if isinstance(item, SkippedRecord):
            routed.skipped.append(item)
            continue
        prepared = prepare(item, rules)
        if isinstance(prepared, SkippedRecord):
            routed.skipped.append(prepared)
            continue
        article_id = stable_article_id(prepared.article.url, prepared.chash)
        routed.shards[shard_of(article_id, shards)].append(item)
    return routed


def shard_dirs_of(out_dir: Path, shards: int) -> list[Path]:
    """``out_dir/shard-{i}``; refuses an ``out_dir`` built with another shard count."""
    if shards < 1:
        raise InputError(f"--shards {shards}: expected at least 1")
    existing = {p.name for p in Path(out_dir).glob("shard-*") if (p / MANIFEST).exists()}
    wanted = [Path(out_dir) / f"shard-{i}" for i in range(shards)]
    if existing and existing != {p.name for p in wanted}:
        raise InputError(f"{out_dir}: holds {len(existing)} shards ({', '.join(sorted(existing))})"
                         f"; re-run with --shards {len(existing)} (articles are routed by the "
                         "shard count)")
    return wanted


def _chunking(shard_dir: Path, settings: Settings) -> tuple[ChunkSettings, bool]:
    """The chunking the shard's writer will use: its manifest's, else the settings'."""
    if (shard_dir / MANIFEST).exists():
        chunking = Manifest.load(shard_dir).chunking
        return (ChunkSettings(chunking["min_words"], chunking["max_words"]),
                bool(chunking.get("title_context", True)))
    return (ChunkSettings(settings.chunk_min_words, settings.chunk_max_words),
            settings.chunk_title_context)


def passage_texts(articles: list[Article], shard_dir: Path, settings: Settings,
                  encoder: PassageEncoder) -> list[str]:
    """The embedding texts the shard's writer will ask for (same cleaning and chunking)."""
    from indexer.writer.writer import _TOKEN_MARGIN  # the writer's room for prompt + title

    rules = MetadataRules.from_settings(settings)
    chunk, title_context = _chunking(shard_dir, settings)
    limit = encoder.info.max_tokens - _TOKEN_MARGIN
    texts: list[str] = []
    for raw in articles:
        prepared = prepare(raw, rules)
        if isinstance(prepared, SkippedRecord):
            continue
        art = prepared.article
        texts.extend(embedding_text(art.title, p.text, title_context)
                     for p in chunk_text(art.text, chunk, encoder.count_tokens, limit))
    return texts


def _not_cached(texts: list[str], settings: Settings, encoder: PassageEncoder) -> list[str]:
    """``texts`` minus those already in the embedding cache (the writer reads those)."""
    from indexer.embed_cache import EmbeddingCache
    from indexer.writer.writer import cache_key

    unique = list(dict.fromkeys(texts))
    cache = EmbeddingCache(settings.embedding_cache_path, cache_key(encoder),
                           encoder.info.dimension)
    try:
        cached = cache.get_many(unique)
    finally:
        cache.close()
    return [t for i, t in enumerate(unique) if i not in cached]


def plan_threads(cpus: float, actors: int, threads: int | None) -> tuple[int, float]:
    """(threads per actor, CPUs each actor reserves): one CPU left for the other stages."""
    if actors < 1:
        raise InputError(f"--actors {actors}: expected at least 1")
    budget = max(cpus - 1.0, 0.5)
    threads = threads or max(1, int(budget // actors))
    return threads, min(float(threads), budget / actors)


def embed_on_ray(texts: list[str], settings: Settings, actors: int, threads: int,
                 actor_cpus: float, progress: Progress | None = None) -> dict[str, np.ndarray]:
    """Vectors of ``texts`` from a Ray Data actor pool (one model per actor)."""
    import logging

    import ray.data
    from ray.data import ActorPoolStrategy

    if not texts:
        return {}
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    ray.data.DataContext.get_current().enable_progress_bars = False
    actor_settings = settings.model_copy(update={"threads": threads})
    with warnings.catch_warnings():
        # Restart limits and the scheduling strategy have no named parameter before 2.64
        # (the extra pins ray < 2.64), so they go as ray_remote_args, which 2.60 flags.
        warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
        ds = ray.data.from_items([{"text": t} for t in texts]).map_batches(
            _EmbedActor, fn_constructor_kwargs={"settings": actor_settings},
            batch_size=RAY_BATCH, batch_format="numpy", compute=ActorPoolStrategy(size=actors),
            num_cpus=actor_cpus, max_restarts=MAX_RESTARTS, max_task_retries=MAX_RESTARTS,
            # One model per machine first: actors spread over the nodes.
            scheduling_strategy="SPREAD")
    vectors: dict[str, np.ndarray] = {}
    for batch in ds.iter_batches(batch_format="numpy", batch_size=None):
        for text, vector in zip(batch["text"], batch["vector"]):
            vectors[str(text)] = np.asarray(vector, np.float32)
        if progress:
            progress(len(vectors))
    return vectors


def write_shards(routed: _Routed, shard_dirs: list[Path], settings: Settings,
                 encoder: PipelineEncoder) -> list[IndexSummary]:
    """Each shard written by the normal writer (every shard exists afterwards, even empty).

    The writer also gets ``--shard i/N``: it must keep every article routed to it, so an
    article it leaves out means the routing here and the writer's disagree — a bug.
    """
    from indexer.sharding import ShardSpec
    from indexer.writer import index_articles

    summaries = []
    for i, (directory, articles) in enumerate(zip(shard_dirs, routed.shards)):
        summary = index_articles(directory, articles, settings, encoder,
                                 shard=ShardSpec(i, len(shard_dirs)))
        if summary.other_shard:
            raise RuntimeError(f"cluster index: {summary.other_shard} articles routed to "
                               f"shard {i} belong to another shard by the writer's rule")
        summaries.append(summary)
    return summaries


def cluster_index(paths: Iterable[str | Path], out_dir: Path, shards: int, settings: Settings,
                  address: str | None = None, actors: int = 1,
                  threads_per_actor: int | None = None, *,
                  encoder: PassageEncoder | None = None,
                  progress: Progress | None = None) -> ClusterIndexReport:
    """Index ``paths`` into ``shards`` shard directories under ``out_dir`` on Ray.

    ``address``: an existing Ray cluster (left running); None starts a private one on
    127.0.0.1 for the run. ``encoder``: the driver's token counter (loaded when None).
    ``progress(passages embedded so far)`` is called after each embedded batch.
    """
    from search_api.cluster.stats import build_cluster_file

    from .ray_runtime import ray_session

    started = time.perf_counter()
    out_dir = Path(out_dir)
    dirs = shard_dirs_of(out_dir, shards)
    if encoder is None:
        from indexer.encoders import create_encoder

        encoder = create_encoder(settings)
    routed = route(paths, settings, shards)
    texts = [t for arts, d in zip(routed.shards, dirs)
             for t in passage_texts(arts, d, settings, encoder)]
    todo = _not_cached(texts, settings, encoder)
    threads, vectors, embed_seconds = 0, {}, 0.0
    if todo:  # everything cached (a re-run of the same input): no Ray needed
        with ray_session(address) as session:
            threads, actor_cpus = plan_threads(session.cpus, actors, threads_per_actor)
            embed_started = time.perf_counter()
            vectors = embed_on_ray(todo, settings, actors, threads, actor_cpus, progress)
            embed_seconds = time.perf_counter() - embed_started
    per_shard = write_shards(routed, dirs, settings, PipelineEncoder(encoder, vectors))
    out_dir.mkdir(parents=True, exist_ok=True)
    cluster_file = build_cluster_file(dirs, out_dir / "cluster.json")
    total = IndexSummary()
    for record in routed.skipped:
        total.skip(record)
    for summary in per_shard:
        total.merge(summary)
    total.seconds = time.perf_counter() - started
    return ClusterIndexReport(out_dir, dirs, cluster_file, total, per_shard, len(vectors),
                              actors, threads, embed_seconds, total.seconds, routed.skipped)
