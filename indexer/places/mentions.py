"""Find place names in Vietnamese text and map each to its current province.

Rules (why: Vietnamese place names are also common words and person names — "Hòa Bình"
is peace, "Bình Dương" a given name, "Thái Bình Dương" the Pacific):

* only capitalised words on word boundaries are tried, longest name first (up to the
  longest gazetteer name), so "hòa bình" (peace) never matches and "Thái Bình Dương"
  is consumed as a non-place;
* the word before the name decides the administrative level: "tỉnh" → province;
  "TP"/"thành phố" → province or city; "huyện", "quận", "thị xã" → district; "xã",
  "phường", "thị trấn", "đặc khu" → ward. Without such a word, a province name counts,
  and a district name of two words or more; a ward name never does (thousands repeat);
* a name that, at the level chosen, belongs to several current provinces ("Châu Thành")
  is not evidence;
* a name right after another capitalised word ("Nguyễn Bình Định", "Hoàng Anh Gia Lai")
  is part of a longer proper noun; after "ông/bà/anh/chị…" it is a person; after
  "đường/phố/ngõ…" it is a street (unless a level word settles it: "thành phố Yên Bái");
  an acronym before it is an authority of the place ("UBND Hà Nội") except a club's
  ("CLB Hà Nội"); inside a school's name ("ĐH Bách khoa Hà Nội") or after "quê"
  (hometown) it is an address or an origin — none of these count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .gazetteer import NEEDS_PREFIX, Gazetteer, PlaceRef, gazetteer, surface_key

__all__ = ["Mention", "Dateline", "find_mentions", "resolve_dateline"]

_WORD_RE = re.compile(r"[^\W_]+")
# Upper-case letters of Latin scripts (all Vietnamese capitals are in this range).
_UPPER = re.escape("".join(c for c in map(chr, range(0x41, 0x1F00)) if c.isupper()))
_CAP_WORD = rf"[{_UPPER}][^\W_]*"
# A run of capitalised words, joined as _JOIN_RE allows.
_RUN_RE = re.compile(rf"(?<![^\W_]){_CAP_WORD}(?:(?: |\. ?| ?[-–] ?){_CAP_WORD})*")
# What may join the words of one name: a space, "." ("TP.HCM"), a hyphen or dash
# ("Bà Rịa - Vũng Tàu").
_JOIN_RE = re.compile(r"(?: |\. ?| ?[-–] ?)$")

_PROVINCE_WORDS = {"tỉnh": ("province",)}
_CITY_WORDS = {"tp": ("province", "district"), "thành phố": ("province", "district"),
               "thủ đô": ("province",)}
_DISTRICT_WORDS = {"huyện": ("district",), "quận": ("district",), "thị xã": ("district",),
                   "tx": ("district",), "huyện đảo": ("district",)}
_WARD_WORDS = {"xã": ("ward",), "phường": ("ward",), "thị trấn": ("ward",),
               "đặc khu": ("ward", "district"), "tt": ("ward",)}
PREFIX_LEVELS: dict[str, tuple[str, ...]] = {**_PROVINCE_WORDS, **_CITY_WORDS,
                                             **_DISTRICT_WORDS, **_WARD_WORDS}
# A district name written without its level word ("Xuân Trường", "Long Thành") is also a
# person's, a club's or an airport's name more often than a province name is.
BARE_UNIT = 0.5

_PERSON_WORDS = frozenset({"ông", "bà", "anh", "chị", "cô", "chú", "bác", "em", "cháu", "cụ",
                           "thầy", "bé", "cậu", "vợ", "chồng", "mẹ", "bố", "cha", "nàng",
                           "chàng", "dì", "mợ", "thím", "cố"})
_CLUB_WORDS = frozenset({"CLB", "HA", "HAGL", "FC", "SHB", "SLNA", "XM", "B.BD", "DNH"})
# Labelling rule (data/eval/places-sample.md): a national-status school's name ("ĐH Bách
# khoa Hà Nội", "Trường ĐH Sư phạm Kỹ thuật TP.HCM") or a hometown ("quê Phú Thọ") is an
# address or an origin, not what the story is about.
_NOT_ABOUT_RE = re.compile(
    r"(?:\b(?:ĐH|Đại học|đại học|Học viện|học viện|Cao đẳng|cao đẳng|CĐ|Bách khoa)\b"
    r"[^,.;:()“”\"!?\n]*|\bquê(?: ở| quán)?\s*)$")
_STREET_WORDS = frozenset({"đường", "phố", "ngõ", "hẻm", "kiệt", "ngách", "đại lộ", "số"})


@dataclass(frozen=True)
class Mention:
    """One place name found: its current province, the former one if gone, its offset."""

    current: str
    former: str | None
    start: int
    strength: float = 1.0  # BARE_UNIT for a district name without "huyện/quận/TP…"


@dataclass(frozen=True)
class Dateline:
    """A place dateline ("QUẢNG NGÃI - ") and where the text after it starts."""

    mention: Mention
    end: int


def _prefix_before(text: str, words: list[re.Match[str]], i: int) -> str | None:
    """The level word right before words[i] ("tỉnh", "thành phố"), lowercased, if any."""
    for span in (2, 1):
        if i - span < 0:
            continue
        first = words[i - span]
        between = text[first.start():words[i].start()].rstrip(" .")
        candidate = " ".join(between.lower().split())
        if candidate in PREFIX_LEVELS and _JOIN_RE.search(text[first.start():words[i].start()]):
            return candidate
    return None


def _pick(refs: frozenset[PlaceRef]) -> PlaceRef | None:
    """The one current province of ``refs``; None when they disagree.

    The former province is kept only when every unit of that name lay in it: "Quy Nhơn"
    (a district of Bình Định only) names Bình Định; "xã Phong Nha" (a commune of today's
    Quảng Trị and a former town of Quảng Bình) may be written after the merger, so it
    names no former province.
    """
    currents = {r.current for r in refs}
    if len(currents) != 1:
        return None
    formers = {r.former for r in refs}
    former = formers.pop() if len(formers) == 1 else None
    return PlaceRef(currents.pop(), former)


def _resolve(gaz: Gazetteer, key: str, prefix: str | None) -> tuple[PlaceRef, float] | None:
    """The place ``key`` names after ``prefix`` and the mention's strength, if any."""
    by_level = gaz.surfaces.get(key)
    if not by_level:
        return None
    if prefix is not None:
        levels = PREFIX_LEVELS[prefix]
    elif key in NEEDS_PREFIX:
        return None
    elif " " in key:
        levels = ("province", "district")
    else:
        levels = ("province",)
    for level in levels:
        if level in by_level:
            ref = _pick(by_level[level])
            if ref is None:
                return None
            bare = prefix is None and level != "province"
            return ref, BARE_UNIT if bare else 1.0
    return None


