"""A dict-like input record → :class:`Article`, or a :class:`SkippedRecord` saying why not.

Shared by the JSONL and CSV readers; the size limit and the string scrubbing are shared
by every reader. Lone UTF-16 surrogates (possible via JSON ``"\\ud800"`` escapes) are
replaced by U+FFFD so every string can be encoded; the cleaner drops U+FFFD.
"""

from __future__ import annotations

import re
from typing import Any

from indexer.article import ARTICLE_FIELDS, Article, SkippedRecord

#: What every reader yields.
ReadItem = Article | SkippedRecord

#: Articles with more text than this are skipped ("too large").
MAX_TEXT_CHARS = 5_000_000

_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def scrub(value: str) -> str:
    """``value`` with lone surrogates replaced by U+FFFD."""
    # Lone surrogates cannot be encoded to UTF-8; make them visible instead.
    return _SURROGATE_RE.sub("\ufffd", value) if _SURROGATE_RE.search(value) else value


def as_str(value: Any) -> str | None:
    """Metadata value as a non-empty string, or None (lists/objects are not metadata)."""
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = scrub(value).strip()
    return value or None


def truncate_text(article: Article, max_chars: int) -> str | None:
    """Keep the first ``max_chars`` characters of ``article.text``; the one-line note saying
    so (where it was read and how much was cut), or None when the text fits.

    Ingestion keeps a long article rather than skipping it: its beginning (the lead, the
    body that matters most) is still searchable, and every piece of work on it (cleaning,
    passages, vectors) stays bounded.
    """
    total = len(article.text)
    if total <= max_chars:
        return None
    article.text = article.text[:max_chars]
    where = article.file_key or f"{article.origin or '?'} ({article.id or article.url})"
    return (f"truncated {where}: kept the first {max_chars:,} of {total:,} characters "
            "(VNSEARCH_MAX_ARTICLE_CHARS)")


def record_to_item(
    record: Any, mapping: dict[str, str] | None, path: str, line: int | None
) -> ReadItem:
    """Build an Article from a dict-like record, or a SkippedRecord saying why not."""
    if not isinstance(record, dict):
        return SkippedRecord(path, line, f"not an object ({type(record).__name__})")
    keys = {field: (mapping or {}).get(field, field) for field in ARTICLE_FIELDS}
    text = record.get(keys["text"])
    if not isinstance(text, str) or not text.strip():
        return SkippedRecord(path, line, f"no text (field {keys['text']!r})")
    if len(text) > MAX_TEXT_CHARS:
        return SkippedRecord(path, line, f"too large ({len(text):,} characters)")
    return Article(
        id=as_str(record.get(keys["id"])) or "",
        title=as_str(record.get(keys["title"])),
        text=scrub(text),
        url=as_str(record.get(keys["url"])),
        source=as_str(record.get(keys["source"])),
        published=as_str(record.get(keys["published"])),
        category=as_str(record.get(keys["category"])),
    )
