"""Vietnamese text utilities: normalisation, tone placement, folding and tokenising.

Everything here is pure Python (``unicodedata`` + ``re``) because these functions run
on every passage at index time and on every query at search time. No NLP library is
used: underthesea's normaliser drags in nltk, scikit-learn and python-crfsuite and
downloads resources on first use (its wheel alone is several MB before those
dependencies), which is far too heavy for a handful of table look-ups.

Conventions shared by all functions:

* text is compared in Unicode NFC;
* tone placement follows one convention (see :func:`normalize_tone_placement`);
* :func:`normalize_tone_placement` never changes the length of NFC text, so offsets
  computed on normalised text are valid on the original NFC text and vice versa.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "nfc",
    "normalize_tone_placement",
    "fold",
    "has_tones",
    "tokenize",
    "token_spans",
    "strip_tones_query",
]

# The five Vietnamese tone marks as combining characters (huyền, sắc, ngã, hỏi, nặng).
_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


def nfc(text: str) -> str:
    """Return ``text`` in Unicode NFC (a no-op, without copying, when it already is)."""
    # is_normalized is a fast C check; most input is already NFC.
    if unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


# ---------------------------------------------------------------------------
# Tone placement
# ---------------------------------------------------------------------------


def _split_tone(ch: str) -> tuple[str, str]:
    """Split one NFC letter into (letter without tone, tone mark or '')."""
    decomposed = unicodedata.normalize("NFD", ch)
    tone = "".join(c for c in decomposed if c in _TONE_MARKS)
    base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
    return base, tone


def _toned_variants(base_letters: str) -> dict[str, tuple[str, str]]:
    """Map every toned NFC form of ``base_letters`` (both cases) to (base, tone)."""
    table: dict[str, tuple[str, str]] = {}
    for letter in base_letters + base_letters.upper():
        for mark in _TONE_MARKS:
            toned = unicodedata.normalize("NFC", letter + mark)
            table[toned] = (letter, mark)
    return table


# Second vowel of the diphthongs oa / oe / uy carrying a tone (à, é, ỷ, ...).
_TONED_AE = _toned_variants("ae")
_TONED_Y = _toned_variants("y")

# Vietnamese onset consonant letters. A syllable only qualifies when everything
# before the diphthong is consonants, so "hoàng", "ngoái", "khuya" or "thuyền"
# (which have a final consonant or a third vowel) never match.
_ONSET = "bcdđghklmnpqrstvxBCDĐGHKLMNPQRSTVX"
_AE_CLASS = "".join(_TONED_AE)
_Y_CLASS = "".join(_TONED_Y)
_TONE_SYLLABLE_RE = re.compile(
    rf"(?<![\w\u0300-\u036f])([{_ONSET}]*)(?:([oO])([{_AE_CLASS}])|([uU])([{_Y_CLASS}]))(?![\w\u0300-\u036f])"
)


def _retone(vowel: str, mark: str) -> str:
    return unicodedata.normalize("NFC", vowel + mark)


def _fix_match(m: re.Match[str]) -> str:
    onset = m.group(1)
    if m.group(2) is not None:
        first, second = m.group(2), m.group(3)
        base, mark = _TONED_AE[second]
    else:
        # After "q" the u belongs to the consonant "qu": "quý" is q-u-ý and keeps
        # the tone on y under either convention.
        if onset[-1:] in ("q", "Q"):
            return m.group(0)
        first, second = m.group(4), m.group(5)
        base, mark = _TONED_Y[second]
    # Keep the case of the letter the mark came from ("HOÀ" -> "HÒA").
    if second.isupper():
        base = base.upper()
    return onset + _retone(first, mark) + base


def normalize_tone_placement(text: str) -> str:
    """Put tone marks of open ``oa``/``oe``/``uy`` syllables on the first vowel.

    Vietnamese text mixes two conventions for these three diphthongs when they end the
    syllable: "hoà, khoẻ, thuý, uỷ" and "hòa, khỏe, thúy, ủy". This function rewrites
    the former to the latter (the form the brief calls "new style" and most
    dictionaries and news sites use), so both spellings index and search alike.

    Rules, applied syllable by syllable (a syllable is a maximal run of letters):

    * only a syllable that is ``<consonants>`` + ``o`` + toned ``a``/``e`` or
      ``<consonants>`` + ``u`` + toned ``y`` is touched: "hoà"→"hòa", "toá"→"tóa",
      "khoẻ"→"khỏe", "huỷ"→"hủy", "uỷ"→"ủy";
    * a final consonant or a third vowel means the tone is already on the main vowel
      under both conventions: "hoàng", "toán", "thuyền", "ngoái", "khuya" stay;
    * after ``q`` the ``u`` is part of the consonant "qu", so "quý", "quỳ", "quà" stay;
    * case is preserved ("HOÀ"→"HÒA", "Thuý"→"Thúy").

    The input is NFC-normalised first; for NFC input the output has the same length
    (one precomposed letter is swapped for another), so character offsets survive.
    """
    text = nfc(text)
    # Cheap pre-check: most passages contain no candidate at all.
    if not _TONE_SYLLABLE_RE.search(text):
        return text
    return _TONE_SYLLABLE_RE.sub(_fix_match, text)


# ---------------------------------------------------------------------------
# Folding (tone/diacritic-insensitive form)
# ---------------------------------------------------------------------------


def _build_fold_table() -> dict[int, str]:
    """Map every precomposed Latin letter with diacritics to its bare lowercase letter."""
    table: dict[int, str] = {}
    # Latin-1 Supplement .. Latin Extended-B, and Latin Extended Additional (where all
    # the Vietnamese ạ/ả/ấ/... letters live).
    for start, end in ((0x00C0, 0x024F), (0x1E00, 0x1EFF)):
        for cp in range(start, end + 1):
            ch = chr(cp)
            stripped = "".join(
                c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c)
            ).lower()
            if stripped != ch.lower() and stripped.isascii():
                table[cp] = stripped
    # đ has no decomposition; it folds to d as every Vietnamese search box expects.
    table[ord("đ")] = "d"
    table[ord("Đ")] = "d"
    return table


_FOLD_TABLE = _build_fold_table()
_COMBINING_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def fold(text: str) -> str:
    """Lowercase and strip all tone marks and vowel diacritics; map đ/Đ to d.

    ``fold("Đà Nẵng") == "da nang"``. Spacing and punctuation are kept.
    """
    folded = nfc(text).lower().translate(_FOLD_TABLE)
    # Letters without a precomposed form (e.g. from lower() of "İ") keep loose marks.
    return _COMBINING_RE.sub("", folded)


def has_tones(text: str) -> bool:
    """True when ``text`` has any Vietnamese diacritic (tone or vowel mark) or đ."""
    lowered = nfc(text).lower()
    return fold(lowered) != lowered


def strip_tones_query(text: str) -> str:
    """Tone-insensitive form of a query; identical to :func:`fold`."""
    return fold(text)


# ---------------------------------------------------------------------------
# Tokenising
# ---------------------------------------------------------------------------

# Numbers written with Vietnamese grouping/decimal separators ("12.368", "63,57",
# "1.593.000") stay one token so an exact query for "12.368" matches the document;
# a separator must be followed by a digit, so "2025." or "5," keep only the digits.
# Other tokens are runs of letters/digits (\w without "_"); combining marks are
# accepted inside a run so non-NFC input yields the same spans.
_TOKEN_RE = re.compile(
    r"\d+(?:[.,]\d+)+(?![^\W_])"
    r"|(?:[^\W_]|[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f])+"
)


def token_spans(text: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the tokens of :func:`tokenize` in ``text``.

    Spans index the string as given (NFC or not), so they can be used to highlight
    the original text; ``tokenize(text)[i]`` is the normalised form of
    ``text[start:end]``.
    """
    return [m.span() for m in _TOKEN_RE.finditer(text)]


