"""Input readers: JSONL (optionally gzipped), CSV, plain text and HTML.

Every reader is a generator of :class:`Article` or :class:`SkippedRecord`, so a big
file is never loaded whole (except legacy-encoded files, see below) and one bad record
never stops a run. Readers do not clean text (see ``indexer.cleaning``) and never
invent metadata: ``url``/``published``/``source`` are None unless the input says so.
``Article.id`` is the input's id or "" (the store assigns stable ids).

Encoding policy (all formats): input is expected to be UTF-8 (a BOM is tolerated).
Anything else is run through charset_normalizer; only encodings whose detection is
reliable and that can hold Vietnamese losslessly are accepted - Windows-1258 (decoded,
then NFC, since cp1258 stores tones as combining marks) and UTF-16/32 with a BOM.
Any other guess (cp1252, latin-1, ...) would turn Vietnamese into mojibake, and TCVN3
(ABC) has no Python codec, so such input becomes ``SkippedRecord(reason="not UTF-8
(looks like <enc>)")`` instead of silently indexed garbage.

Lone UTF-16 surrogates (possible via JSON ``"\\ud800"`` escapes) are replaced by
U+FFFD so every string can be encoded; the cleaner drops U+FFFD.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import re
import unicodedata
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from indexer.article import Article, SkippedRecord
from indexer.cleaning import detect_outlet_tag, google_news_outlet, outlet_for_tag
from indexer.errors import InputError

__all__ = [
    "MAX_TEXT_CHARS",
    "FORMATS",
    "ReadItem",
    "decode_bytes",
    "read_jsonl",
    "read_csv",
    "read_txt",
    "read_html",
    "iter_inputs",
]

ReadItem = Article | SkippedRecord

#: Articles with more text than this are skipped ("too large").
MAX_TEXT_CHARS = 5_000_000
# A JSONL line can use up to 6 bytes per character ("\\uXXXX"); beyond this a line is
# skipped without being held in memory.
_MAX_LINE_BYTES = 6 * MAX_TEXT_CHARS + 1_000_000
# Legacy-encoded (non-UTF-8) files are decoded in memory; refuse absurd ones.
_MAX_LEGACY_BYTES = 200_000_000

#: Formats and the file name endings that select them.
FORMATS: dict[str, tuple[str, ...]] = {
    "jsonl": (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".ndjson"),
    "csv": (".csv",),
    "txt": (".txt",),
    "html": (".html", ".htm"),
}

_FIELDS = ("id", "title", "text", "url", "source", "published", "category")
# Encodings accepted from detection: they round-trip Vietnamese and are detected
# reliably (see module docstring).
_ACCEPTED_LEGACY = {"cp1258", "windows_1258", "utf_16", "utf_16_le", "utf_16_be", "utf_32", "utf_32_le", "utf_32_be"}
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


# ---------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------


def decode_bytes(data: bytes) -> tuple[str | None, str | None]:
    """Decode ``data`` by the encoding policy; return ``(text, None)`` or ``(None, reason)``.

    UTF-8 (with or without BOM) first; then charset_normalizer, accepting only
    Windows-1258 and BOM-marked UTF-16/32 (result NFC-normalised).
    """
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return _try_decode(data, "utf-32")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _try_decode(data, "utf-16")
    if len(data) > _MAX_LEGACY_BYTES:
        return None, "not UTF-8 (file too large to detect its encoding)"
    # Imported lazily: only legacy files pay for it.
    import charset_normalizer

    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        return None, "not UTF-8 (looks like binary data)"
    encoding = best.encoding
    if encoding in _ACCEPTED_LEGACY:
        return _try_decode(data, encoding)
    return None, f"not UTF-8 (looks like {encoding})"


def _try_decode(data: bytes, encoding: str) -> tuple[str | None, str | None]:
    try:
        return unicodedata.normalize("NFC", data.decode(encoding)), None
    except (UnicodeDecodeError, LookupError):
        return None, f"not UTF-8 (looks like {encoding}, but does not decode)"


def _read_file_text(path: Path) -> tuple[str | None, str | None]:
    """Whole-file read + decode; ``(None, reason)`` when unreadable or undecodable."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, f"cannot read file: {exc.strerror or exc}"
    return decode_bytes(data)


