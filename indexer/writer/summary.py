"""What an indexing or delete run did."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..article import SkippedRecord

_COUNTERS = ("added", "updated", "unchanged", "duplicates", "skipped", "deleted", "not_found",
             "passages_added", "passages_removed", "embedded", "embedded_from_cache",
             "tombstoned", "dates_unparsed", "synced_removed", "other_shard")


_EXAMPLES = 5


@dataclass
class IndexSummary:
    """What an indexing or delete run did (printed at the end, returned by the API)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    skipped: int = 0
    deleted: int = 0
    not_found: int = 0
    passages_added: int = 0
    passages_removed: int = 0
    embedded: int = 0
    embedded_from_cache: int = 0
    #: Articles deleted earlier and not brought back (re-index with ``--force``).
    tombstoned: int = 0
    #: Articles whose input date was not understood (kept as ``published_raw``).
    dates_unparsed: int = 0
    #: Articles removed by ``--sync`` because their file is gone.
    synced_removed: int = 0
    #: Articles left out because they belong to another shard (``--shard i/N``).
    other_shard: int = 0
    seconds: float = 0.0
    skipped_records: list[SkippedRecord] = field(default_factory=list)
    article_ids: list[str] = field(default_factory=list)
    #: (input position, article id) of each article added or replaced, whose story was
    #: (re)assigned, in write order (``Prepared.position``; a cluster's story step uses it).
    storied: list[tuple[int, str]] = field(default_factory=list)
    #: A few unparsed dates, "where: raw date", for the report.
    unparsed_examples: list[str] = field(default_factory=list)

    def merge(self, other: IndexSummary) -> None:
        """Add ``other``'s counters and lists to this one."""
        for name in _COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.skipped_records.extend(other.skipped_records)
        self.article_ids.extend(other.article_ids)
        self.storied.extend(other.storied)
        room = _EXAMPLES - len(self.unparsed_examples)
        self.unparsed_examples.extend(other.unparsed_examples[:max(room, 0)])

    def skip(self, record: SkippedRecord) -> None:
        """Count a record that was not indexed, keeping why."""
        self.skipped += 1
        self.skipped_records.append(record)
