"""``vnsearch cluster index``: clean, route, chunk and embed on Ray Data, write shards with the
writer.

The run, in order:

1. **Read** (driver): ``indexer.readers.iter_inputs``. The inputs are paths of this machine
   (another node may not see them), so reading stays here; the raw articles go to Ray Data
   and unreadable records stay here for the summary.
2. **Route** (Ray tasks, no model, a quarter CPU each): each article is cleaned, normalised
   and identified exactly as the writer does (``plan.prepare`` + ``stable_article_id``) and
   goes to shard ``shard_of(id, N)`` — the rule of ``vnsearch index --shard i/N``; one with
   no text left is marked skipped with the writer's reason.
3. **Cut and embed** (Ray Data actor pool): one loaded encoder per actor with ``threads``
   intra-op threads; each actor chunks an article as its shard's writer will (the shard's
   manifest chunking, read on the driver, else the settings; the model's token counter),
   asks the driver's embedding cache which texts it already holds (a small actor on the
   driver's node: the cache is a file of this machine) and embeds the others. Actors ×
   threads stays within the cluster's CPUs minus one (an actor pool holding every CPU starves
   the other stages: ray-project/ray#44687). A killed actor is restarted and its batch
   retried (``max_restarts``/``max_task_retries``).
4. **Write** (driver): each ``out_dir/shard-{i}`` with the normal ``IndexWriter`` whose
   encoder answers from the pipeline's vectors (no re-embedding; a text the pipeline did not
   embed and the cache does not hold is an error), so identity, updates, aliases and the
   manifest follow the same rules as ``vnsearch index``; then the story step
   (:mod:`.stories`) gives the written articles one story id across shards, replaying the
   writer's story rule in input order over all shards; then ``cluster.json`` is summed
   from the shards.

The driver loads the encoder for its ``info`` and token counter (the writer checks the
chunking with them); it never embeds with it. Ray starts for any run with articles, even one
whose passages are all cached (which passages those are is known only after chunking).
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from indexer.writer import IndexSummary, embedding_text, prepare, stable_article_id

from .stories import StoryStep, unify_run_stories

#: Articles per routing task: routing is cheap, so big batches keep the task count low.
ROUTE_BATCH = 64
#: Articles per Ray Data batch of the actor pool (one actor call, ~10 passages each): big
#: enough to amortise the call, small enough that a killed actor loses little work.
RAY_BATCH = 8
#: CPUs a routing task reserves: a little, so routing runs beside the actors, not instead.
ROUTE_CPUS = 0.25
#: Restarts of a killed encoder actor / retries of its batch before the job fails (bounded:
#: an actor that dies on every start must fail the job, not loop forever).
MAX_RESTARTS = 4

Progress = Callable[[int], None]
#: The shard's chunking as the actors get it: (its chunk settings, title context).
Chunking = tuple[ChunkSettings, bool]


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
    #: 0 when Ray was not started (no article was read).
    threads_per_actor: int
    #: Seconds of the Ray pipeline (routing, chunking and embedding together).
    embed_seconds: float
    seconds: float
    skipped_records: list[SkippedRecord] = field(default_factory=list)
    #: The story step: one story id across shards (see :mod:`.stories`).
    stories: StoryStep = field(default_factory=StoryStep)


@dataclass
class _Routed:
    """Pipeline output split by shard (in input order)."""

    shards: list[list[Article]]
    skipped: list[SkippedRecord] = field(default_factory=list)
    #: The input position of each article of ``shards`` (the story step's order).
    positions: list[list[int]] = field(default_factory=list)


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


class _CacheReader:
    """The driver's embedding cache, asked by the encoder actors which texts it holds.

    It runs pinned to the driver's node because the cache is a file of that machine.
    """

    def __init__(self, path: str, model_key: str, dimension: int) -> None:
        from indexer.embed_cache import EmbeddingCache

        self._cache = EmbeddingCache(Path(path), model_key, dimension)

    def held(self, texts: list[str]) -> list[bool]:
        """For each text, whether the cache holds its vector (the writer reads those)."""
        found = self._cache.get_many(texts)
        return [i in found for i in range(len(texts))]


def route_batch(batch: dict[str, np.ndarray], settings: Settings,
                shards: int) -> dict[str, np.ndarray]:
    """Stage 2 (a Ray task): clean, identify and route raw articles exactly as the writer
    does; a skipped one gets shard -1 and the writer's reason."""
    rules = MetadataRules.from_settings(settings)
    rows: list[tuple[int, int, str, str, str, str]] = []
    for i, raw in zip(batch["i"], batch["article"], strict=False):
        fields = json.loads(str(raw))
        fields["categories"] = tuple(fields["categories"])  # JSON turned the tuple to a list
        prepared = prepare(Article(**fields), rules)
        if isinstance(prepared, SkippedRecord):
            rows.append((int(i), -1, prepared.reason, prepared.path, "", ""))
            continue
        art = prepared.article
        shard = shard_of(stable_article_id(art.url, prepared.chash), shards)
        rows.append((int(i), shard, "", "", art.title or "", art.text))
    columns = list(zip(*rows, strict=False)) if rows else [()] * 6
    out = {"i": np.asarray(columns[0], np.int64), "shard": np.asarray(columns[1], np.int64)}
    for name, values in zip(("reason", "path", "title", "text"), columns[2:], strict=False):
        out[name] = np.asarray(values, dtype=object)
    return out


