"""Cut a cleaned article into passages at paragraph boundaries.

Rules (sizes in words = whitespace-separated syllables, the unit Vietnamese text is
counted in): a paragraph shorter than ``min_words`` is merged with its neighbour; a
paragraph longer than ``max_words`` is split at sentence boundaries (and, for a run-on
sentence, at word boundaries) into pieces of at most ``max_words``. No passage is longer
than ``max_chars`` characters whatever its words: a span over it is cut at word boundaries,
and a single "word" longer than it (a base64 blob, a run of punctuation) is cut into
``max_chars`` pieces. Each passage keeps its character offsets:
``passage.text == article_text[passage.start:passage.end]``. ``max_tokens`` (with a token
counter) guarantees no passage exceeds the model's limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .article import Passage

_PARAGRAPH = re.compile(r"[^\n]+(?:\n(?!\n)[^\n]*)*")
# A sentence ends at . ! ? … (optionally followed by a closing quote/bracket) and space.
_SENTENCE_END = re.compile(r"[.!?…]+[\"”’')\]]*\s+")
_OPENERS = "\"“‘(["
_WORD = re.compile(r"\S+")

#: ``max_chars`` when not given: this many characters per word of ``max_words`` (160 words →
#: 1,920 characters). The longest of 29,711 real passages (dantri-unc + crawlnews, 160
#: words) is 1,577 characters, so real prose never meets the bound; only a text without
#: spaces does.
CHARS_PER_WORD = 12


@dataclass(frozen=True)
class ChunkSettings:
    """Chunking parameters, recorded in the index manifest.

    ``max_chars``: the most characters of a passage; None (or 0): ``CHARS_PER_WORD`` ×
    ``max_words``.
    """

    min_words: int = 40
    max_words: int = 160
    max_chars: int | None = None

    @property
    def char_limit(self) -> int:
        """The effective ``max_chars``."""
        return self.max_chars or CHARS_PER_WORD * self.max_words

    @classmethod
    def from_manifest(cls, chunking: dict) -> ChunkSettings:
        """The settings recorded in a manifest's ``chunking`` (an index from before
        ``max_chars`` takes the derived default)."""
        return cls(min_words=int(chunking["min_words"]), max_words=int(chunking["max_words"]),
                   max_chars=chunking.get("max_chars"))


def _spans(pattern: re.Pattern[str], text: str, start: int, end: int) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in pattern.finditer(text, start, end)]


def _words(text: str, start: int, end: int) -> int:
    return len(_WORD.findall(text, start, end))


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    pos = start
    for m in _SENTENCE_END.finditer(text, start, end):
        cut = m.end()
        nxt = text[cut:cut + 2].lstrip(_OPENERS)[:1]
        if not nxt or not (nxt.isupper() or nxt.isdigit()):
            continue  # "TP. hcm", "v.v. và": not a sentence start
        # keep trailing whitespace out of the sentence span
        out.append((pos, len(text[pos:cut].rstrip()) + pos))
        pos = cut
    if pos < end:
        out.append((pos, end))
    return [s for s in out if s[1] > s[0]]


def _split_words(text: str, start: int, end: int, max_words: int) -> list[tuple[int, int]]:
    words = _spans(_WORD, text, start, end)
    return [(words[i][0], words[min(i + max_words, len(words)) - 1][1])
            for i in range(0, len(words), max_words)]


def _split_chars(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Pack the words of a span into pieces of at most ``max_chars`` characters; a word
    longer than that is cut every ``max_chars`` characters (it has no better place)."""
    pieces: list[tuple[int, int]] = []
    cur: tuple[int, int] | None = None
    for w_start, w_end in _spans(_WORD, text, start, end):
        if cur is not None and w_end - cur[0] <= max_chars:
            cur = (cur[0], w_end)
            continue
        if cur is not None:
            pieces.append(cur)
        while w_end - w_start > max_chars:
            pieces.append((w_start, w_start + max_chars))
            w_start += max_chars
        cur = (w_start, w_end)
    if cur is not None:
        pieces.append(cur)
    return pieces


