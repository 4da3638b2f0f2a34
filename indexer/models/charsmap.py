"""Build a SentencePiece "precompiled charsmap" from a per-code-point replacement table.

``tokenizers.normalizers.Precompiled`` (the normaliser of every SentencePiece-derived
tokenizer.json) reads this blob: ``u32 trie_bytes``, a darts-clone double-array trie over
the UTF-8 bytes of each source string, then the NUL-terminated replacement strings the
trie's values point into. No maintained Python package builds this blob on its own
(sentencepiece only emits it as a side effect of training a model), so the ~50 lines below
build the double array directly; ``tests/test_default_model.py`` checks every entry of
the model's table through ``tokenizers`` itself.

darts-clone unit layout (32 bits): label in bits 0-7, ``has_leaf`` in bit 8, offset in bits
10-30 (bit 9 would scale it by 256; our arrays stay below 2**21 units so it is never set);
a leaf unit holds ``value | 1 << 31``. Children of a node whose base is ``b`` sit at
``b ^ byte``; its leaf at ``b ^ 0``; each unit stores ``position ^ base`` as its offset.
"""

from __future__ import annotations

import struct

_MAX_OFFSET = 1 << 21


class _Node:
    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.children: dict[int, _Node] = {}
        self.value: int | None = None


def build_precompiled_charsmap(mapping: dict[str, str]) -> bytes:
    """Return the precompiled charsmap bytes for ``mapping`` (source string → replacement)."""
    normalized = bytearray()
    root = _Node()
    for source, target in sorted(mapping.items()):
        key = source.encode("utf-8")
        if not key or b"\x00" in key:
            raise ValueError(f"invalid charsmap key {source!r}")
        node = root
        for byte in key:
            node = node.children.setdefault(byte, _Node())
        node.value = len(normalized)
        normalized += target.encode("utf-8") + b"\x00"

    units: list[int] = [0]
    used: set[int] = {0}
    used_bases: set[int] = set()
    next_free = 1

    def ensure(size: int) -> None:
        if size > len(units):
            units.extend([0] * (size - len(units)))

    # Breadth-first placement: each node gets a base where all its slots are free.
    queue: list[tuple[_Node, int]] = [(root, 0)]
    while queue:
        node, pos = queue.pop(0)
        labels = sorted(node.children)
        slots = ([0] if node.value is not None else []) + labels
        if not slots:
            continue
        # Only try bases that put the first slot on a free unit (as darts-clone does):
        # scanning every base from next_free made a build take ~30 s instead of ~3 s.
        free = next_free
        while True:
            base = free ^ slots[0]
            if (base >= 256 and base not in used_bases
                    and all((base ^ s) not in used for s in slots)):
                break
            free += 1
            while free in used:
                free += 1
        if (pos ^ base) >= _MAX_OFFSET:
            raise ValueError("charsmap too large for a simple double array")
        used_bases.add(base)
        ensure(max(base ^ s for s in slots) + 1)
        units[pos] |= (pos ^ base) << 10
        if node.value is not None:
            units[pos] |= 1 << 8
            units[base] = node.value | (1 << 31)
            used.add(base)
        for label in labels:
            child_pos = base ^ label
            used.add(child_pos)
            units[child_pos] = label
            queue.append((node.children[label], child_pos))
        while next_free in used:
            next_free += 1

    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(normalized)