class _EmbedActor:
    """Stage 3 (one Ray Data actor): one loaded model, ``settings.threads`` threads.

    Output rows: one per article (``i`` ≥ 0: its shard, or -1 and the skip reason), then
    one per passage text embedded here (``i`` = -1, ``text``, ``vector``).
    """

    def __init__(self, settings: Settings, chunking: list[Chunking], cache: Any) -> None:
        from indexer.encoders import create_encoder
        from indexer.writer import TOKEN_MARGIN  # the writer's room for prompt + title

        self._encoder = create_encoder(settings)
        self._batch = settings.batch_size
        self._chunking = chunking
        self._cache = cache
        self._limit = self._encoder.info.max_tokens - TOKEN_MARGIN

    def _texts(self, shard: int, title: str, text: str) -> list[str]:
        """The embedding texts the shard's writer will ask for (same chunking)."""
        chunk_settings, title_context = self._chunking[shard]
        passages = chunk_text(text, chunk_settings,
                              self._encoder.count_tokens, self._limit)
        return [embedding_text(title, p.text, title_context) for p in passages]

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import ray

        texts: list[str] = []
        for shard, title, text in zip(batch["shard"], batch["title"], batch["text"], strict=False):
            if shard >= 0:
                texts.extend(self._texts(int(shard), str(title), str(text)))
        unique = list(dict.fromkeys(texts))
        held = ray.get(self._cache.held.remote(unique)) if unique else []
        todo = [t for t, h in zip(unique, held, strict=False) if not h]
        dim = self._encoder.info.dimension
        vectors = (self._encoder.encode_passages(todo, batch_size=self._batch) if todo
                   else np.zeros((0, dim), np.float32))
        n, pad = len(batch["i"]), len(todo)
        return {"i": np.concatenate([batch["i"], np.full(pad, -1, np.int64)]),
                "shard": np.concatenate([batch["shard"], np.full(pad, -1, np.int64)]),
                "reason": np.asarray([str(r) for r in batch["reason"]] + [""] * pad, object),
                "path": np.asarray([str(p) for p in batch["path"]] + [""] * pad, object),
                "text": np.asarray([""] * n + todo, dtype=object),
                "vector": np.vstack([np.zeros((n, dim), np.float32),
                                     np.asarray(vectors, np.float32)])}


def read_inputs(paths: Iterable[str | Path]) -> tuple[list[Article], list[SkippedRecord]]:
    """Stage 1, on the driver: the inputs are paths of this machine, which the other nodes
    may not see. Returns the raw articles and the records that could not be read."""
    from indexer.readers import iter_inputs

    articles: list[Article] = []
    unread: list[SkippedRecord] = []
    for item in iter_inputs([str(p) for p in paths]):
        if isinstance(item, SkippedRecord):
            unread.append(item)
        else:
            articles.append(item)
    return articles, unread


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


def _chunking(shard_dir: Path, settings: Settings) -> Chunking:
    """The chunking the shard's writer will use: its manifest's, else the settings'."""
    if (shard_dir / MANIFEST).exists():
        chunking = Manifest.load(shard_dir).chunking
        return (ChunkSettings.from_manifest(chunking), bool(chunking.get("title_context", True)))
    return (ChunkSettings(settings.chunk_min_words, settings.chunk_max_words,
                          settings.chunk_max_chars), bool(settings.chunk_title_context))


