"""The read side of an index directory: open, recover after a crash, check integrity.

A :class:`Snapshot` is one consistent view: the manifest, a read-only SQLite connection
and the vector index of the store's current generation. Readers reload when the store's
generation moves (``Snapshot.stale``), so a server picks up new articles without a restart.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from . import store
from .errors import IndexFormatError, IndexLockedError
from .vector_index import VectorIndex, build_vector_index, load_vector_index


def recover(directory: Path) -> store.Manifest:
    """Roll derived files (vector file, manifest) forward to the store, if nobody writes.

    Like SQLite rolling back a hot journal on open: the store is the truth, the FAISS file
    and the manifest are rebuilt from it when a writer died before writing them.
    """
    manifest = store.Manifest.load(directory)
    if not _needs_recovery(directory, manifest):
        return manifest  # the common case: no lock taken, so no writer is ever refused
    lock = store.WriteLock(directory)
    try:
        lock.acquire()
    except IndexLockedError:
        return manifest  # a live writer will write them itself
    try:
        conn = store.connect(directory)
        try:
            store.check_schema(conn, directory)
            generation = store.read_generation(conn)
            n = store.counts(conn)
            path = store.vector_path(directory, generation)
            if not path.exists():
                ids, vectors = store.load_all_vectors(conn, manifest.dimension)
                index = build_vector_index(manifest.vector_index, manifest.dimension, ids, vectors)
                tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
                index.save(tmp)
                os.replace(tmp, path)
            if manifest.generation != generation or manifest.counts != n:
                manifest.generation = generation
                manifest.counts = n
                manifest.updated = store.utc_now()
                manifest.save(directory)
            for old in directory.glob("vectors.*.faiss"):
                if old != path:
                    old.unlink(missing_ok=True)
            for tmp in directory.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)
        finally:
            conn.close()
    finally:
        lock.release()
    return store.Manifest.load(directory)


def _needs_recovery(directory: Path, manifest: store.Manifest) -> bool:
    """True when the derived files lag behind the store (a writer died after a commit)."""
    try:
        conn = store.connect(directory, readonly=True)
    except IndexFormatError:
        return True
    try:
        generation = store.read_generation(conn)
    except sqlite3.DatabaseError:
        return True
    finally:
        conn.close()
    return generation != manifest.generation \
        or not store.vector_path(directory, generation).exists()


@dataclass
class Snapshot:
    """A consistent read-only view of an index."""

    directory: Path
    manifest: store.Manifest
    conn: sqlite3.Connection
    vectors: VectorIndex
    generation: int

    @property
    def stale(self) -> bool:
        """True when a writer committed since this snapshot was taken."""
        try:
            return store.read_generation(self.conn) != self.generation
        except sqlite3.Error:
            return False

    def close(self) -> None:
        self.conn.close()


def open_snapshot(directory: Path, model_id: str | None = None) -> Snapshot:
    """Open ``directory`` for reading; ``model_id`` (when given) must match the manifest."""
    directory = Path(directory)
    manifest = recover(directory)
    if model_id is not None:
        manifest.check_model(model_id, directory)
    conn = store.connect(directory, readonly=True)
    store.check_schema(conn, directory)
    # One read transaction so the vectors and the rows come from the same generation.
    conn.execute("BEGIN")
    try:
        generation = store.read_generation(conn)
        path = store.vector_path(directory, generation)
        n = store.counts(conn)["passages"]
        vectors: VectorIndex | None = None
        if path.exists():
            vectors = load_vector_index(path, manifest.vector_index, manifest.dimension)
            if len(vectors) != n:
                vectors = None
        if vectors is None:
            ids, matrix = store.load_all_vectors(conn, manifest.dimension)
            vectors = build_vector_index("flat", manifest.dimension, ids, matrix)
    finally:
        conn.execute("COMMIT")
    return Snapshot(directory, manifest, conn, vectors, generation)


@dataclass
class CheckReport:
    """Result of ``vnsearch check``."""

    ok: bool
    problems: list[str]
    articles: int
    passages: int
    generation: int


def check_index(directory: Path) -> CheckReport:
    """Integrity: SQLite, FAISS ids ↔ passage rows, FTS ↔ passages, counts ↔ manifest."""
    directory = Path(directory)
    manifest = recover(directory)
    problems: list[str] = []
    conn = store.connect(directory, readonly=True)
    try:
        store.check_schema(conn, directory)
        try:
            result = conn.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            return CheckReport(False, [f"{store.DATABASE}: damaged SQLite store ({exc}); restore "
                                       "it from a backup"], 0, 0, manifest.generation)
        if result != "ok":
            return CheckReport(False, [f"{store.DATABASE}: SQLite quick_check: {result}"],
                               0, 0, manifest.generation)
        conn.execute("BEGIN")
        generation = store.read_generation(conn)
        n = store.counts(conn)
        passage_ids = {r[0] for r in conn.execute("SELECT id FROM passages")}
        fts_ids = {r[0] for r in conn.execute("SELECT rowid FROM passages_fts")}
        if passage_ids != fts_ids:
            problems.append(f"full-text table out of sync: {len(passage_ids - fts_ids)} passages "
                            f"missing, {len(fts_ids - passage_ids)} extra rows")
        bad_vectors = conn.execute("SELECT count(*) FROM passages WHERE length(vector) != ?",
                                   (4 * manifest.dimension,)).fetchone()[0]
        if bad_vectors:
            problems.append(f"{bad_vectors} passages with a vector of the wrong size")
        orphans = conn.execute("SELECT count(*) FROM passages p LEFT JOIN articles a "
                               "ON a.id = p.article_id WHERE a.id IS NULL").fetchone()[0]
        if orphans:
            problems.append(f"{orphans} passages without an article")
        empty = conn.execute("SELECT count(*) FROM articles a WHERE NOT EXISTS "
                             "(SELECT 1 FROM passages p WHERE p.article_id = a.id)").fetchone()[0]
        if empty:
            problems.append(f"{empty} articles without passages")
        conn.execute("COMMIT")
        if manifest.counts != n:
            problems.append(f"{store.MANIFEST}: counts {manifest.counts} but the store has {n}")
        if manifest.generation != generation:
            problems.append(f"{store.MANIFEST}: generation {manifest.generation}, store {generation}")
        path = store.vector_path(directory, generation)
        if not path.exists():
            problems.append(f"{path.name}: missing vector file for generation {generation}")
        else:
            try:
                vectors = load_vector_index(path, manifest.vector_index, manifest.dimension)
                faiss_ids = {int(i) for i in vectors.ids()}
                if faiss_ids != passage_ids:
                    problems.append(f"{path.name}: {len(passage_ids - faiss_ids)} passages without "
                                    f"a vector, {len(faiss_ids - passage_ids)} vectors without a passage")
            except IndexFormatError as exc:
                problems.append(str(exc))
    finally:
        conn.close()
    return CheckReport(not problems, problems, n["articles"], n["passages"], generation)