def _is_utf8_file(path: Path) -> bool:
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


# ---------------------------------------------------------------------------
# Record → Article
# ---------------------------------------------------------------------------


def _scrub(value: str) -> str:
    # Lone surrogates cannot be encoded to UTF-8; make them visible instead.
    return _SURROGATE_RE.sub("\ufffd", value) if _SURROGATE_RE.search(value) else value


def _as_str(value: Any) -> str | None:
    """Metadata value as a non-empty string, or None (lists/objects are not metadata)."""
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = _scrub(value).strip()
    return value or None


def _record_to_item(
    record: Any, mapping: dict[str, str] | None, path: str, line: int | None
) -> ReadItem:
    """Build an Article from a dict-like record, or a SkippedRecord saying why not."""
    if not isinstance(record, dict):
        return SkippedRecord(path, line, f"not an object ({type(record).__name__})")
    keys = {field: (mapping or {}).get(field, field) for field in _FIELDS}
    text = record.get(keys["text"])
    if not isinstance(text, str) or not text.strip():
        return SkippedRecord(path, line, f"no text (field {keys['text']!r})")
    if len(text) > MAX_TEXT_CHARS:
        return SkippedRecord(path, line, f"too large ({len(text):,} characters)")
    return Article(
        id=_as_str(record.get(keys["id"])) or "",
        title=_as_str(record.get(keys["title"])),
        text=_scrub(text),
        url=_as_str(record.get(keys["url"])),
        source=_as_str(record.get(keys["source"])),
        published=_as_str(record.get(keys["published"])),
        category=_as_str(record.get(keys["category"])),
    )


# ---------------------------------------------------------------------------
# JSONL
# ---------------------------------------------------------------------------


def _open_binary(path: Path) -> BinaryIO:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def read_jsonl(path: str | Path, mapping: dict[str, str] | None = None) -> Iterator[ReadItem]:
    """Yield one Article per JSON-object line of a ``.jsonl`` / ``.jsonl.gz`` file.

    ``mapping`` maps our field names (id, title, text, url, source, published,
    category) to the input's keys, e.g. ``{"text": "content"}``. Blank lines are
    ignored; malformed JSON, non-object lines, records without text and undecodable
    lines become SkippedRecords with their 1-based line number.
    """
    path = Path(path)
    name = str(path)
    line_no = 0
    try:
        with _open_binary(path) as f:
            while True:
                raw = f.readline(_MAX_LINE_BYTES)
                if not raw:
                    break
                line_no += 1
                if len(raw) >= _MAX_LINE_BYTES and not raw.endswith(b"\n"):
                    # Drain the rest of the oversized line without keeping it.
                    while (rest := f.readline(1 << 20)) and not rest.endswith(b"\n"):
                        pass
                    yield SkippedRecord(name, line_no, "too large (line over the size limit)")
                    continue
                if not raw.strip():
                    continue
                text, reason = decode_bytes(raw)
                if text is None:
                    yield SkippedRecord(name, line_no, reason or "undecodable")
                    continue
                try:
                    # strict=False: raw control characters inside strings are a
                    # scraper accident, not a reason to lose the article.
                    record = json.loads(text, strict=False)
                except (json.JSONDecodeError, RecursionError) as exc:
                    yield SkippedRecord(name, line_no, f"malformed JSON: {exc}")
                    continue
                yield _record_to_item(record, mapping, name, line_no)
    except (OSError, EOFError, zlib.error) as exc:
        # Missing/unreadable file, or a truncated/corrupt gzip stream.
        yield SkippedRecord(name, line_no or None, f"cannot read file: {exc}")


