"""Plain-text reader: scraped ``.txt`` articles, with optional ``NAME.json`` sidecars."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from indexer.article import Article, SkippedRecord
from indexer.cleaning import detect_outlet_tag, google_news_outlet, outlet_for_tag
from indexer.readers.decoding import read_file_text
from indexer.readers.formats import FORMATS, files_in
from indexer.readers.records import MAX_TEXT_CHARS, ReadItem, as_str, scrub


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
        for file in files_in(path, FORMATS["txt"]):
            yield from _read_one_txt(file)
    else:
        yield from _read_one_txt(path)


def _read_sidecar(txt: Path) -> tuple[dict[str, Any] | None, SkippedRecord | None]:
    sidecar = txt.with_suffix(".json")
    if not sidecar.is_file():
        return None, None
    text, reason = read_file_text(sidecar)
    if text is None:
        return None, SkippedRecord(str(sidecar), None, f"sidecar ignored: {reason}")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, digit limit, deep nesting
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
    text, reason = read_file_text(path)
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
        id=as_str(meta.get("id")) or "",
        title=as_str(meta.get("title")) or scrub(title),
        text=scrub(body),
        url=as_str(meta.get("url")),
        source=as_str(meta.get("source")) or _derive_source(body),
        published=as_str(meta.get("published")),
        category=as_str(meta.get("category")),
    )
