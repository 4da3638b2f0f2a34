"""Bytes → text under the readers' encoding policy (all formats).

Input is expected to be UTF-8 (a BOM is tolerated). Anything else is run through
charset_normalizer; only encodings whose detection is reliable and that can hold
Vietnamese losslessly are accepted - Windows-1258 (decoded, then NFC, since cp1258 stores
tones as combining marks) and UTF-16/32 with a BOM. Any other guess (cp1252, latin-1,
cp775, ...) would turn Vietnamese into mojibake, and the legacy Vietnamese encodings
TCVN3 (ABC) and VNI have no Python codec (the detector mistakes them for cp1252, cp775
and the like), so such input becomes a SkippedRecord with :data:`LEGACY_REASON`, which
tells the user how to fix it, instead of silently indexed garbage. Every format (txt,
html, csv, jsonl lines, sidecars) decodes through :func:`decode_bytes`, so the same bytes
get the same message everywhere. Only data that :func:`looks_binary` (NULs, many control
bytes: images, archives) is :data:`BINARY_REASON`; text with a few bad bytes is not.
"""

from __future__ import annotations

import codecs
import os
import unicodedata
from pathlib import Path

# Legacy-encoded (non-UTF-8) files are decoded in memory; refuse absurd ones.
_MAX_LEGACY_BYTES = 200_000_000

#: txt/html files (and legacy-encoded CSV) are read whole; larger ones are skipped.
MAX_WHOLE_FILE_BYTES = 200_000_000

#: The reason for text in any other encoding. The detector's guess is not named: for
#: Vietnamese text it is wrong (TCVN3 reads as cp775/cp1252), and naming it misled users.
LEGACY_REASON = (
    "not UTF-8 or Windows-1258 (if this is TCVN3/VNI, convert it to UTF-8 first, "
    "e.g. with UniKey's converter)"
)

#: The reason for binary data (not text in any encoding).
BINARY_REASON = "not UTF-8 (looks like binary data)"

#: How much of the data's start is checked for binary data.
SNIFF_BYTES = 8192

#: Encodings accepted from detection: they round-trip Vietnamese and are detected
#: reliably (see module docstring).
ACCEPTED_LEGACY = {"cp1258", "windows_1258", "utf_16", "utf_16_le", "utf_16_be", "utf_32",
                   "utf_32_le", "utf_32_be"}


def decode_bytes(data: bytes) -> tuple[str | None, str | None]:
    """Decode ``data`` by the encoding policy; return ``(text, None)`` or ``(None, reason)``.

    UTF-8 (with or without BOM) first; then charset_normalizer, accepting only
    Windows-1258 and BOM-marked UTF-16/32 (result NFC-normalised). Anything else is
    refused with :data:`LEGACY_REASON`, also text the detector cannot place (UTF-8 with a
    few bad bytes); binary data with :data:`BINARY_REASON`.
    """
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return try_decode(data, "utf-32")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return try_decode(data, "utf-16")
    if looks_binary(data[:SNIFF_BYTES]):
        return None, BINARY_REASON
    if len(data) > _MAX_LEGACY_BYTES:
        return None, "not UTF-8 (file too large to detect its encoding)"
    # Imported lazily: only legacy files pay for it.
    import charset_normalizer

    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        return None, LEGACY_REASON
    encoding = best.encoding
    if encoding in ACCEPTED_LEGACY:
        return try_decode(data, encoding)
    return None, LEGACY_REASON


def looks_binary(head: bytes) -> bool:
    """Whether the first bytes of a file are binary data rather than (any) text.

    Not UTF-8 and holding NUL or many other control bytes: legacy-encoded text has
    neither, so it still gets the encoding message.
    """
    if not head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return False
    except UnicodeDecodeError:
        pass
    controls = sum(1 for byte in head if byte < 9 or 13 < byte < 32)
    return b"\x00" in head or controls > len(head) // 20


def try_decode(data: bytes, encoding: str) -> tuple[str | None, str | None]:
    """Decode with a known ``encoding`` and NFC-normalise, or say why it does not decode."""
    try:
        return unicodedata.normalize("NFC", data.decode(encoding)), None
    except (UnicodeDecodeError, LookupError):
        return None, f"not UTF-8 (looks like {encoding}, but does not decode)"


def read_file_text(path: Path) -> tuple[str | None, str | None]:
    """Whole-file read + decode; ``(None, reason)`` when unreadable or undecodable."""
    data, problem = read_file_bytes(path)
    if data is None:
        return None, problem
    return decode_bytes(data)


def read_file_bytes(path: Path) -> tuple[bytes | None, str | None]:
    """A whole file's bytes, or ``(None, reason)`` when unreadable or over the size limit."""
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_WHOLE_FILE_BYTES:
                # Checked before reading: a huge file must not exhaust memory.
                return None, (f"too large ({size / 1e6:,.0f} MB; files read whole are "
                              f"limited to {MAX_WHOLE_FILE_BYTES // 1_000_000} MB)")
            return handle.read(), None
    except OSError as exc:
        return None, f"cannot read file: {exc.strerror or exc}"


def is_utf8_file(path: Path) -> bool:
    """Stream-check that a file is valid UTF-8 without loading it (raises OSError)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as f:
        try:
            while chunk := f.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True
