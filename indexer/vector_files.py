"""The vector files of each generation: a base, append-only delta segments, tombstones.

Layout, next to ``lexical.<gen>/``::

    vectors.<b>.faiss          a base: every vector of generation b, any kind (flat, HNSW...)
    vectors.<s>.seg            a delta segment: the passages added in the write of generation
                               s (exact: a FAISS flat file), ids above the previous record's
    vectors.<g>[.f<b>].removed.npy
                               sorted passage ids no longer live (tombstones since the base)
    vectors.<g>.json           the record of generation g: which base, segments and tombstone
                               file form its vectors, their row counts and CRC-32s

A write appends (:func:`write_vector_generation`): one small segment with the passages
above the previous record's ``max_id`` (read back from the store), the tombstone list
grown by the ids it removed, then the record — never the base. A record is written last
(temporary file, fsync, rename), so a generation's vectors exist exactly when its record
does; every other file is immutable once renamed into place. An index written before
records existed has ``vectors.<g>.faiss`` alone: read as a base without segments.

Folding (:mod:`indexer.vector_fold`) builds a new base from the store when the segments
and tombstones outgrow :class:`VectorPolicy`'s bounds. Removal: under the write lock, the
files that neither of the two newest records name are deleted; a reader maps every file
of its generation when it opens it (an unlinked file stays readable while mapped), and
retries with the newer record if one vanished between its reading the record and the file.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .layout import atomic_write, fsync_dir, temp_path, vector_path
from .lexical.segments import file_crc
from .settings import Settings
from .vector_index import choose_kind

RECORD_FORMAT = 1


def record_path(directory: Path, generation: int) -> Path:
    """The record naming the vector files of ``generation``."""
    return Path(directory) / f"vectors.{generation}.json"


def segment_path(directory: Path, generation: int) -> Path:
    """The delta segment written by the write of ``generation``."""
    return Path(directory) / f"vectors.{generation}.seg"


@dataclass
class SegmentInfo:
    """One delta segment: written at ``generation``; passage ids ``min_id``..``max_id``."""

    generation: int
    rows: int
    min_id: int
    max_id: int


@dataclass
class VectorRecord:
    """``vectors.<g>.json``: the files that form generation ``generation``'s vectors."""

    generation: int
    kind: str                       # the base's kind
    base: int | None                # generation of the base file (None: no base yet)
    base_rows: int                  # vectors in the base, tombstoned ones included
    base_max_id: int                # largest passage id the base covers
    segments: list[SegmentInfo]
    removed: str | None             # file name of the tombstones (None: none)
    removed_count: int
    passages: int                   # live vectors: the store's passage count
    max_id: int                     # largest passage id covered (new rows are above it)
    checksums: dict[str, int] = field(default_factory=dict)
    format: int = RECORD_FORMAT

    @property
    def segment_rows(self) -> int:
        """Rows in the delta segments."""
        return sum(s.rows for s in self.segments)

    def files(self, directory: Path) -> list[Path]:
        """Every file this record names (base, segments, tombstones), itself excluded."""
        out = [] if self.base is None else [vector_path(directory, self.base)]
        out += [segment_path(directory, s.generation) for s in self.segments]
        if self.removed:
            out.append(Path(directory) / self.removed)
        return out

    def save(self, directory: Path) -> None:
        """Write the record atomically (the commit point of a generation's vectors)."""
        atomic_write(record_path(directory, self.generation), json.dumps(asdict(self)))

    @classmethod
    def from_json(cls, text: str) -> VectorRecord:
        """Parse a record (ValueError/TypeError/KeyError when malformed)."""
        data = json.loads(text)
        if data.get("format") != RECORD_FORMAT:
            raise ValueError(f"vector record format {data.get('format')}")
        data["segments"] = [SegmentInfo(**s) for s in data["segments"]]
        return cls(**data)


def legacy_record(directory: Path, generation: int, kind: str, rows: int) -> VectorRecord:
    """The record of an index written before records: its one FAISS file is the base."""
    return VectorRecord(generation, kind, generation, rows, 0, [], None, 0, rows, 0)


def read_record(directory: Path, generation: int) -> VectorRecord | None:
    """The record of ``generation``; None when absent or unreadable."""
    try:
        record = VectorRecord.from_json(record_path(directory, generation).read_text("utf-8"))
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return record if record.generation == generation else None


def record_generations(directory: Path) -> list[int]:
    """The generations that have a record, ascending."""
    found = []
    for path in Path(directory).glob("vectors.*.json"):
        middle = path.name[len("vectors."):-len(".json")]
        if middle.isdigit():
            found.append(int(middle))
    return sorted(found)