# ---------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------


def _raise_csv_field_limit() -> None:
    # The default limit (128 KiB) is below real article sizes; the size policy is
    # enforced by MAX_TEXT_CHARS instead. csv's limit is process-global.
    if csv.field_size_limit() < 2 * MAX_TEXT_CHARS:
        csv.field_size_limit(2**31 - 1)


def read_csv(path: str | Path, mapping: dict[str, str] | None = None) -> Iterator[ReadItem]:
    """Yield one Article per row of a CSV file with a header row.

    Same fields, ``mapping`` and skipping rules as :func:`read_jsonl`; line numbers
    are the physical line where the row ends. UTF-8 (BOM tolerated) is streamed;
    legacy encodings follow the module's encoding policy.
    """
    path = Path(path)
    name = str(path)
    _raise_csv_field_limit()
    try:
        if _is_utf8_file(path):
            with path.open("r", encoding="utf-8-sig", newline="") as f:
                yield from _csv_rows(f, mapping, name)
            return
    except OSError as exc:
        yield SkippedRecord(name, None, f"cannot read file: {exc.strerror or exc}")
        return
    text, reason = _read_file_text(path)
    if text is None:
        yield SkippedRecord(name, None, reason or "undecodable")
        return
    yield from _csv_rows(text.splitlines(keepends=True), mapping, name)


def _csv_rows(lines: Iterable[str], mapping: dict[str, str] | None, name: str) -> Iterator[ReadItem]:
    reader = csv.DictReader(lines)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield SkippedRecord(name, reader.line_num, f"malformed CSV: {exc}")
            continue
        yield _record_to_item(row, mapping, name, reader.line_num)


# ---------------------------------------------------------------------------
# Plain text
# ---------------------------------------------------------------------------


