"""Category names: split joined values, turn section slugs into names, one spelling each.

Corpora store categories as slugs ("tin-tuc-trong-ngay"), as several names joined into
one string ("Đời sống; Xã hội") and with either tone convention ("Văn hoá" / "Văn hóa").
:func:`split_categories` turns any of them into a tuple of display names, so an article
may have several categories and a filter on "Xã hội" or "Văn hóa" finds all of them.

Decisions:

* separators are ";", "|", "," and breadcrumb arrows (" > ", " » "); every level of a
  breadcrumb is kept. " - " is *not* a separator: it is part of section names such as
  "Khoa học - Công nghệ" and "Giáo dục - Hướng nghiệp" (dantri). "/" splits only a slug
  path ("the-thao/bong-da"), never a name ("N/A" and "24/7" stay whole);
* every part is NFC with the new-style tone placement of
  :func:`indexer.vietnamese.normalize_tone_placement` ("Văn hoá" → "Văn hóa",
  "Sức khoẻ" → "Sức khỏe"). A part whose key matches a known name or slug in
  ``categories.json`` becomes that name, in its sentence-case spelling ("VĂN HÓA",
  "van-hoa" → "Văn hóa"); other parts keep their own spelling;
* placeholders that mean "no category" ("Không xác định") are dropped: they name no
  category, so keeping them would offer a filter value that means "missing";
* empty parts and repeats (by key) are dropped, first occurrence order kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType

from ..vietnamese import nfc, normalize_tone_placement
from .keys import metadata_key

__all__ = ["CategoryTable", "split_categories", "category_key", "default_table"]

_SEPARATOR_RE = re.compile(r"\s*(?:[;|,]|\s[>»]\s)\s*")
# A lowercase ASCII slug, or a path of them ("the-thao/bong-da").
_SLUG_PATH_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*(?:/[a-z0-9]+(?:-[a-z0-9]+)*)+/?$")
_INVISIBLE_RE = re.compile("[\ufeff\u200b-\u200f\u2060]")
_SPACE_RE = re.compile(r"\s+")


def category_key(name: str | None) -> str:
    """The filter key of a category: folded, lowercased, letters and digits only."""
    return metadata_key(name)


def _clean(part: str) -> str:
    """``part`` in NFC, one tone placement, invisible characters gone, spaces collapsed."""
    text = _SPACE_RE.sub(" ", _INVISIBLE_RE.sub("", nfc(part))).strip()
    return normalize_tone_placement(text)


@dataclass(frozen=True)
class CategoryTable:
    """Known category names, slug → name mappings and placeholder values, by key."""

    by_key: Mapping[str, str]
    placeholders: frozenset[str]

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> CategoryTable:
        """Build from ``{"slugs": {slug: name}, "names": [...], "placeholders": [...]}``."""
        slugs = data.get("slugs") or {}
        names = data.get("names") or []
        placeholders = data.get("placeholders") or []
        if (not isinstance(slugs, dict) or not isinstance(names, list)
                or not isinstance(placeholders, list)):
            raise ValueError("categories table: slugs must be an object, "
                             "names and placeholders lists")
        by_key: dict[str, str] = {}
        # Names first, then slugs: an explicit slug mapping wins over a name whose
        # folded form happens to equal the slug.
        for name in names:
            by_key[category_key(name)] = _clean(name)
        for slug, name in slugs.items():
            by_key[category_key(slug)] = _clean(name)
            by_key.setdefault(category_key(name), _clean(name))
        return cls(
            by_key=MappingProxyType(by_key),
            placeholders=frozenset(category_key(p) for p in placeholders),
        )

    @classmethod
    def load(cls) -> CategoryTable:
        """The built-in table shipped as ``categories.json``."""
        text = resources.files(__package__).joinpath("categories.json").read_text(encoding="utf-8")
        return cls.from_json(json.loads(text))

    def canonical(self, part: str) -> str | None:
        """Display name of one category value, or None for an empty or placeholder value."""
        cleaned = _clean(part)
        key = category_key(cleaned)
        if not key or key in self.placeholders:
            return None
        return self.by_key.get(key, cleaned)

    def split(self, raw: str | None) -> tuple[str, ...]:
        """The categories of one stored value, in order, without repeats (see module doc)."""
        if not raw:
            return ()
        text = _clean(raw)
        # A whole-value placeholder first: "N/A" must not be cut into "N" and "A".
        if not text or category_key(text) in self.placeholders:
            return ()
        parts: list[str] = []
        for piece in _SEPARATOR_RE.split(text):
            parts.extend(piece.strip("/").split("/") if _SLUG_PATH_RE.match(piece) else [piece])
        seen: dict[str, str] = {}
        for part in parts:
            name = self.canonical(part)
            if name is not None:
                seen.setdefault(category_key(name), name)
        return tuple(seen.values())


@cache
def default_table() -> CategoryTable:
    """The built-in table, loaded once."""
    return CategoryTable.load()


def split_categories(raw: str | None, table: CategoryTable | None = None) -> tuple[str, ...]:
    """Categories of a stored value: ``"Đời sống; Xã hội"`` → ``("Đời sống", "Xã hội")``.

    Slugs become names ("tin-tuc-trong-ngay" → "Tin tức trong ngày"), spelling is
    unified ("Văn hoá" → "Văn hóa"), placeholders and repeats are dropped.
    """
    return (table or default_table()).split(raw)