def _syllable_key(token: str) -> str:
    # Only tokens ending in a toned a/e/y after o/u can need re-toning; test that
    # cheaply before calling the regex.
    if len(token) >= 2 and token[-2] in "ou" and (token[-1] in _TONED_AE or token[-1] in _TONED_Y):
        return normalize_tone_placement(token)
    return token


def tokenize(text: str) -> list[str]:
    """Split ``text`` into lowercase NFC syllable tokens, tones kept.

    Splits on anything that is not a letter or digit ("_" included). Digit groups
    joined by "." or "," form one token ("12.368", "63,57"); a query tokenised the
    same way matches them exactly. Tone placement is normalised per token, so
    "hoà" and "hòa" give the same token; "thể" and "thế" stay different (use
    :func:`fold` for tone-insensitive matching).
    """
    if unicodedata.is_normalized("NFC", text):
        return [_syllable_key(m.group().lower()) for m in _TOKEN_RE.finditer(text)]
    return [_syllable_key(nfc(m.group()).lower()) for m in _TOKEN_RE.finditer(text)]


def syllable_bigrams(tokens: list[str]) -> list[str]:
    """Adjacent syllable pairs joined by "_" ("thi", "hành", "án" → "thi_hành", "hành_án").

    Most Vietnamese words are two syllables, so pairs approximate word segmentation for
    lexical matching without a segmenter model.
    """
    return [f"{a}_{b}" for a, b in zip(tokens, tokens[1:], strict=False)]
