"""The filter key of a metadata value: what makes outlet and category filters case-, tone-
and punctuation-insensitive.

Stored rows keep the display name and its key; a filter value is turned into a key the same
way, so ``source=vnexpress`` finds "VnExpress" and ``category=Văn hoá`` finds "Văn hóa".
"""

from __future__ import annotations

import re

from ..vietnamese import fold, nfc

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def metadata_key(value: str | None) -> str:
    """``value`` lowercased, without tones or diacritics (đ → d), only letters and digits."""
    if not value:
        return ""
    return _NOT_ALNUM.sub("", fold(nfc(value)))