def _blocked(text: str, words: list[re.Match[str]], i: int, after_place: bool) -> bool:
    """The name at words[i] is part of a person's, a street's or a longer proper name."""
    if i == 0:
        return False
    prev = words[i - 1]
    gap = text[prev.end():words[i].start()]
    if gap != " ":
        return False
    before = prev.group().lower()
    if before in _PERSON_WORDS or before in _STREET_WORDS:
        return True
    word = prev.group()
    if after_place or not word[0].isupper() or before in PREFIX_LEVELS:
        return False
    if word.isupper() and len(word) > 1:
        # An acronym ("UBND Hà Nội", "CSGT TP.HCM") is an authority of the place; a
        # club's ("CLB Hà Nội", "HA Gia Lai") is a team, not the place.
        return word in _CLUB_WORDS
    return True


def _longest(gaz: Gazetteer, lowered: list[str], i: int) -> tuple[int, str] | None:
    """(number of words, key) of the longest gazetteer name starting at lowered[i]."""
    best = None
    key = ""
    for j in range(i, min(len(lowered), i + gaz.max_words)):
        key = lowered[j] if j == i else key + " " + lowered[j]
        if key not in gaz.prefixes:
            break
        if key in gaz.surfaces or key in gaz.stop_surfaces:
            best = (j - i + 1, key)
    return best


def _run_mentions(gaz: Gazetteer, text: str, run: re.Match[str], out: list[Mention]) -> None:
    """Mentions inside one run of capitalised words ("Thái Bình Dương", "UBND TP Quy Nhơn")."""
    before = list(_WORD_RE.finditer(text, max(0, run.start() - 30), run.start()))[-2:]
    words = before + list(_WORD_RE.finditer(text, run.start(), run.end()))
    lowered = [w.group().lower() for w in words]
    i = len(before)
    after_place = False
    while i < len(words):
        found = _longest(gaz, lowered, i)
        if found is None:
            i += 1
            after_place = False
            continue
        n, key = found
        found_ref = None
        prefix = _prefix_before(text, words, i)
        # A level word ("thành phố", "tỉnh") settles it: "phố" is then not a street.
        if key not in gaz.stop_surfaces and (prefix or not _blocked(text, words, i, after_place)):
            found_ref = _resolve(gaz, key, prefix)
        if found_ref is not None and not _NOT_ABOUT_RE.search(
                text, max(0, words[i].start() - 60), words[i].start()):
            ref, strength = found_ref
            out.append(Mention(ref.current, ref.former, words[i].start(), strength))
        after_place = found_ref is not None
        i += n


def find_mentions(text: str, start: int = 0) -> list[Mention]:
    """Every place-name mention in ``text[start:]`` (text already tone-normalised).

    Only runs of capitalised words are looked at (a regular expression finds them), so
    the cost is in proportion to the proper nouns of the text, not its length.
    """
    gaz = gazetteer()
    out: list[Mention] = []
    for run in _RUN_RE.finditer(text, start):
        word = run.group()
        # Fast path: most runs are one capitalised word that names nothing ("Theo").
        if word.isalpha() and word.lower() not in gaz.surfaces:
            continue
        _run_mentions(gaz, text, run, out)
    return out


_DATELINE_RE = re.compile(r"\s*([^\W\d_][^\W\d_ .]*(?:[ .]{1,2}[^\W\d_]+){0,4})\s*[-–—:]\s")


def resolve_dateline(head: str) -> Dateline | None:
    """A place dateline at the start of ``head``: an all-caps place name and a dash."""
    m = _DATELINE_RE.match(head)
    if not m or not m.group(1).isupper():
        return None
    key = surface_key(m.group(1))
    found = _resolve(gazetteer(), key, None) or _resolve(gazetteer(), key, "thành phố")
    if found is None:
        return None
    ref = found[0]
    return Dateline(Mention(ref.current, ref.former, m.start(1)), m.end())
