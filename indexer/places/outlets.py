"""The home province of a regional outlet, from its display name, domain or dateline code.

"Báo Gia Lai", "baogialai.com.vn", "(GLO)" → Gia Lai; "truyenhinhthanhhoa.vn",
"thaibinhtv.vn" → Thanh Hóa, Hưng Yên (former Thái Bình). National outlets ("Dân trí",
"VnExpress", "Tuổi Trẻ") have none. A few city papers are listed by name because their
names do not contain the province ("Hà Nội Mới" does; "Sài Gòn Giải Phóng" needs the
alias). Regional papers print national news too, so the tagger treats this as weak
evidence.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..metadata.keys import metadata_key
from .gazetteer import gazetteer
from .names import resolve_province

__all__ = ["outlet_home"]

# Folded outlet names or dateline codes → province name (any form resolve_province takes).
_KNOWN: dict[str, str] = {
    "glo": "Gia Lai", "qno": "Quảng Nam", "qbdt": "Quảng Bình", "ttv": "Thanh Hóa",
    "bna": "Nghệ An", "dbp": "Điện Biên", "blc": "Lào Cai", "lcdt": "Lào Cai",
    "bkg": "Kiên Giang", "hnmo": "Hà Nội", "hnm": "Hà Nội", "hnmct": "Hà Nội",
    "baoapbac": "Tiền Giang", "baodongkhoi": "Bến Tre", "baodienbienphu": "Điện Biên",
    "hanoimoi": "Hà Nội", "saigongiaiphong": "TP.HCM", "sggp": "TP.HCM", "sggpo": "TP.HCM",
    "congantphcm": "TP.HCM", "htv": "TP.HCM", "voh": "TP.HCM", "hanoitv": "Hà Nội",
    "anninhthudo": "Hà Nội", "antd": "Hà Nội", "kinhtedothi": "Hà Nội",
    "laodongthudo": "Hà Nội", "tuoitrethudo": "Hà Nội", "baocantho": "Cần Thơ",
    "ttdn": "Đà Nẵng",
}
# "bao<province>", "truyenhinh<province>", "<province>tv", "dai<province>" and a domain end.
_SHAPE = (r"^(?:video)?(?:bao|truyenhinh|dai|daiptth|ptth)?({names})(?:tv|online|dientu)?"
          r"(?:vn|comvn|orgvn|netvn|govvn)?$")


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str]:
    keys = sorted({k for k, ref in gazetteer().names.items() if len(k) >= 5}, key=len,
                  reverse=True)
    return re.compile(_SHAPE.format(names="|".join(map(re.escape, keys))))


@lru_cache(maxsize=4096)
def outlet_home(name: str | None) -> str | None:
    """The current province of a regional outlet named ``name``; None for national ones."""
    key = metadata_key(name)
    if not key:
        return None
    known = _KNOWN.get(key)
    if known:
        match = resolve_province(known)
        return match.current if match else None
    m = _pattern().match(key)
    if not m:
        return None
    match = resolve_province(m.group(1))
    return match.current if match else None
