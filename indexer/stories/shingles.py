"""The text a story signature is computed from: normalised words and word shingles.

Outlets that republish a story change its wrapper, not its sentences: the dateline tag
("(Dân trí) -", "TPO -"), the closing source line ("Theo VnExpress"), the author's
name and photo credits. Those words are dropped here so that two copies of one report
share nearly all their shingles; what is left is the title and the body as words
(NFC, lower case, runs of letters and digits).
Tones are kept: with tones folded, 56 more pairs reach the threshold on the real corpora,
36 of them template pages (live-stream and lottery items), and of the 130 judged pairs
(data/eval/story-pairs.jsonl) 9 fewer same-story pairs reach it (``bench/stories.py
--variants``).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from typing import Any

from indexer.cleaning import strip_dateline_tag
from indexer.vietnamese import fold

__all__ = ["SHINGLE_WORDS", "MIN_WORDS", "story_words", "shingle_hashes"]

#: Words per shingle. 3 words: of the 130 judged pairs, 2-word shingles put 5 more
#: same-story pairs but 9 more different-story pairs over the threshold; 4-word shingles
#: lose 28 of the 73 same-story pairs to drop 16 of the 27 wrong ones (an edited word
#: costs as many shingles as the shingle has words).
SHINGLE_WORDS = 3

#: Below this many words (title + text, after the wrapper is removed) a text is too
#: short to tell a republished copy from two reports that share a formula ("Kết quả
#: xổ số ..."), so no signature is made.
MIN_WORDS = 25

# A closing source/author line: "Theo VnExpress", "Nguồn: Tuổi Trẻ", "Minh Anh (Tổng
# hợp)", "PV" — short, at the very end of the text. Only the last 80 characters are
# looked at, so a sentence that merely contains "theo" is never cut.
_TRAILER_RE = re.compile(
    r"(?:[.!?…”\"')\]]|^)\s*(?:\(?\s*(?:theo|nguồn|nguon)\b[^.!?\n]{0,60}"
    r"|[^.!?\n]{0,40}\((?:tổng hợp|theo [^)]{1,40})\))\s*\.?\s*$",
    re.IGNORECASE,
)
_TAIL_CHARS = 80
# An outlet's description of itself, which some feeds append to every lead ("Đài Phát
# thanh và Truyền hình Thanh Hóa là đơn vị sự nghiệp thuộc UBND tỉnh ...", "Báo Vĩnh Long
# online, Cơ quan của Đảng Bộ ...", "Tiếng nói của đảng bộ và nhân dân ..."): in the
# DANeS leads such a sentence made unrelated short items look 0.5-0.65 similar. Also a
# betting teaser the 24h crawl glues to match pages. Sentences matching are dropped.
_SELF_DESCRIPTION = (
    "là đơn vị sự nghiệp", "là cơ quan ngôn luận", "cơ quan của đảng bộ", "tiếng nói của đảng bộ",
    "cơ quan chủ quản", "giấy phép hoạt động báo chí", "cơ hội trúng ngay",
)
_SENTENCE_RE = re.compile(r"[^.!?\n]+(?:[.!?…]+|$)")
# Words: runs of letters/digits. A plain regex rather than indexer.vietnamese.tokenize:
# 3x faster, and tone placement ("hoà"/"hòa") does not differ between copies of a text.
_WORD_RE = re.compile(r"[^\W_]+")


def _drop_trailer(text: str) -> str:
    """The text without a closing source line found in its last characters."""
    head, tail = text[:-_TAIL_CHARS], text[-_TAIL_CHARS:]
    m = _TRAILER_RE.search(tail)
    if not m:
        return text
    # Keep the sentence-ending punctuation the match started with.
    cut = m.start() + (1 if tail[m.start()] in ".!?…”\"')]" else 0)
    return head + tail[:cut]


def _drop_short_last_paragraph(text: str) -> str:
    """Drop a last paragraph of a few words: an author name or credit line."""
    body, sep, last = text.rpartition("\n\n")
    if sep and len(last.split()) <= 4 and not last.rstrip().endswith((".", "!", "?")):
        return body
    return text


def _is_self_description(lowered: str) -> bool:
    return any(phrase in lowered for phrase in _SELF_DESCRIPTION)


def story_words(title: str | None, text: str, *, fold_tones: bool = False) -> list[str]:
    """The title and body of an article as normalised words, wrapper removed.

    ``fold_tones`` strips tones and đ → d (kept for measurement; the signature does
    not use it).
    """
    lead, sep, rest = text.strip().partition("\n\n")
    body = strip_dateline_tag(lead) + sep + rest
    body = _drop_trailer(_drop_short_last_paragraph(body.rstrip()))
    # Plain substring tests on the lower-cased text: a case-insensitive regex over the
    # whole body cost more than all the rest of the signature.
    if _is_self_description(body.lower()):
        body = " ".join(m.group() for m in _SENTENCE_RE.finditer(body)
                        if not _is_self_description(m.group().lower()))
    joined = f"{title or ''}\n\n{body}"
    if not unicodedata.is_normalized("NFC", joined):
        joined = unicodedata.normalize("NFC", joined)
    if fold_tones:
        joined = fold(joined)
    return _WORD_RE.findall(joined.lower())


# Odd 64-bit multipliers (from splitmix64/xxhash) that mix the word hashes of a shingle by
# position, so "a b c" and "c b a" differ; datasketch's MurmurHash finaliser mixes further.
_MIX = (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0xC2B2AE3D27D4EB4F,
        0x165667B19E3779F9)


@lru_cache(maxsize=1 << 17)
def _word_hash(word: str) -> int:
    """A stable 64-bit hash of one word (Python's hash() changes between processes)."""
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def shingle_hashes(words: list[str], size: int = SHINGLE_WORDS) -> Any:
    """The distinct 64-bit hashes of the word shingles, as a numpy uint64 array.

    Hashing each distinct word once (cached) and combining word hashes with numpy is
    about 4x faster than hashing each shingle's bytes with SHA-1 (datasketch's
    default), which keeps a 5,000-character article under 2 ms.
    """
    import numpy as np

    if not words:
        return np.zeros(0, dtype=np.uint64)
    hashes = np.fromiter((_word_hash(w) for w in words), dtype=np.uint64, count=len(words))
    span = min(size, len(words))
    count = len(words) - span + 1
    combined = np.zeros(count, dtype=np.uint64)
    for offset in range(span):
        combined ^= hashes[offset:offset + count] * np.uint64(_MIX[offset % len(_MIX)])
    return np.unique(combined)