def vectors_written(directory: Path, generation: int) -> bool:
    """True when ``generation``'s vectors are written (its record, or a pre-record file)."""
    record = read_record(directory, generation)
    if record is not None:
        return all(path.exists() for path in record.files(directory))
    return not record_generations(directory) and vector_path(directory, generation).exists()


def load_removed(directory: Path, record: VectorRecord) -> np.ndarray:
    """The tombstoned passage ids of ``record`` (sorted int64)."""
    if not record.removed:
        return np.zeros(0, np.int64)
    return np.asarray(np.load(Path(directory) / record.removed, allow_pickle=False), np.int64)


def write_file_durably(path: Path, write: object) -> int:
    """Write ``path`` by calling ``write(tmp)``, fsync, rename; returns its CRC-32."""
    tmp = temp_path(path)
    write(tmp)  # type: ignore[operator]
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    crc = file_crc(tmp)
    os.replace(tmp, path)
    return crc


def write_removed(directory: Path, name: str, removed: np.ndarray) -> int:
    """Write a tombstone file durably; returns its CRC-32."""
    def save(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.save(handle, np.asarray(removed, np.int64), allow_pickle=False)
    return write_file_durably(Path(directory) / name, save)


def remove_unnamed(directory: Path, generation: int, keep: int = 2) -> list[str]:
    """Under the write lock: delete the records other than the newest ``keep`` up to
    ``generation`` (and any above it: a store restored from a backup), and every vector
    file that no kept record names. Returns the names removed."""
    directory = Path(directory)
    generations = record_generations(directory)
    kept = sorted((g for g in generations if g <= generation), reverse=True)[:keep]
    records = [r for r in (read_record(directory, g) for g in kept) if r is not None]
    if not records:
        return []  # nothing written in the new layout yet: leave pre-record files alone
    named = {record_path(directory, r.generation).name for r in records}
    for record in records:
        named.update(p.name for p in record.files(directory))
    removed = []
    for path in directory.glob("vectors.*"):
        if path.name not in named:
            path.unlink(missing_ok=True)
            removed.append(path.name)
    for path in directory.glob(".vectors.*.tmp"):
        if not _alive(path.name.split(".")[-2]):
            path.unlink(missing_ok=True)  # a killed writer's or fold's
            removed.append(path.name)
    if removed:
        fsync_dir(directory)
    return removed


def _alive(pid: str) -> bool:
    """True when process ``pid`` (the number in a temporary file's name) still runs."""
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


#: ``flock``ed by a background fold while it runs (:mod:`indexer.vector_fold`).
FOLD_LOCK = "vectors-fold.lock"


_DEFAULTS = {name: info.default for name, info in Settings.model_fields.items()}


@dataclass
class VectorPolicy:
    """When segments are merged and the base is rebuilt (:class:`~indexer.settings.Settings`)."""

    # The defaults are the settings' (declared once, in Settings).
    max_segments: int = _DEFAULTS["vector_segments_max"]
    fold_share: float = _DEFAULTS["vector_fold_share"]
    fold_min_rows: int = _DEFAULTS["vector_fold_min_rows"]
    inline_fold_rows: int = _DEFAULTS["vector_fold_inline_passages"]
    kind_threshold: int = _DEFAULTS["vector_index_threshold"]
    compressed_threshold: int | None = _DEFAULTS["vector_index_compressed_threshold"]
    #: A kind forced by ``VNSEARCH_VECTOR_INDEX`` ('auto': chosen by size at each fold).
    force_kind: str = _DEFAULTS["vector_index"]

    def kind_for(self, passages: int) -> str:
        """The base kind a fold of ``passages`` vectors builds."""
        return choose_kind(passages, self.kind_threshold, self.compressed_threshold,
                           self.force_kind)

    @classmethod
    def from_settings(cls, settings: Settings) -> VectorPolicy:
        """The policy of ``settings``."""
        return cls(max_segments=settings.vector_segments_max,
                   fold_share=settings.vector_fold_share,
                   fold_min_rows=settings.vector_fold_min_rows,
                   inline_fold_rows=settings.vector_fold_inline_passages,
                   kind_threshold=settings.vector_index_threshold,
                   compressed_threshold=settings.vector_index_compressed_threshold,
                   force_kind=settings.vector_index)

    def wants_fold(self, record: VectorRecord) -> bool:
        """True when the segments and tombstones outgrow the base: past ``fold_share`` of
        its rows (and ``fold_min_rows``), a search pays more for them than a fold costs."""
        if self.force_kind not in ("auto", record.kind) and record.base is not None:
            return True  # a kind forced since the base was built: applied at the next write
        grown = record.segment_rows + record.removed_count
        return grown > max(self.fold_min_rows, self.fold_share * record.base_rows)
