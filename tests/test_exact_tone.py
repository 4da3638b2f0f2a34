"""Exact-tone precision: a toned query ranks and marks exact-tone syllables above
same-letters-other-tone ones; a toneless query stays tone-insensitive.

Highlighting on fixed strings; ranking on the real seed + 300 Dân trí index.
"""

from __future__ import annotations

import re

import pytest
from support import needs_shared

from indexer.vietnamese import fold, tokenize
from search_api.retrieval import SearchRequest
from search_api.retrieval.highlight import highlight, match_spans
from search_api.retrieval.lexical.base import TONED_WEIGHTS, UNWEIGHTED, lexical_query

TEXT = "Cục Thi hành án dân sự tỉnh Gia Lai; Công an xã, dự án, ẩn số. ÁN. Đánh giá chuyên gia"


def marks(html: str) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", html, re.S)


def test_toned_query_marks_exact_tones_only() -> None:
    assert marks(highlight(TEXT, "án")) == ["án", "án", "ÁN"]
    assert marks(highlight("an, ẩn, ăn, Án", "án")) == ["Án"]
    # a syllable typed without a mark in a toned query is the level tone: "Gia" is not "giá"
    assert marks(highlight(TEXT, "thi hành án dân sự Gia Lai")) == [
        "Thi hành án dân sự", "Gia Lai", "án", "ÁN", "gia"]
    # one tone placement: "hoà" in the query marks "HÒA" in the text and vice versa
    assert marks(highlight("Hòa bình, hoà giải, HOÀ", "hoà")) == ["Hòa", "hoà", "HOÀ"]


def test_toneless_query_marks_every_tone() -> None:
    assert marks(highlight("an, ẩn, ăn, Án", "an")) == ["an", "ẩn", "ăn", "Án"]
    assert marks(highlight(TEXT, "thi hanh an dan su gia lai")) == [
        "Thi hành án dân sự", "Gia Lai", "an", "án", "ẩn", "ÁN", "giá", "gia"]


def test_consecutive_matches_are_one_phrase() -> None:
    assert highlight("Cục thi hành án tỉnh", "thi hành án") == "Cục <mark>thi hành án</mark> tỉnh"
    # punctuation between two matched syllables ends the phrase; spaces and newlines do not
    assert marks(highlight("thi hành. Án dân\nsự", "thi hành án dân sự")) == [
        "thi hành", "Án dân\nsự"]
    text = "a <b>thi hành</b> án & sự"
    out = highlight(text, "thi hành án sự")
    assert out == "a &lt;b&gt;<mark>thi hành</mark>&lt;/b&gt; <mark>án</mark> &amp; <mark>sự</mark>"
    assert match_spans("", "án") == [] and highlight("abc", "") == "abc"


def test_toned_query_carries_column_weights() -> None:
    toned = lexical_query("thi hành án")
    toneless = lexical_query("thi hanh an")
    assert toned.weights == TONED_WEIGHTS and toned.toned == ["thi", "hành", "án"]
    # toneless: the query of before (folded columns, weight 1), unchanged
    assert toneless.weights == UNWEIGHTED and toneless.toned == []
    assert toneless.folded == ["thi", "hanh", "an"]
    w_toned, w_folded, _ = TONED_WEIGHTS
    assert w_toned > 1 > w_folded


def _passage_hits(searcher, query: str, k: int = 2000) -> list[str]:
    """Indexed texts (title + passage, as the full-text row holds them) of the lexical
    ranking of ``query``, best first, every matching passage."""
    ranking = searcher.lexical(SearchRequest(query=query, mode="lexical"), k)
    rows = searcher._db().passage_rows([pid for pid, _ in ranking])
    return [(rows[pid].title or "") + "\n" + rows[pid].text for pid, _ in ranking]


@needs_shared
@pytest.mark.parametrize("word", ["án", "giá", "sự", "dân", "công"])
def test_exact_tone_ranks_above_other_tone(searcher, word) -> None:
    """For a one-syllable toned query every passage holding the exact syllable outranks
    every passage holding only other tones of it (before: one with many "Công an" could
    outrank one with a single "án")."""
    texts = _passage_hits(searcher, word)
    kinds = []
    for text in texts:
        tokens = tokenize(text)
        if word in tokens:
            kinds.append("exact")
        elif fold(word) in {fold(t) for t in tokens}:
            kinds.append("other")
    assert "exact" in kinds and "other" in kinds, (word, kinds)
    assert kinds.index("other") > len(kinds) - 1 - kinds[::-1].index("exact"), (word, kinds)


@needs_shared
def test_other_tone_still_counts(searcher) -> None:
    """A misspelt tone still finds the article, below the exact spelling."""
    wrong = _passage_hits(searcher, "thi hành ăn dân sự", k=5)
    assert any("Thi hành án dân sự" in t or "thi hành án dân sự" in t for t in wrong)


@needs_shared
def test_demo_query_hits_match_with_exact_tones(searcher) -> None:
    """The issue's example: the top lexical hits of "thi hành án dân sự Gia Lai" all hold
    exact-tone matches (their highlight is not empty), the two Thi hành án articles lead,
    and no "Công an" is marked."""
    res = searcher.search(SearchRequest(query="thi hành án dân sự Gia Lai", k=10,
                                        mode="lexical", min_relevance=0.0))
    assert all("Thi hành án dân sự" in h.text or "thi hành án dân sự" in h.text
               for h in res.results[:2])
    for hit in res.results:
        assert marks(hit.highlighted), hit.text[:80]
        assert "<mark>an</mark>" not in hit.highlighted.lower()
