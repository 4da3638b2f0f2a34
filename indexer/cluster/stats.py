"""``cluster.json``: the shard list of a set of index shards and their global statistics.

``vnsearch cluster stats SHARD_DIR... --out cluster.json`` sums the shards' BM25 statistics
(passages, total token length, per-column document frequencies: see
:mod:`indexer.lexical.stats`) so each shard can score lexical queries as one
index would. Dense scores need nothing: a passage's vector is the same in any shard.
Shard paths are stored relative to the file when they lie below its folder (a cluster
directory can be moved or mounted elsewhere), absolute otherwise.

The statistics describe the shards when the file was written: after indexing into a shard,
run ``cluster stats`` again (the cluster server reloads the file when it changes).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from indexer.db import IndexDB
from indexer.errors import IndexFormatError, IndexNotFoundError
from indexer.layout import atomic_write
from indexer.lexical.stats import CorpusStats, count_stats, merge_stats
from indexer.manifest import Manifest
from indexer.snapshot import recover

CLUSTER_FORMAT = "vnsearch-cluster"
CLUSTER_VERSION = 1


@dataclass
class ClusterFile:
    """A parsed ``cluster.json``."""

    path: Path
    shards: list[Path]
    stats: CorpusStats
    model_id: str

    @property
    def mtime(self) -> float:
        """The file's modification time (the server reloads when it changes)."""
        return self.path.stat().st_mtime


def shard_stats(directory: Path) -> CorpusStats:
    """The BM25 statistics of one shard's committed generation."""
    recover(directory)
    with IndexDB(directory, readonly=True) as db, db.read_transaction():
        db.check_schema()
        return count_stats(db.iter_fts_rows())


def build_cluster_file(shard_dirs: list[Path], out: Path) -> Path:
    """Sum the statistics of ``shard_dirs`` into ``out`` (written atomically)."""
    if not shard_dirs:
        raise IndexNotFoundError("cluster stats: no shard directories given")
    out = Path(out).absolute()
    manifests = [Manifest.load(Path(d)) for d in shard_dirs]
    models = {m.model_id for m in manifests}
    if len(models) > 1:
        raise IndexFormatError(f"cluster stats: the shards use different models: {sorted(models)}")
    stats = merge_stats(shard_stats(Path(d)) for d in shard_dirs)
    shards = [_relative(Path(d).absolute(), out.parent) for d in shard_dirs]
    data = {"format": CLUSTER_FORMAT, "version": CLUSTER_VERSION, "shards": shards,
            "model_id": manifests[0].model_id, "stats": stats.to_json()}
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, json.dumps(data, ensure_ascii=False))
    return out


def _relative(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(path, base) if path.is_relative_to(base) else str(path)
    except ValueError:
        return str(path)


def load_cluster(path: Path) -> ClusterFile:
    """Read and check a ``cluster.json``; one-line errors for every problem."""
    path = Path(path).absolute()
    if not path.is_file():
        raise IndexNotFoundError(f"{path}: no such cluster file (write one with "
                                 "`vnsearch cluster stats SHARD_DIR... --out FILE`)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != CLUSTER_FORMAT:
            raise ValueError("not a vnsearch cluster file")
        shards = [(path.parent / s).resolve() for s in data["shards"]]
        stats = CorpusStats.from_json(data["stats"])
        model_id = str(data["model_id"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IndexFormatError(f"{path}: unreadable cluster file ({exc})") from None
    for shard in shards:
        Manifest.load(shard)  # each shard must be an index (one-line error otherwise)
    return ClusterFile(path, shards, stats, model_id)
