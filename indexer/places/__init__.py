"""Places: which Vietnamese provinces an article is about, with the 2025 merger.

Since 1 July 2025 Vietnam has 34 provinces instead of 63 (new Gia Lai = former Gia Lai +
former Bình Định). Articles name places both ways; :func:`tag_places` maps every name
(province, former province, city, district, unambiguous ward; a dateline; the outlet's
home province) to its current province, weighted so that a passing mention does not
count, and keeps the former provinces it named. :func:`resolve_province` turns what a
user types ("binh dinh", "TP.HCM") into a current or former province.

Gazetteer: ``vietnamadminunits`` (MIT, 2025 data), read lazily from its data files — see
:mod:`indexer.places.gazetteer` for why it and not ``vietnam-provinces``.
"""

from .names import current_provinces, province_key, resolve_province
from .tagger import tag_places
from .types import PlaceTags, ProvinceMatch

__all__ = ["PlaceTags", "ProvinceMatch", "tag_places", "resolve_province", "province_key",
           "current_provinces"]
