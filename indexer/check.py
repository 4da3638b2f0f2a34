"""``vnsearch check``: is an index directory consistent?"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .db import IndexDB, IntegrityReport
from .errors import IndexFormatError
from .layout import DATABASE, MANIFEST
from .lexical.files import lexical_problems
from .lexical.segments import file_crc
from .manifest import Manifest
from .snapshot import recover
from .vector_files import record_path
from .vector_generation import current_record, open_record


@dataclass
class CheckReport:
    """Result of ``vnsearch check``."""

    ok: bool
    problems: list[str]
    articles: int
    passages: int
    generation: int


def check_index(directory: Path) -> CheckReport:
    """Integrity: SQLite, vector files (checksums; live ids ↔ passage rows), FTS ↔
    passages, lexical matrix files ↔ passages (and their checksums), counts ↔ manifest."""
    directory = Path(directory)
    manifest = recover(directory)
    with IndexDB(directory, readonly=True) as db:
        db.check_schema()
        try:
            verdict = db.quick_check()
        except sqlite3.DatabaseError as exc:
            return CheckReport(False, [f"{DATABASE}: damaged SQLite store ({exc}); restore "
                                       "it from a backup"], 0, 0, manifest.generation)
        if verdict != "ok":
            return CheckReport(False, [f"{DATABASE}: SQLite quick_check: {verdict}"],
                               0, 0, manifest.generation)
        with db.read_transaction():
            generation = db.generation()
            counts = db.counts()
            facts = db.integrity(manifest.dimension)
    problems = _store_problems(facts)
    if manifest.counts != counts:
        problems.append(f"{MANIFEST}: counts {manifest.counts} but the store has {counts}")
    if manifest.generation != generation:
        problems.append(f"{MANIFEST}: generation {manifest.generation}, store {generation}")
    problems.extend(_vector_problems(directory, manifest, generation, facts.passage_ids))
    problems.extend(lexical_problems(directory, generation, facts.passage_ids))
    return CheckReport(not problems, problems, counts["articles"], counts["passages"], generation)


def _store_problems(facts: IntegrityReport) -> list[str]:
    problems: list[str] = []
    if facts.passage_ids != facts.fts_ids:
        problems.append(f"full-text table out of sync: {len(facts.passage_ids - facts.fts_ids)} "
                        f"passages missing, {len(facts.fts_ids - facts.passage_ids)} extra rows")
    if facts.bad_vectors:
        problems.append(f"{facts.bad_vectors} passages with a vector of the wrong size")
    if facts.orphans:
        problems.append(f"{facts.orphans} passages without an article")
    if facts.empty_articles:
        problems.append(f"{facts.empty_articles} articles without passages")
    return problems


def _vector_problems(directory: Path, manifest: Manifest, generation: int,
                     passage_ids: set[int]) -> list[str]:
    """The vector files of ``generation`` exist, match their checksums, and their live
    vectors are exactly the store's passages."""
    record = current_record(directory, generation, manifest.vector_index)
    if record is None:
        return [f"{record_path(directory, generation).name}: missing vector files for "
                f"generation {generation}"]
    problems = [f"{name}: checksum mismatch" for name, crc in record.checksums.items()
                if not (directory / name).exists() or file_crc(directory / name) != crc]
    try:
        vectors = open_record(directory, record, manifest.dimension, mapped=True)
    except (IndexFormatError, OSError, ValueError) as exc:
        return problems + [str(exc)]
    faiss_ids = {int(i) for i in vectors.ids()}
    if faiss_ids != passage_ids:
        problems.append(f"vectors of generation {generation}: "
                        f"{len(passage_ids - faiss_ids)} passages without a vector, "
                        f"{len(faiss_ids - passage_ids)} vectors without a passage")
    return problems
