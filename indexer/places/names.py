"""Province names as typed by users: resolve any spelling to a current or former province."""

from __future__ import annotations

from ..metadata.keys import metadata_key
from .gazetteer import gazetteer
from .types import ProvinceMatch

__all__ = ["resolve_province", "province_key", "current_provinces"]

# Prefixes users put before a province name ("tỉnh Gia Lai", "TP.HCM", "thành phố Huế").
_PREFIXES = ("thanhpho", "tinh", "tp")


def resolve_province(name: str) -> ProvinceMatch | None:
    """Resolve a province name, current or former, to a :class:`ProvinceMatch`.

    Tone-, case-, space- and punctuation-insensitive: "binh dinh", "Bình Định",
    "BÌNH ĐỊNH", "tỉnh Bình Định" → Bình Định (former, now Gia Lai); "tp hcm", "TP.HCM",
    "Hồ Chí Minh", "Sài Gòn" → TP Hồ Chí Minh. ``None`` for anything else (districts
    and wards are not accepted: a filter names a province).
    """
    key = metadata_key(name)
    if not key:
        return None
    names = gazetteer().names
    ref = names.get(key)
    if ref is None:
        for prefix in _PREFIXES:
            if key.startswith(prefix) and key[len(prefix):] in names:
                ref = names[key[len(prefix):]]
                break
    if ref is None:
        return None
    return ProvinceMatch(name=ref.name, current=ref.current, is_former=ref.is_former)


def province_key(name: str) -> str:
    """The filter key of a province name: the folded key of its canonical display name
    when the name resolves ("TP.HCM" and "Hồ Chí Minh" share one key), else the folded
    name itself."""
    match = resolve_province(name)
    return metadata_key(match.name if match else name)


def current_provinces() -> tuple[str, ...]:
    """The 34 provinces and centrally-run cities since 1 July 2025, in official code order."""
    return gazetteer().current
