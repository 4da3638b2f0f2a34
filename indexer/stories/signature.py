"""MinHash story signatures, LSH band keys and the same-story decision.

A signature is the MinHash of an article's word shingles (:mod:`.shingles`):
``NUM_PERM`` 64-bit values, each the minimum of one random hash over the shingle
set, so the share of equal values estimates the Jaccard similarity of two shingle
sets. The values are computed by datasketch's :class:`~datasketch.MinHash`
(``affine64`` scheme, one numpy ``update_batch`` per article).

For candidate lookup the values are cut into ``BANDS`` bands of ``ROWS`` values;
two articles whose shingle sets have Jaccard similarity ``s`` share at least one band
key with probability ``1 - (1 - s**ROWS)**BANDS``. The last
``NUM_PERM - BANDS * ROWS`` values only sharpen the similarity estimate.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from indexer.stories.shingles import MIN_WORDS, shingle_hashes, story_words

__all__ = [
    "NUM_PERM", "BANDS", "ROWS", "THRESHOLD", "SEED", "StorySignature", "story_signature",
    "same_story",
]

#: Hash values per signature. 128 gives a similarity estimate with a standard error
#: of at most 0.044 (sqrt(s(1-s)/128)); 8 bytes each, 1 KiB per article.
NUM_PERM = 128
#: LSH bands x rows (42 x 3 = 126 of the 128 values). A pair at the threshold (0.5) is a
#: candidate with probability 1 - (1 - 0.5**3)**42 = 0.996, at 0.4 with 0.94; an
#: unrelated pair (similarity ~0.01, typical on the corpora) with 4e-5, so an indexed
#: lookup in a million-article index returns tens of candidates, not thousands. 32 x 4
#: found only 94% of the pairs >= 0.5 on the real corpora (bench/stories.py).
BANDS = 42
ROWS = 3
#: Estimated Jaccard similarity of the shingle sets at and above which two articles are
#: one story; chosen on the real corpora (bench/stories.py, data/eval/story-pairs.md).
THRESHOLD = 0.5
#: The MinHash seed; signatures made with another seed are not comparable.
SEED = 20261130
_DTYPE = "<u8"


@lru_cache(maxsize=1)
def _permutations() -> Any:
    """datasketch's random permutations for (NUM_PERM, SEED), made once per process."""
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine64").permutations


def _identity(value: int) -> int:
    return value


@dataclass(frozen=True)
class StorySignature:
    """The MinHash of one article's shingles; ``values`` is what is stored in SQLite."""

    values: bytes  # NUM_PERM little-endian uint64

    def __post_init__(self) -> None:
        if len(self.values) != NUM_PERM * 8:
            raise ValueError(f"a story signature has {NUM_PERM * 8} bytes, got {len(self.values)}")

    @classmethod
    def from_bytes(cls, values: bytes) -> StorySignature:
        """The signature stored as ``values`` (bytes, or a memoryview from SQLite)."""
        return cls(bytes(values))

    def bands(self) -> list[bytes]:
        """``BANDS`` LSH keys of 8 bytes; list index = band number.

        A key is the first 8 bytes of BLAKE2b over the band number and the band's
        values, so equal keys in different bands never match by construction and a
        key fits a SQLite INTEGER (``int.from_bytes(key, "big", signed=True)``).
        Two articles are candidates when ``bands()[i]`` is equal for some ``i``.
        """
        width = ROWS * 8
        return [
            hashlib.blake2b(i.to_bytes(2, "big") + self.values[i * width:(i + 1) * width],
                            digest_size=8).digest()
            for i in range(BANDS)
        ]

    def similarity(self, other: StorySignature) -> float:
        """Estimated Jaccard similarity of the two shingle sets (share of equal values)."""
        import numpy as np

        a = np.frombuffer(self.values, dtype=_DTYPE)
        b = np.frombuffer(other.values, dtype=_DTYPE)
        return float(np.count_nonzero(a == b)) / NUM_PERM


def story_signature(title: str | None, text: str) -> StorySignature | None:
    """The signature of an article, or None when title + text has under MIN_WORDS words."""
    from datasketch import MinHash

    words = story_words(title, text or "")
    if len(words) < MIN_WORDS:
        return None
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine64", hashfunc=_identity,
                      permutations=_permutations())
    # The shingles arrive hashed (shingle_hashes); datasketch applies its permutations.
    minhash.update_batch(shingle_hashes(words).tolist())
    return StorySignature(minhash.hashvalues.astype(_DTYPE, copy=False).tobytes())


def same_story(a: StorySignature, b: StorySignature) -> bool:
    """True when the two articles are one story: ``a.similarity(b) >= THRESHOLD``."""
    return a.similarity(b) >= THRESHOLD