def plan_threads(cpus: float, actors: int, threads: int | None) -> tuple[int, float]:
    """(threads per actor, CPUs each actor reserves): one CPU left for the other stages."""
    if actors < 1:
        raise InputError(f"--actors {actors}: expected at least 1")
    budget = max(cpus - 1.0, 0.5)
    threads = threads or max(1, int(budget // actors))
    return threads, min(float(threads), budget / actors)


def _start_cache_reader(settings: Settings, encoder: PassageEncoder) -> Any:
    """The :class:`_CacheReader` actor on the driver's node (no CPU reserved: it only
    answers look-ups)."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from indexer.writer import cache_key

    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    return ray.remote(_CacheReader).options(num_cpus=0, scheduling_strategy=here).remote(
        str(settings.embedding_cache_path), cache_key(encoder), encoder.info.dimension)


def run_pipeline(articles: list[Article], chunking: list[Chunking], settings: Settings,
                 cache: Any, actors: int, threads: int, actor_cpus: float,
                 progress: Progress | None = None) -> tuple[_Routed, dict[str, np.ndarray]]:
    """Stages 2 and 3 on Ray Data: the articles routed by shard, and the vectors of the
    passage texts the cache does not hold."""
    import logging

    import ray.data
    from ray.data import ActorPoolStrategy

    logging.getLogger("ray.data").setLevel(logging.WARNING)
    # One JSON column, not a column per field: Arrow infers each block's schema on its own,
    # and a block whose optional field is always None would not unify with the others.
    rows = [{"i": i, "article": json.dumps(dataclasses.asdict(a), ensure_ascii=False)}
            for i, a in enumerate(articles)]
    actor_settings = settings.model_copy(update={"threads": threads})
    with warnings.catch_warnings():
        # Restart limits and the scheduling strategy have no named parameter before 2.64
        # (the extra pins ray < 2.64), so they go as ray_remote_args, which 2.60 flags.
        warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
        # Making (and copying) Ray Data's DataContext flags its own deprecated fields, Ray's
        # and not ours.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="ray.data")
        ray.data.DataContext.get_current().enable_progress_bars = False
        # Enough blocks for every actor to get work (a small input is one block otherwise).
        # A map stage's batch_size merges blocks, so the routing batch is capped too.
        blocks = max(1, min(len(rows), 4 * actors))
        route_size = max(1, min(ROUTE_BATCH, -(-len(rows) // blocks)))
        # Ray's types leave out fn_kwargs, which route_batch's other arguments come from.
        ds = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
            route_batch,  # type: ignore[arg-type]
            fn_kwargs={"settings": settings, "shards": len(chunking)},
            batch_size=route_size, batch_format="numpy", num_cpus=ROUTE_CPUS)
        ds = ds.map_batches(
            _EmbedActor, fn_constructor_kwargs={"settings": actor_settings,
                                                "chunking": chunking, "cache": cache},
            batch_size=RAY_BATCH, batch_format="numpy", compute=ActorPoolStrategy(size=actors),
            num_cpus=actor_cpus, max_restarts=MAX_RESTARTS, max_task_retries=MAX_RESTARTS,
            # One model per machine first: actors spread over the nodes.
            scheduling_strategy="SPREAD")
        return _collect(ds, articles, len(chunking), progress)


def _collect(ds: Any, articles: list[Article], shards: int,
             progress: Progress | None) -> tuple[_Routed, dict[str, np.ndarray]]:
    """The pipeline's rows gathered on the driver: articles by shard, vectors by text."""
    placed: list[list[int]] = [[] for _ in range(shards)]
    skipped: list[tuple[int, SkippedRecord]] = []
    vectors: dict[str, np.ndarray] = {}
    for batch in ds.iter_batches(batch_format="numpy", batch_size=None):
        for i, shard, reason, path, text, vector in zip(
                batch["i"], batch["shard"], batch["reason"], batch["path"], batch["text"],
                batch["vector"], strict=False):
            if i < 0:
                vectors[str(text)] = np.asarray(vector, np.float32)
            elif shard < 0:
                skipped.append((int(i), SkippedRecord(path=str(path), line=None,
                                                      reason=str(reason))))
            else:
                placed[int(shard)].append(int(i))
        if progress:
            progress(len(vectors))
    # Ray Data does not keep the input order, and the writer must see it (of two articles
    # with the same content in one run, the first one read is kept).
    order = [sorted(ids) for ids in placed]
    return (_Routed([[articles[i] for i in ids] for ids in order],
                    [record for _, record in sorted(skipped, key=lambda s: s[0])], order),
            vectors)


def write_shards(routed: _Routed, shard_dirs: list[Path], settings: Settings,
                 encoder: PipelineEncoder) -> list[IndexSummary]:
    """Each shard written by the normal writer (every shard exists afterwards, even empty).

    The writer also gets ``--shard i/N``: it must keep every article routed to it, so an
    article it leaves out means the routing here and the writer's disagree — a bug. Each
    writer gives stories within its shard only: :func:`unify_stories` comes next.
    """
    from indexer.sharding import ShardSpec
    from indexer.writer import index_articles

    summaries = []
    for i, (directory, articles) in enumerate(zip(shard_dirs, routed.shards, strict=False)):
        summary = index_articles(directory, articles, settings, encoder,
                                 shard=ShardSpec(i, len(shard_dirs)))
        if summary.other_shard:
            raise RuntimeError(f"cluster index: {summary.other_shard} articles routed to "
                               f"shard {i} belong to another shard by the writer's rule")
        summaries.append(summary)
    return summaries


def unify_stories(routed: _Routed, shard_dirs: list[Path],
                  summaries: list[IndexSummary]) -> StoryStep:
    """The story step (:func:`.stories.unify_run_stories`) over what :func:`write_shards`
    wrote: the articles written get the story ids one index fed the input in the same
    order gives them. Each shard writer's input positions are made run-wide by
    ``routed.positions``."""
    storied = [(routed.positions[n][position], n, aid)
               for n, summary in enumerate(summaries) for position, aid in summary.storied]
    return unify_run_stories(shard_dirs, storied)


def cluster_index(paths: Iterable[str | Path], out_dir: Path, shards: int, settings: Settings,
                  address: str | None = None, actors: int = 1,
                  threads_per_actor: int | None = None, *,
                  encoder: PassageEncoder | None = None,
                  progress: Progress | None = None) -> ClusterIndexReport:
    """Index ``paths`` into ``shards`` shard directories under ``out_dir`` on Ray.

    ``address``: an existing Ray cluster (left running); None starts a private one on
    127.0.0.1 for the run. ``encoder``: the driver's model info and token counter for the
    writer (loaded when None). ``progress(passages embedded so far)`` is called after each
    batch the pipeline hands back.
    """
    import ray

    from .ray_runtime import ray_session
    from .stats import build_cluster_file

    started = time.perf_counter()
    out_dir = Path(out_dir)
    dirs = shard_dirs_of(out_dir, shards)
    if encoder is None:
        from indexer.encoders import create_encoder

        encoder = create_encoder(settings)
    articles, unread = read_inputs(paths)
    routed = _Routed([[] for _ in dirs])
    vectors: dict[str, np.ndarray] = {}
    threads, embed_seconds = 0, 0.0
    if articles:  # nothing read: no Ray needed
        with ray_session(address) as session:
            threads, actor_cpus = plan_threads(session.cpus, actors, threads_per_actor)
            embed_started = time.perf_counter()
            cache = _start_cache_reader(settings, encoder)
            try:
                routed, vectors = run_pipeline(articles, [_chunking(d, settings) for d in dirs],
                                               settings, cache, actors, threads, actor_cpus,
                                               progress)
            finally:  # on a cluster given by --address it would outlive the run
                ray.kill(cache)
            embed_seconds = time.perf_counter() - embed_started
    routed.skipped[:0] = unread
    per_shard = write_shards(routed, dirs, settings, PipelineEncoder(encoder, vectors))
    stories = unify_stories(routed, dirs, per_shard)
    out_dir.mkdir(parents=True, exist_ok=True)
    cluster_file = build_cluster_file(dirs, out_dir / "cluster.json")
    total = IndexSummary()
    for record in routed.skipped:
        total.skip(record)
    for summary in per_shard:
        total.merge(summary)
    total.seconds = time.perf_counter() - started
    return ClusterIndexReport(out_dir, dirs, cluster_file, total, per_shard, len(vectors),
                              actors, threads, embed_seconds, total.seconds, routed.skipped,
                              stories)
