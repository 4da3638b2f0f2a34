"""One segment of the lexical matrix files: the term frequencies of a run of passages.

A segment is immutable once written. Its arrays (``s<k>.<name>.npy``)::

    rowids   int64  passage id of each row, ascending
    lengths  int32  FTS5 token count of each row over all columns (BM25's length)
    indptr   int64  CSC: the rows of column j are indices[indptr[j]:indptr[j+1]]
    indices  int32  row of each posting (ascending within a column)
    tf       float32 term frequency of each posting
    keys     int64  sorted stable 64-bit hashes of "<column>:<term>" (the vocabulary)
    cols     int32  matrix column of each key
    offsets  int64  terms[offsets[i]:offsets[i+1]] is the UTF-8 "<column>:<term>" of key i
    terms    uint8  the vocabulary's text, to confirm a hash match

Term frequencies, not BM25 weights, are stored: the weights depend on the corpus (N,
average length, df), which every write changes, while a passage's term frequencies never
change. Readers weigh the few postings a query touches (``search_api``'s mapped matrix).
The hash is blake2b, not Python's ``hash``: it must be the same in every process.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..db import FtsRow
from .counting import TermCounts

ARRAYS = ("rowids", "lengths", "indptr", "indices", "tf", "keys", "cols", "offsets", "terms")


def term_key(column: int, term: str) -> int:
    """The stable signed 64-bit hash of (column index, term)."""
    digest = hashlib.blake2b(f"{column}:{term}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def segment_file(directory: Path, segment: int, name: str) -> Path:
    """The file of array ``name`` of segment ``segment`` in a generation directory."""
    return directory / f"s{segment}.{name}.npy"


@dataclass
class Segment:
    """The arrays of one segment (in memory after a build, memory-mapped after a load)."""

    rowids: np.ndarray
    lengths: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    tf: np.ndarray
    keys: np.ndarray
    cols: np.ndarray
    offsets: np.ndarray
    terms: np.ndarray

    def __len__(self) -> int:
        return len(self.rowids)

    @property
    def max_rowid(self) -> int:
        """The largest passage id of the segment (0 when empty)."""
        return int(self.rowids[-1]) if len(self.rowids) else 0

    def column(self, key: int, text: bytes) -> int:
        """The matrix column of the term whose hash is ``key`` and text ``text``, or -1."""
        keys = self.keys
        i = int(np.searchsorted(keys, key))
        while i < len(keys) and keys[i] == key:
            if self.terms[self.offsets[i]:self.offsets[i + 1]].tobytes() == text:
                return int(self.cols[i])
            i += 1  # a hash collision: the next equal key may be the term
        return -1

    def save(self, directory: Path, number: int) -> dict[str, int]:
        """Write every array as ``s<number>.<name>.npy``; returns their CRC-32s by file name."""
        sums: dict[str, int] = {}
        for name in ARRAYS:
            path = segment_file(directory, number, name)
            np.save(path, getattr(self, name), allow_pickle=False)
            sums[path.name] = file_crc(path)
        return sums

    @classmethod
    def load(cls, directory: Path, number: int) -> Segment:
        """Map the arrays of segment ``number`` read-only (``numpy.load(mmap_mode='r')``)."""
        arrays = {}
        for name in ARRAYS:
            path = segment_file(directory, number, name)
            # An empty array cannot be mapped; it is read (it has no data anyway). The map is
            # viewed as a plain ndarray (no copy): numpy.memmap's subclass hooks cost
            # microseconds on every slice, and a query slices each term once per segment.
            arrays[name] = np.asarray(np.load(
                path, mmap_mode="r" if path.stat().st_size > 128 else None, allow_pickle=False))
        return cls(**arrays)


def file_crc(path: Path) -> int:
    """CRC-32 of a file's bytes, read in 16 MB pieces."""
    crc = 0
    with open(path, "rb") as handle:
        while piece := handle.read(1 << 24):
            crc = zlib.crc32(piece, crc)
    return crc


def build_segment(rows: Iterable[FtsRow]) -> Segment:
    """Count the terms of full-text ``rows`` (ascending rowid) into a segment."""
    from scipy import sparse

    counts = TermCounts()
    counts.read(rows)
    n_terms = counts.n_terms
    blocks = [sparse.csr_matrix((b.data, b.indices, b.indptr), shape=(b.shape[0], n_terms))
              for b in counts.blocks]
    counts.blocks = []
    if blocks:
        csc = sparse.vstack(blocks, format="csr").tocsc()
        csc.sort_indices()
        indptr, indices, tf = csc.indptr, csc.indices, csc.data
    else:
        indptr = np.zeros(n_terms + 1, np.int64)
        indices, tf = np.zeros(0, np.int32), np.zeros(0, np.float32)
    keys, cols, offsets, terms = _vocabulary(counts)
    return Segment(np.frombuffer(counts.rowids, np.int64).copy(),
                   np.frombuffer(counts.lengths, np.int32).copy(),
                   indptr.astype(np.int64), indices.astype(np.int32), tf.astype(np.float32),
                   keys, cols, offsets, terms)


def _vocabulary(counts: TermCounts) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sorted keys, their columns, and the terms' text in key order."""
    n = counts.n_terms
    keys = np.empty(n, np.int64)
    texts: list[bytes] = [b""] * n
    for c, vocab in enumerate(counts.vocab):
        for term, j in vocab.items():
            text = f"{c}:{term}".encode()
            keys[j] = int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(),
                                     "little", signed=True)
            texts[j] = text
    order = np.argsort(keys, kind="stable")
    ordered = [texts[j] for j in order]
    lengths = np.fromiter((len(t) for t in ordered), np.int64, count=n)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    terms = np.frombuffer(b"".join(ordered), np.uint8).copy()
    return keys[order], order.astype(np.int32), offsets, terms

