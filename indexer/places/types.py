"""The typed results of the places package."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PlaceTags", "ProvinceMatch"]


@dataclass(frozen=True)
class PlaceTags:
    """The provinces an article is about.

    ``provinces`` are current (post-1-July-2025) province display names, most weight
    first; ``provinces_former`` are the pre-2025 provinces that no longer exist under
    that name (e.g. "Bình Định", now part of Gia Lai) which the article names directly
    or through one of their districts/wards, most weight first. Every former province
    listed has its current province in ``provinces``.
    """

    provinces: tuple[str, ...] = ()
    provinces_former: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProvinceMatch:
    """What a province name (current or former, any spelling) resolves to."""

    name: str  # the display name matched, current or former ("Bình Định")
    current: str  # its current province ("Gia Lai")
    is_former: bool  # True when ``name`` no longer exists as a province under that name
