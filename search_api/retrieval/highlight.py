"""Highlighting: a passage, HTML-escaped, with the query's words in ``<mark>``.

Words match as the lexical ranking weighs them: a query typed with tones marks only
syllables with the query's exact tones ("án" marks "Án" but neither "an" nor "ẩn"; "Gia"
marks "gia", not "giá"); a query typed without tones marks tone-insensitively ("an" marks
"án", "ẩn", "An"). Matched syllables separated only by spaces form one mark
(``<mark>thi hành án</mark>``), so a phrase reads as one match.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from functools import lru_cache

from indexer.vietnamese import fold, has_tones, token_spans, tokenize


@lru_cache(maxsize=1 << 16)
def _fold_token(token: str) -> str:
    # Highlighting folds every token of every hit: the vocabulary is small, cache it.
    return fold(token)


@lru_cache(maxsize=1 << 16)
def _toned_token(token: str) -> str:
    # The form tokenize() gives a query syllable (lower case, NFC, one tone placement), so
    # "HOÀ" in a passage equals "hòa" in a query. A span of token_spans() is one token.
    return tokenize(token)[0]


def match_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Character spans of ``text`` to mark for ``query``: runs of matching syllables.

    Exact tones (case-insensitive) for a toned query, tone-insensitive for a toneless one;
    consecutive matches separated by whitespace only are merged into one span.
    """
    key: Callable[[str], str]
    if has_tones(query):
        key, wanted = _toned_token, set(tokenize(query))
    else:
        key, wanted = _fold_token, {_fold_token(t) for t in tokenize(query)}
    spans: list[tuple[int, int]] = []
    for start, end in token_spans(text):
        if key(text[start:end]) not in wanted:
            continue
        if spans and (spans[-1][1] == start or text[spans[-1][1]:start].isspace()):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def highlight(text: str, query: str) -> str:
    """HTML-escaped ``text`` with the query's words in ``<mark>`` (see :func:`match_spans`)."""
    out: list[str] = []
    pos = 0
    for start, end in match_spans(text, query):
        out.append(html.escape(text[pos:start]))
        out.append("<mark>" + html.escape(text[start:end]) + "</mark>")
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)
