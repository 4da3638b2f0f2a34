"""HTML reader: trafilatura extracts the main text and metadata of a news page.

Named ``html_reader`` (not ``html``) so it can never be mistaken for the standard
library's ``html`` package. trafilatura is imported inside the function that uses it: it
pulls in lxml and takes a while to import.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path

from indexer.article import Article, SkippedRecord
from indexer.readers.decoding import ACCEPTED_LEGACY, decode_bytes, read_file_bytes, try_decode
from indexer.readers.formats import FORMATS, files_in
from indexer.readers.records import MAX_TEXT_CHARS, ReadItem, as_str, scrub

_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""",
                              re.IGNORECASE)
_PUBLISHED_META_RE = re.compile(
    r"""<meta\s[^>]*?(?:property|name|itemprop)\s*=\s*["'](?:article:published_time|datePublished|pubdate|publishdate)["'][^>]*>""",
    re.IGNORECASE,
)
_CONTENT_ATTR_RE = re.compile(r"""content\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_ISO_DATE_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")


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
        for file in files_in(path, FORMATS["html"]):
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
        if normalized in ACCEPTED_LEGACY:
            return try_decode(data, normalized)
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
            scrub(html),
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
        title=as_str(data.get("title")),
        text=body,
        url=as_str(data.get("url")),
        source=as_str(data.get("sitename")),
        published=_published_from_meta(html) or as_str(data.get("date")),
        category=as_str(categories),
    )


def _read_file_text_html(path: Path) -> tuple[str | None, str | None]:
    data, problem = read_file_bytes(path)
    if data is None:
        return None, problem
    return _decode_html(data)