def _files_in(path: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Files under a folder (recursively) whose names end in ``suffixes``, sorted."""
    return sorted(
        p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(suffixes)
    )


def read_txt(path: str | Path) -> Iterator[ReadItem]:
    """Yield Articles from a ``.txt`` file, or from every ``*.txt`` under a folder.

    Form: title on the first non-empty line, the body after it. Metadata comes from a
    sidecar ``NAME.json`` next to ``NAME.txt`` (keys id/title/url/source/published/
    category); without one, ``source`` is derived from the text ("Theo dõi X trên
    Google News" names X, else a known dateline tag such as "(GLO)-"), and url and
    published stay None.
    """
    path = Path(path)
    if path.is_dir():
        for file in _files_in(path, FORMATS["txt"]):
            yield from _read_one_txt(file)
    else:
        yield from _read_one_txt(path)


def _read_sidecar(txt: Path) -> tuple[dict[str, Any] | None, SkippedRecord | None]:
    sidecar = txt.with_suffix(".json")
    if not sidecar.is_file():
        return None, None
    text, reason = _read_file_text(sidecar)
    if text is None:
        return None, SkippedRecord(str(sidecar), None, f"sidecar ignored: {reason}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, SkippedRecord(str(sidecar), None, f"sidecar ignored: malformed JSON: {exc}")
    if not isinstance(data, dict):
        return None, SkippedRecord(str(sidecar), None, "sidecar ignored: not a JSON object")
    return data, None


def _derive_source(body: str) -> str | None:
    for line in body[:5000].splitlines()[:10]:
        outlet = google_news_outlet(line)
        if outlet:
            return outlet
    return outlet_for_tag(detect_outlet_tag(body))


def _read_one_txt(path: Path) -> Iterator[ReadItem]:
    name = str(path)
    text, reason = _read_file_text(path)
    if text is None:
        yield SkippedRecord(name, None, reason or "undecodable")
        return
    sidecar, problem = _read_sidecar(path)
    if problem:
        yield problem
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        yield SkippedRecord(name, None, "empty file")
        return
    title = lines[first].strip()
    body = "\n".join(lines[first + 1 :]).strip("\n")
    if not body.strip():
        yield SkippedRecord(name, None, "no text (title only)")
        return
    if len(body) > MAX_TEXT_CHARS:
        yield SkippedRecord(name, None, f"too large ({len(body):,} characters)")
        return
    meta = sidecar or {}
    yield Article(
        id=_as_str(meta.get("id")) or "",
        title=_as_str(meta.get("title")) or _scrub(title),
        text=_scrub(body),
        url=_as_str(meta.get("url")),
        source=_as_str(meta.get("source")) or _derive_source(body),
        published=_as_str(meta.get("published")),
        category=_as_str(meta.get("category")),
    )


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------

_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_PUBLISHED_META_RE = re.compile(
    r"""<meta\s[^>]*?(?:property|name|itemprop)\s*=\s*["'](?:article:published_time|datePublished|pubdate|publishdate)["'][^>]*>""",
    re.IGNORECASE,
)
_CONTENT_ATTR_RE = re.compile(r"""content\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")


def read_html(path: str | Path) -> Iterator[ReadItem]:
    """Yield Articles from an HTML page, or from every ``*.html``/``*.htm`` under a folder.

    trafilatura extracts the main text (paragraphs joined by "\\n\\n") and metadata:
    title, canonical URL, site name (→ ``source``) and publication date. The date is
    the page's ``article:published_time`` when it is ISO 8601 (kept with its time),
    else trafilatura's date from metadata only - its guess from the visible text is
    disabled so no date is invented.
    """
    path = Path(path)
    if path.is_dir():
        for file in _files_in(path, FORMATS["html"]):
            yield from _read_one_html(file)
    else:
        yield from _read_one_html(path)


def _decode_html(data: bytes) -> tuple[str | None, str | None]:
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    # An explicit <meta charset> is better evidence than statistics.
    m = _META_CHARSET_RE.search(data[:4096])
    if m:
        declared = m.group(1).decode("ascii", "replace").lower()
        try:
            normalized = codecs.lookup(declared).name.replace("-", "_")
        except LookupError:
            normalized = ""
        if normalized in _ACCEPTED_LEGACY:
            return _try_decode(data, normalized)
    return decode_bytes(data)


def _published_from_meta(html: str) -> str | None:
    for tag in _PUBLISHED_META_RE.findall(html[:200_000]):
        content = _CONTENT_ATTR_RE.search(tag)
        if content and _ISO_DATE_RE.match(content.group(1).strip()):
            return content.group(1).strip()
    return None


def _read_one_html(path: Path) -> Iterator[ReadItem]:
    name = str(path)
    html, reason = _read_file_text_html(path)
    if html is None:
        yield SkippedRecord(name, None, reason or "undecodable")
        return
    # Imported lazily: trafilatura pulls in lxml and takes a while to import.
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(
            _scrub(html),
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except Exception as exc:  # noqa: BLE001 - a parser crash must not stop the run
        yield SkippedRecord(name, None, f"HTML extraction failed: {type(exc).__name__}: {exc}")
        return
    if doc is None:
        yield SkippedRecord(name, None, "no main text found in HTML")
        return
    data = doc if isinstance(doc, dict) else doc.as_dict()
    text = data.get("text") or ""
    paragraphs = [line.strip() for line in text.splitlines() if line.strip()]
    if not paragraphs:
        yield SkippedRecord(name, None, "no main text found in HTML")
        return
    body = "\n\n".join(paragraphs)
    if len(body) > MAX_TEXT_CHARS:
        yield SkippedRecord(name, None, f"too large ({len(body):,} characters)")
        return
    categories = data.get("categories")
    if isinstance(categories, list):
        categories = ", ".join(c for c in categories if isinstance(c, str)) or None
    yield Article(
        id="",
        title=_as_str(data.get("title")),
        text=body,
        url=_as_str(data.get("url")),
        source=_as_str(data.get("sitename")),
        published=_published_from_meta(html) or _as_str(data.get("date")),
        category=_as_str(categories),
    )


def _read_file_text_html(path: Path) -> tuple[str | None, str | None]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, f"cannot read file: {exc.strerror or exc}"
    return _decode_html(data)


# ---------------------------------------------------------------------------
# Dispatch
# ---------------------------------------------------------------------------


def _format_of(path: Path) -> str | None:
    lower = path.name.lower()
    for fmt, suffixes in FORMATS.items():
        if lower.endswith(suffixes):
            return fmt
    return None


def _read_file(path: Path, fmt: str, mapping: dict[str, str] | None) -> Iterator[ReadItem]:
    if fmt == "jsonl":
        return read_jsonl(path, mapping)
    if fmt == "csv":
        return read_csv(path, mapping)
    if fmt == "txt":
        return read_txt(path)
    return read_html(path)


def _is_sidecar(path: Path) -> bool:
    # NAME.json next to NAME.txt is read_txt's metadata, not a JSONL input.
    return path.suffix.lower() == ".json" and path.with_suffix(".txt").is_file()


def iter_inputs(
    paths: Iterable[str | Path],
    *,
    fmt: str | None = None,
    mapping: dict[str, str] | None = None,
) -> Iterator[ReadItem]:
    """Read every input path, dispatching on the file name ending or on ``fmt``.

    Endings: .jsonl/.jsonl.gz/.json/.ndjson (JSONL), .csv, .txt, .html/.htm.
    Folders are walked recursively (sorted) for those endings, skipping ``NAME.json``
    sidecars of ``NAME.txt``; with ``fmt`` only that format's endings are taken from
    folders, and explicitly named files are read as ``fmt`` whatever their ending.
    ``mapping`` applies to JSONL and CSV. Missing paths and unsupported files become
    SkippedRecords. Raises InputError only for an unknown ``fmt``.
    """
    if fmt is not None and fmt not in FORMATS:
        raise InputError(f"unknown input format {fmt!r} (expected one of: {', '.join(FORMATS)})")
    for raw_path in paths:
        path = Path(raw_path)
        if path.is_dir():
            suffixes = FORMATS[fmt] if fmt else tuple(s for group in FORMATS.values() for s in group)
            try:
                files = _files_in(path, suffixes)
            except OSError as exc:
                yield SkippedRecord(str(path), None, f"cannot read folder: {exc.strerror or exc}")
                continue
            for file in files:
                if _is_sidecar(file):
                    continue
                file_fmt = fmt or _format_of(file)
                if file_fmt:
                    yield from _read_file(file, file_fmt, mapping)
        elif path.exists():
            file_fmt = fmt or _format_of(path)
            if file_fmt is None:
                yield SkippedRecord(str(path), None, "unsupported file type (use --format)")
                continue
            yield from _read_file(path, file_fmt, mapping)
        else:
            yield SkippedRecord(str(path), None, "file not found")


def estimate_records(paths: Iterable[str | Path], *, fmt: str | None = None) -> int | None:
    """A quick count of the records ``iter_inputs`` will yield (for a progress bar's ETA).

    JSONL: non-empty lines; CSV: lines minus the header (multi-line fields make it an
    overestimate); txt/html: one per file. None when a path cannot be read.
    """
    total = 0
    try:
        for raw_path in paths:
            path = Path(raw_path)
            files = _files_in(path, FORMATS[fmt] if fmt else tuple(
                s for group in FORMATS.values() for s in group)) if path.is_dir() else [path]
            for file in files:
                kind = fmt or _format_of(file)
                if kind in ("txt", "html"):
                    total += 0 if _is_sidecar(file) else 1
                elif kind in ("jsonl", "csv"):
                    if _is_sidecar(file):
                        continue
                    with _open_binary(file) as handle:
                        lines = sum(1 for line in handle if line.strip())
                    total += max(lines - 1, 0) if kind == "csv" else lines
    except OSError:
        return None
    return total
