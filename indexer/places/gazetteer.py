"""The gazetteer: Vietnam's provinces, districts and wards, before and after 1 July 2025.

Source: the ``vietnamadminunits`` package (MIT, data of 2025), chosen over
``vietnam-provinces`` because it is the only one of the two with the *pre-2025* units
(63 provinces, 696 districts, 10,040 wards) and the official old→new province mapping;
``vietnam-provinces`` lists only the 34 new provinces and their 3,321 wards. We read the
package's own JSON data files (``parser_legacy.json``, ``parser_from_2025.json``,
``converter_2025.json``) rather than import it: ``import vietnamadminunits`` loads shapely
and geopy (an online geocoder client) and costs ~0.9 s and ~70 MB, while the three files
are plain data (~4 MB, read once, lazily, in ~0.1 s). Nothing is downloaded.

The result, :class:`Gazetteer`, holds two look-up tables:

* ``surfaces``: a place name as written in text (lowercase, NFC, one tone placement,
  e.g. "quy nhơn") → :class:`PlaceRef` entries per administrative level; the tagger
  decides with the surrounding words which level applies;
* ``names``: a folded filter key ("binhdinh", "tphcm") → :class:`NameRef` for
  :func:`indexer.places.resolve_province`.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..metadata.keys import metadata_key
from ..vietnamese import normalize_tone_placement

__all__ = ["Gazetteer", "PlaceRef", "NameRef", "gazetteer", "surface_key", "LEVELS"]

# Administrative levels, most general first.
LEVELS = ("province", "district", "ward")

# Display names where the package's short name would be ambiguous or unusual.
_DISPLAY = {"thanhphohochiminh": "TP Hồ Chí Minh"}

# Other ways articles and users write a province: key of the package's province → names.
# Surfaces are matched in text (capitalised); folded forms also serve resolve_province.
_ALIASES: dict[str, tuple[str, ...]] = {
    "thanhphohochiminh": ("TP.HCM", "TPHCM", "TP HCM", "TP. HCM", "Tp.HCM", "Tp HCM",
                          "Sài Gòn", "Thành phố Hồ Chí Minh", "TP Hồ Chí Minh",
                          "TP. Hồ Chí Minh", "Hồ Chí Minh", "HCM", "HCMC", "Saigon"),
    "thanhphohanoi": ("Hà Nội", "Thủ đô Hà Nội", "HN", "Hanoi"),
    "thanhphohue": ("Thừa Thiên Huế", "Thừa Thiên - Huế", "Thừa Thiên-Huế", "TT-Huế",
                    "TT Huế"),
    "tinhdaklak": ("Đắk Lắk", "Đăk Lăk", "Đắc Lắc", "Đắk Lăk", "Daklak", "Dak Lak"),
    "tinhdaknong": ("Đắk Nông", "Đăk Nông", "Đắc Nông", "Daknong", "Dak Nong"),
    "tinhbariavungtau": ("Bà Rịa - Vũng Tàu", "Bà Rịa-Vũng Tàu", "Bà Rịa – Vũng Tàu",
                         "BR-VT", "BRVT", "Bà Rịa Vũng Tàu"),
    "tinhkontum": ("Kon Tum", "Kontum"),
    "tinhthanhhoa": ("Thanh Hoá",),
    "tinhkhanhhoa": ("Khánh Hoà",),
    "tinhhoabinh": ("Hoà Bình",),
    "thanhphodanang": ("Đà Nẵng", "Danang"),
}

# Names that are places in the package but in news are mostly something else.
# "Hoàng Sa"/"Trường Sa" (island districts) name the archipelagos in sovereignty stories
# of every outlet; "Hồ Chí Minh" alone is the president, the trail, the youth union.
NEEDS_PREFIX = frozenset({"hoàng sa", "trường sa", "hồ chí minh", "thống nhất", "độc lập",
                          "thanh xuân", "hồng bàng", "hai bà trưng",
                          "ngô quyền", "lê chân", "trần văn thời", "quang trung"})

# Capitalised phrases that contain a place name but are not places (longest match wins).
NOT_PLACES = ("Thái Bình Dương", "Đại Tây Dương", "Ấn Độ Dương", "Nam Sudan", "Nam Phi",
              "Nam Mỹ", "Bắc Mỹ", "Nam Cực", "Bắc Cực", "Bắc Kinh", "Bắc Triều Tiên",
              "Nam Triều Tiên", "Hòa Bình Xanh", "Biển Đông", "Đông Nam Á", "Tây Nguyên",
              "Nam Bộ", "Bắc Bộ", "Trung Bộ", "Tây Bắc", "Đông Bắc", "Tây Nam Bộ",
              "Đông Nam Bộ", "Bắc Trung Bộ", "Nam Trung Bộ", "Hà Lan", "Đông Timor")


@dataclass(frozen=True)
class PlaceRef:
    """One place a surface can name: its current province and, if gone, the former one."""

    current: str
    former: str | None  # a pre-2025 province that no longer exists under its name


@dataclass(frozen=True)
class NameRef:
    """What a folded province name resolves to (see ``resolve_province``)."""

    name: str
    current: str
    is_former: bool


@dataclass
class Gazetteer:
    """All look-up tables the tagger and the resolver need (built once, see gazetteer())."""

    current: tuple[str, ...]
    surfaces: dict[str, dict[str, frozenset[PlaceRef]]] = field(default_factory=dict)
    names: dict[str, NameRef] = field(default_factory=dict)
    stop_surfaces: frozenset[str] = frozenset()
    # Every leading run of words of a surface ("thái", "thái bình", "thái bình dương"):
    # lets the matcher stop extending a name as soon as no surface can follow.
    prefixes: frozenset[str] = frozenset()
    max_words: int = 4

    def add(self, surface: str, level: str, ref: PlaceRef) -> None:
        """Record that ``surface`` names ``ref`` at ``level``."""
        # The package has a few units without a short name (NaN in its data).
        key = surface_key(surface) if isinstance(surface, str) else ""
        if not key:
            return
        by_level = self.surfaces.setdefault(key, {})
        by_level[level] = by_level.get(level, frozenset()) | {ref}
        self.max_words = max(self.max_words, key.count(" ") + 1)


def surface_key(text: str) -> str:
    """The look-up key of a place name as written: lowercase, one tone placement,
    single spaces, hyphens and dashes as spaces ("Bà Rịa-Vũng Tàu" → "bà rịa vũng tàu")."""
    text = normalize_tone_placement(text).lower()
    for dash in ("-", "–", "—", "."):
        text = text.replace(dash, " ")
    return " ".join(text.split())


def _package_data_dir() -> Path:
    """The data folder of the installed ``vietnamadminunits`` (found without importing it)."""
    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the gazetteer package vietnamadminunits is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _load(name: str) -> dict:
    with open(_package_data_dir() / name, encoding="utf-8") as fh:
        return json.load(fh)


def _display(key: str, short: str) -> str:
    return _DISPLAY.get(key, normalize_tone_placement(short))


def _add_provinces(gaz: Gazetteer, legacy: dict, new: dict, old_to_new: dict[str, str]) -> None:
    """Province-level surfaces and resolver keys, current and former."""
    current_names = {_display(k, v["provinceShort"]) for k, v in new.items()}
    for old_key, info in legacy.items():
        name = _display(old_key, info["provinceShort"])
        new_key = old_to_new[old_key]
        current = _display(new_key, new[new_key]["provinceShort"])
        is_former = name not in current_names
        ref = PlaceRef(current, name if is_former else None)
        for surface in (info["provinceShort"], name, *_ALIASES.get(old_key, ())):
            gaz.add(surface, "province", ref)
            gaz.names.setdefault(metadata_key(surface), NameRef(name, current, is_former))
        for keyword in info["provinceKeywords"]:
            gaz.names.setdefault(keyword, NameRef(name, current, is_former))
        # "tp" + name for the five centrally-run cities ("tphanoi", "tpdanang").
        if old_key.startswith("thanhpho"):
            short = "tp" + old_key[len("thanhpho"):]
            gaz.names.setdefault(short, NameRef(name, current, is_former))


def _add_units(gaz: Gazetteer, level: str, units: list[tuple[str, PlaceRef]]) -> None:
    """District or ward surfaces; a name that names several current provinces is dropped
    later by the tagger (its refs disagree), so it is never evidence on its own."""
    for short, ref in units:
        gaz.add(short, level, ref)


def _legacy_units(legacy: dict, districts: dict, wards: dict, old_to_new: dict[str, str],
                  new: dict) -> tuple[list[tuple[str, PlaceRef]], list[tuple[str, PlaceRef]]]:
    """(district, ward) surfaces of the 63 former provinces with their current province."""
    current_names = {_display(k, v["provinceShort"]) for k, v in new.items()}
    out_d: list[tuple[str, PlaceRef]] = []
    out_w: list[tuple[str, PlaceRef]] = []
    for old_key, info in legacy.items():
        name = _display(old_key, info["provinceShort"])
        new_key = old_to_new[old_key]
        ref = PlaceRef(_display(new_key, new[new_key]["provinceShort"]),
                       None if name in current_names else name)
        for d in districts.get(old_key, {}).values():
            out_d.append((d["districtShort"], ref))
        for by_ward in wards.get(old_key, {}).values():
            for w in by_ward.values():
                out_w.append((w["wardShort"], ref))
    return out_d, out_w


def _current_wards(new: dict, wards: dict) -> list[tuple[str, PlaceRef]]:
    out: list[tuple[str, PlaceRef]] = []
    for new_key, by_ward in wards.items():
        ref = PlaceRef(_display(new_key, new[new_key]["provinceShort"]), None)
        out.extend((w["wardShort"], ref) for w in by_ward.values())
    return out


def _merge_accented(base: dict, extra: dict) -> dict:
    """The package keeps tone-distinguished units ("Cẩm Giang"/"Cẩm Giàng") apart."""
    merged = {k: dict(v) for k, v in base.items()}
    for prov, sub in extra.items():
        target = merged.setdefault(prov, {})
        for k, v in sub.items():
            if isinstance(v, dict) and k in target and isinstance(target[k], dict) and \
                    all(isinstance(x, dict) for x in v.values()):
                target[k] = {**target[k], **v}
            else:
                target[k] = v
    return merged


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """Build the tables once per process (~0.1–0.2 s) from the package data."""
    legacy_data = _load("parser_legacy.json")
    new_data = _load("parser_from_2025.json")
    mapping = _load("converter_2025.json")["DICT_PROVINCE"]
    old_to_new = {old: new_key for new_key, olds in mapping.items() for old in olds}
    legacy, new = legacy_data["DICT_PROVINCE"], new_data["DICT_PROVINCE"]
    gaz = Gazetteer(current=tuple(_display(k, v["provinceShort"]) for k, v in new.items()))
    _add_provinces(gaz, legacy, new, old_to_new)
    legacy_wards = _merge_accented(legacy_data["DICT_PROVINCE_DISTRICT_WARD_NO_ACCENTED"],
                                   legacy_data["DICT_PROVINCE_DISTRICT_WARD_ACCENTED"])
    districts, wards = _legacy_units(legacy, legacy_data["DICT_PROVINCE_DISTRICT"],
                                     legacy_wards, old_to_new, new)
    _add_units(gaz, "district", districts)
    _add_units(gaz, "ward", wards)
    new_wards = _merge_accented(new_data["DICT_PROVINCE_WARD_NO_ACCENTED"],
                                new_data["DICT_PROVINCE_WARD_ACCENTED"])
    _add_units(gaz, "ward", _current_wards(new, new_wards))
    gaz.stop_surfaces = frozenset(surface_key(s) for s in NOT_PLACES)
    gaz.max_words = max(gaz.max_words, *(k.count(" ") + 1 for k in gaz.stop_surfaces))
    words = [k.split(" ") for k in (*gaz.surfaces, *gaz.stop_surfaces)]
    gaz.prefixes = frozenset(" ".join(w[:n]) for w in words for n in range(1, len(w) + 1))
    return gaz
