"""Query operators: ``"cụm từ"`` requires a phrase, ``-từ`` / ``-"cụm từ"`` excludes.

Syntax, read from the normalised query left to right:

* ``"…"`` (straight or typographic quotes — phone keyboards type “…”) is a required phrase:
  a hit's passage or its article's title must hold its syllables in that order,
  punctuation between them ignored ("COVID-19" matches ``"covid 19"``);
* ``-word`` / ``-"…"``, where the ``-`` starts a token (query start or after a space) and is
  followed by a letter or a closed quote, excludes every article that holds it anywhere;
* anything else is plain text. A malformed operator (unclosed or empty quotes, a lone
  ``-``, ``--x``, ``-5``) is read as the plain characters it is: never an error. A hyphen
  inside a word ("COVID-19") or a negative number never excludes.

Tones follow the query: a phrase or excluded word typed with any diacritic matches exact
tones (case-insensitive, tone placement normalised, so "hoà" = "hòa"); one typed without
matches every tone ("gia lai" matches "Gia Lai", "già lại").

Matching uses the index's own full-text rows (``toned`` / ``folded`` syllables of title +
passage, written by :func:`indexer.writer.identity.lexical_columns`), so nothing is
re-tokenised at search time: a phrase is an FTS5 phrase query on those columns, answered
from the full-text index (one query per operator kind; no passage text is read).
"""

from __future__ import annotations

from dataclasses import dataclass

from indexer.db import IndexDB
from indexer.vietnamese import fold, has_tones, tokenize

Ranking = list[tuple[int, float]]

#: Characters that open or close a phrase. Any of them closes any other: keyboards and
#: autocorrect mix “ with " freely.
QUOTES = '"\u201c\u201d'
#: With operators active, rank this many times the usual candidates before filtering, so
#: that a page still fills after phrases and exclusions drop passages (see README).
OPERATOR_CANDIDATE_FACTOR = 4


@dataclass(frozen=True)
class QueryOperators:
    """A query split into what is ranked and what constrains the hits."""

    #: The text the retrieval ranks (operator syntax removed; a phrase's words kept).
    text: str
    #: Phrases every hit must contain.
    phrases: tuple[str, ...] = ()
    #: Words or phrases no hit may contain.
    excluded: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        """True when the query constrains its hits beyond ranking."""
        return bool(self.phrases or self.excluded)

    @property
    def nothing_to_rank(self) -> bool:
        """True for a query of exclusions only (``-abc``): well-formed, but with no words to
        rank it matches nothing (an empty result, not an error)."""
        return bool(self.excluded) and not tokenize(self.text)


def _phrase_match(term: str) -> str:
    """``term`` as an FTS5 phrase on the index's syllable columns: exact tones on ``toned``
    when typed with any, else every tone on ``folded``. The columns hold the syllables of
    :func:`~indexer.vietnamese.tokenize`, so an FTS5 phrase is a run of whole syllables."""
    if has_tones(term):
        return f'toned : "{" ".join(tokenize(term))}"'
    return f'folded : "{" ".join(fold(t) for t in tokenize(term))}"'


# -- parsing -----------------------------------------------------------------------------------


def _quoted(query: str, start: int) -> tuple[int, str | None]:
    """The closed quote opening at ``start``: (index after it, its phrase or None when it is
    empty of words); (start, None) when it is never closed."""
    for end in range(start + 1, len(query)):
        if query[end] in QUOTES:
            inner = " ".join(query[start + 1:end].split())
            return end + 1, (inner if tokenize(inner) else None)
    return start, None


def _excluded(query: str, start: int) -> tuple[int, str | None]:
    """The exclusion whose ``-`` is at ``start``: (index after it, the excluded word or
    phrase); (start, None) when the ``-`` is not an operator."""
    nxt = query[start + 1: start + 2]
    if nxt and nxt in QUOTES:
        end, phrase = _quoted(query, start + 1)
        return (end, phrase) if phrase else (start, None)
    if not nxt.isalpha():  # "-", "--x", "-5": plain text
        return start, None
    end = start + 1
    while end < len(query) and not query[end].isspace():
        end += 1
    return end, query[start + 1:end]


def _padded(query: str, start: int, end: int, phrase: str) -> str:
    """``phrase`` in place of ``query[start:end]`` (its quotes), spaced from a touching word
    only: ``ai là "bệnh nhân London"?`` ranks ``ai là bệnh nhân London?``, as typed."""
    before = " " if start > 0 and query[start - 1].isalnum() else ""
    after = " " if end < len(query) and query[end].isalnum() else ""
    return f"{before}{phrase}{after}"


def parse_operators(query: str) -> QueryOperators:
    """Split a normalised query into ranked text, required phrases and exclusions.

    ``parse_operators('giá vàng "SJC" -"USD" -Mỹ')`` ranks ``giá vàng SJC``, requires
    ``SJC`` and excludes ``USD`` and ``Mỹ``. Malformed syntax stays in the text as typed.
    """
    parts: list[str] = []
    phrases: list[str] = []
    excluded: list[str] = []
    i = 0
    while i < len(query):
        ch = query[i]
        if ch == "-" and (i == 0 or query[i - 1].isspace()):
            end, term = _excluded(query, i)
            if term:
                excluded.append(term)
                i = end
                continue
        elif ch in QUOTES:
            end, phrase = _quoted(query, i)
            if phrase:
                phrases.append(phrase)
                parts.append(_padded(query, i, end, phrase))
            else:  # an empty pair ('""') is kept whole, so its closing quote opens nothing
                parts.append(query[i:max(end, i + 1)])
            i = max(end, i + 1)
            continue
        parts.append(ch)
        i += 1
    text = " ".join("".join(parts).split())
    return QueryOperators(text=text, phrases=tuple(dict.fromkeys(phrases)),
                          excluded=tuple(dict.fromkeys(excluded)))


# -- filtering ---------------------------------------------------------------------------------


def widen_candidates(n: int, ops: QueryOperators | None) -> int:
    """How many passages to rank when ``ops`` will filter them (``n`` when it will not)."""
    return n * OPERATOR_CANDIDATE_FACTOR if ops is not None and ops.active else n


def apply_operators(ranked: Ranking, ops: QueryOperators | None, db: IndexDB) -> Ranking:
    """The passages of ``ranked`` (order kept) that satisfy ``ops``.

    A phrase must be in the passage or its article's title (the hit shown then carries the
    evidence); an excluded term must be nowhere in the article (title or any passage): a
    journalist leaving a word out wants stories that do not mention it, and grouping shows
    one passage per article, so a passage-level test would let an article that is about the
    excluded word through on one of its other paragraphs.
    """
    if ops is None or not ops.active or not ranked:
        return ranked
    if ops.nothing_to_rank:
        return []
    ids = [pid for pid, _ in ranked]
    keep = set(ids)
    if ops.phrases:
        keep = db.passages_matching(" AND ".join(map(_phrase_match, ops.phrases)), ids)
    if ops.excluded and keep:
        article_of = db.article_ids(list(keep))
        banned = db.articles_matching(" OR ".join(map(_phrase_match, ops.excluded)),
                                      sorted(set(article_of.values())))
        keep = {pid for pid in keep if article_of.get(pid, "") not in banned}
    return [(pid, s) for pid, s in ranked if pid in keep]