def _enforce_chars(text: str, spans: list[tuple[int, int]],
                   max_chars: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in spans:
        out.extend([(start, end)] if end - start <= max_chars
                   else _split_chars(text, start, end, max_chars))
    return out


def _split_long(text: str, start: int, end: int, max_words: int) -> list[tuple[int, int]]:
    """Greedy packing of sentences into pieces of at most ``max_words`` words."""
    pieces: list[tuple[int, int]] = []
    cur_start: int | None = None
    cur_end = start
    cur_words = 0
    for s_start, s_end in _sentences(text, start, end):
        n = _words(text, s_start, s_end)
        if n > max_words:
            if cur_start is not None:
                pieces.append((cur_start, cur_end))
                cur_start, cur_words = None, 0
            pieces.extend(_split_words(text, s_start, s_end, max_words))
            continue
        if cur_start is not None and cur_words + n > max_words:
            pieces.append((cur_start, cur_end))
            cur_start, cur_words = None, 0
        if cur_start is None:
            cur_start = s_start
        cur_end = s_end
        cur_words += n
    if cur_start is not None:
        pieces.append((cur_start, cur_end))
    return _balance(text, pieces, max_words)


def _balance(text: str, pieces: list[tuple[int, int]], max_words: int) -> list[tuple[int, int]]:
    """Merge a too-short last piece into the previous one when the result still fits."""
    if len(pieces) >= 2:
        last_words = _words(text, *pieces[-1])
        prev_words = _words(text, *pieces[-2])
        if last_words < max_words // 4 and prev_words + last_words <= max_words:
            pieces[-2:] = [(pieces[-2][0], pieces[-1][1])]
    return pieces


def chunk_text(text: str, settings: ChunkSettings = ChunkSettings(),
               count_tokens: Callable[[str], int] | None = None,
               max_tokens: int | None = None) -> list[Passage]:
    """Split cleaned ``text`` (paragraphs separated by blank lines) into passages."""
    spans: list[tuple[int, int]] = []
    for p_start, p_end in _spans(_PARAGRAPH, text, 0, len(text)):
        if not text[p_start:p_end].strip():
            continue
        if _words(text, p_start, p_end) > settings.max_words:
            spans.extend(_split_long(text, p_start, p_end, settings.max_words))
        else:
            spans.append((p_start, p_end))

    merged: list[tuple[int, int]] = []
    for span in spans:
        if merged:
            prev = merged[-1]
            prev_words, words = _words(text, *prev), _words(text, *span)
            if (prev_words < settings.min_words or words < settings.min_words) and \
                    prev_words + words <= settings.max_words and \
                    span[1] - prev[0] <= settings.char_limit:
                merged[-1] = (prev[0], span[1])
                continue
        merged.append(span)

    merged = _enforce_chars(text, merged, settings.char_limit)
    if count_tokens is not None and max_tokens is not None:
        merged = _enforce_tokens(text, merged, count_tokens, max_tokens)
    return [Passage(ordinal=i, text=text[s:e], start=s, end=e) for i, (s, e) in enumerate(merged)]


def _enforce_tokens(text: str, spans: list[tuple[int, int]], count_tokens: Callable[[str], int],
                    max_tokens: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in spans:
        if count_tokens(text[start:end]) <= max_tokens:
            out.append((start, end))
            continue
        words = _words(text, start, end)
        halves = _split_long(text, start, end, max(1, words // 2))
        if len(halves) == 1:  # one word: halve it by characters
            halves = _split_chars(text, start, end, (end - start + 1) // 2)
        if len(halves) == 1:  # one character: cannot split further
            out.append((start, end))
        else:
            out.extend(_enforce_tokens(text, halves, count_tokens, max_tokens))
    return out
