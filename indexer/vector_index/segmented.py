"""One generation's vectors as a composition: a base index of any kind, small exact delta
segments of the passages added since, and tombstones of passages gone since.

The writer appends a segment (and rewrites the small tombstone list) per committed batch
instead of rewriting the base (:mod:`indexer.vector_files`). A search asks the base and
every segment for their best ``k`` live hits and keeps the best ``k`` of the union, so with
an exact base the results equal those of one exact index over the same live vectors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from indexer.errors import IndexFormatError
from indexer.vector_index.base import VectorHits, VectorIndex
from indexer.vector_index.flat import FlatIndex


def _empty() -> VectorHits:
    return VectorHits(np.zeros(0, np.int64), np.zeros(0, np.float32))


class SegmentedIndex(VectorIndex):
    """``base`` (any kind, or None) + exact ``segments`` − ``removed`` passage ids.

    ``removed``: sorted passage ids that are no longer live; a base that takes tombstones
    itself (it has a ``tombstones`` set, like HNSW) was loaded with them and skips them
    inside its search; any other is asked for ``k`` + their number and filtered here.
    """

    kind = "segmented"

    def __init__(self, dimension: int, base: VectorIndex | None, segments: list[VectorIndex],
                 removed: np.ndarray, live: int) -> None:
        self.dimension = dimension
        self.base = base
        self.segments = segments
        self.removed = np.asarray(removed, np.int64)
        self._live = live
        self._base_filters = base is not None and getattr(base, "tombstones", None) is not None
        # per segment: its live ids when some are removed (searched with a selector), else None
        self._segment_live = [self._live_ids(s) for s in segments]

    def _live_ids(self, segment: VectorIndex) -> np.ndarray | None:
        if not len(self.removed):
            return None
        ids = segment.ids()
        dead = np.isin(ids, self.removed, assume_unique=True)
        return ids[~dead] if dead.any() else None

    @property
    def base_kind(self) -> str:
        """The kind of the base index ('flat' when there is none yet)."""
        return self.base.kind if self.base is not None else "flat"

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add as one more (in-memory) exact segment."""
        if len(ids):
            segment = FlatIndex(self.dimension)
            segment.add(ids, vectors)
            self.segments.append(segment)
            self._segment_live.append(None)
            self._live += len(ids)

    def remove(self, ids: np.ndarray) -> None:
        """Tombstone ``ids`` (the caller removes only live ids)."""
        ids = np.asarray(ids, np.int64)
        if not len(ids):
            return
        fresh = np.setdiff1d(ids, self.removed)
        self.removed = np.union1d(self.removed, fresh)
        self._live -= len(fresh)
        if self._base_filters and self.base is not None:
            self.base.remove(fresh)  # its tombstone set
        self._segment_live = [self._live_ids(s) for s in self.segments]

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> VectorHits:
        if k <= 0 or (allowed is not None and len(allowed) == 0):
            return _empty()
        allowed_live = None
        if allowed is not None:
            allowed_live = np.asarray(allowed, np.int64)
            if len(self.removed):
                allowed_live = np.setdiff1d(allowed_live, self.removed)
        parts: list[VectorHits] = []
        if self.base is not None:
            extra = 0 if (allowed_live is not None or self._base_filters) else len(self.removed)
            parts.append(self.base.search(query, k + extra, allowed_live))
        for segment, live in zip(self.segments, self._segment_live, strict=True):
            selector = allowed_live if allowed_live is not None else live
            parts.append(segment.search(query, k, selector))
        return self._best(parts, k)

    def _best(self, parts: list[VectorHits], k: int) -> VectorHits:
        """The best ``k`` live hits of all parts (by score; ties: lower id first)."""
        ids = np.concatenate([p.ids for p in parts]) if parts else np.zeros(0, np.int64)
        scores = np.concatenate([p.scores for p in parts]) if parts else np.zeros(0, np.float32)
        if len(self.removed) and len(ids):
            keep = ~np.isin(ids, self.removed)
            ids, scores = ids[keep], scores[keep]
        order = np.lexsort((ids, -scores))[:k]
        return VectorHits(ids[order].astype(np.int64), scores[order].astype(np.float32))

    def ids(self) -> np.ndarray:
        pieces = [s.ids() for s in self.segments]
        if self.base is not None:
            pieces.insert(0, self.base.ids())
        every = np.concatenate(pieces) if pieces else np.zeros(0, np.int64)
        return np.setdiff1d(every, self.removed) if len(self.removed) else every

    def __len__(self) -> int:
        return self._live

    def save(self, path: Path) -> None:
        """A composition is not one file: :mod:`indexer.vector_files` writes its parts."""
        raise IndexFormatError(f"{path}: a segmented vector index is written as a base, "
                               "segment files and a record (indexer.vector_files)")
