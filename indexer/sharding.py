"""Which shard an article belongs to: a stable hash of its id.

A set of shard directories holds each article exactly once: ``vnsearch index --shard i/N``
keeps the articles whose id hashes to ``i``. The id is the writer's stable id (from the
URL, else from the cleaned title + text: :func:`indexer.writer.identity.stable_article_id`),
so the same article goes to the same shard on every run and on every machine. The hash is
the first 8 bytes of SHA-256 of the UTF-8 id, big-endian, modulo ``N`` — documented so that
another program can route articles the same way. Syndicated copies (same text, another URL)
are merged within a shard only.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .errors import InputError

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def shard_of(article_id: str, shards: int) -> int:
    """The shard (0 … ``shards``-1) of ``article_id``."""
    digest = hashlib.sha256(article_id.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % shards


@dataclass(frozen=True)
class ShardSpec:
    """Shard ``index`` of ``count`` (``--shard i/N``, 0-based)."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> ShardSpec:
        """``"i/N"`` with 0 <= i < N; raises InputError otherwise."""
        m = _SPEC.match(text or "")
        if not m or int(m[2]) < 1 or not 0 <= int(m[1]) < int(m[2]):
            raise InputError(f"--shard {text!r}: expected i/N with 0 <= i < N, e.g. 0/3")
        return cls(int(m[1]), int(m[2]))

    def holds(self, article_id: str) -> bool:
        """True when ``article_id`` belongs to this shard."""
        return shard_of(article_id, self.count) == self.index
