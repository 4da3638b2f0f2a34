"""Highlighting: a passage, HTML-escaped, with the query's words in ``<mark>``."""

from __future__ import annotations

import html
from functools import lru_cache

from indexer.vietnamese import fold, token_spans, tokenize


@lru_cache(maxsize=1 << 16)
def _fold_token(token: str) -> str:
    # Highlighting folds every token of every hit: the vocabulary is small, cache it.
    return fold(token)


def highlight(text: str, query: str) -> str:
    """HTML-escaped ``text`` with the query's words (tone-insensitive) in ``<mark>``."""
    wanted = {_fold_token(t) for t in tokenize(query)}
    out: list[str] = []
    pos = 0
    for start, end in token_spans(text):
        if _fold_token(text[start:end]) in wanted:
            out.append(html.escape(text[pos:start]))
            out.append("<mark>" + html.escape(text[start:end]) + "</mark>")
            pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)
