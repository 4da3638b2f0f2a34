"""Query operators: ``"phrase"`` requires, ``-word`` / ``-"phrase"`` excludes.

Parsing is tested as a pure function; the semantics on real articles (the demo index: seed
article + 300 Dân trí) through the searcher and over HTTP.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from support import needs_shared

from indexer.vietnamese import fold, tokenize
from search_api.retrieval import SearchRequest
from search_api.retrieval.operators import (
    OPERATOR_CANDIDATE_FACTOR,
    QueryOperators,
    apply_operators,
    parse_operators,
    widen_candidates,
)
from search_api.retrieval.request import normalize_query

SEED_TITLE_START = "Phó Chủ tịch UBND tỉnh Nguyễn Hữu Quế"
# Malformed operators: each is read as the plain characters it is (never an error).
MALFORMED = ['"thi hành án', 'thi hành án"', "-", "giá vàng -", "--Mỹ giá vàng", '"', '""',
             '" "', '"!!!"', '-"', '-""', '-"thi hành án', "- giá vàng", "-5 độ", "-19",
             '""""', "“", "--", "-\"'", "COVID-19", "Covid-19 -"]


# -- parsing ------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, text, phrases, excluded", [
    ('giá vàng "SJC" -"USD" -Mỹ', "giá vàng SJC", ("SJC",), ("USD", "Mỹ")),
    ('"thi hành án" Gia Lai', "thi hành án Gia Lai", ("thi hành án",), ()),
    ("vaccine -COVID-19", "vaccine", (), ("COVID-19",)),
    ("“Gia Lai” thi hành", "Gia Lai thi hành", ("Gia Lai",), ()),        # typographic quotes
    ('ai là "bệnh nhân London"?', "ai là bệnh nhân London?", ("bệnh nhân London",), ()),
    ('a "b  c" "b c"', "a b c b c", ("b c",), ()),                       # deduplicated
    ('"" abc "def"', '"" abc def', ("def",), ()),  # an empty pair opens nothing after it
    ("-abc", "", (), ("abc",)),
])
def test_parse(query, text, phrases, excluded):
    ops = parse_operators(query)
    assert (ops.text, ops.phrases, ops.excluded) == (text, phrases, excluded)
    assert ops.active


@pytest.mark.parametrize("query", MALFORMED)
def test_malformed_operators_are_plain_words(query):
    ops = parse_operators(query)
    assert ops == QueryOperators(text=query)
    assert not ops.active and not ops.nothing_to_rank


@pytest.mark.parametrize("query", ["Covid-19 Hà Nội", "nhiệt độ -5 độ C", "lãi suất -0,5%",
                                   "Bắc Thăng Long - Nội Bài", "2010 - 2015", "F-16", "a-b -"])
def test_hyphens_inside_words_and_negative_numbers_never_exclude(query):
    assert parse_operators(query) == QueryOperators(text=query)


def test_exclusions_only_have_nothing_to_rank():
    assert parse_operators("-abc").nothing_to_rank
    assert parse_operators('-abc -"x y" ""').nothing_to_rank   # '""' is no word either
    assert not parse_operators("-abc xyz").nothing_to_rank
    assert not parse_operators('"abc"').nothing_to_rank


QUERY_TEXT = st.text(st.sampled_from(list('"“”- -ab') + ["đ", "ạ", "\u0301", "1", ".", "_", "*",
                                                          "ǅ", "漢", "🔥", "\u200b"]),
                     max_size=30)


@hsettings(max_examples=500, deadline=None, derandomize=True, database=None)
@given(QUERY_TEXT)
def test_parse_never_fails_and_plain_text_is_kept(raw):
    query = normalize_query(raw)
    ops = parse_operators(query)
    if not ops.active:
        assert ops.text == query
    if ops.nothing_to_rank:
        assert ops.excluded and not tokenize(ops.text)
    for term in ops.phrases + ops.excluded:
        assert tokenize(term)       # every operator has words to match


@needs_shared
def test_apply_never_fails_on_odd_terms(demo_index):
    from indexer.db import IndexDB

    odd = ["\u0301", "a\u0301", "ǅ", "漢字", "مرحبا", "🔥", "x²", "½", "①", "a_b", "NEAR", "AND",
           "OR", "NOT", "*", "^a", "x:y", "toned", "(a)", "ß", "İ", "ﬁ", "12.368", "1,5",
           "é" * 300, "a " * 80]
    with IndexDB(demo_index, readonly=True) as db:
        ranked = [(pid, 1.0) for pid in sorted(db.passage_articles())[:300]]
        for term in odd:
            for q in (f'"{term}" x', f'x -"{term}"', f"x -{term}", f'"{term} gia" -{term}y'):
                kept = apply_operators(ranked, parse_operators(normalize_query(q)), db)
                assert set(kept) <= set(ranked)


def test_candidates_widen_only_with_operators():
    assert widen_candidates(100, parse_operators("giá vàng")) == 100
    assert widen_candidates(100, None) == 100
    assert widen_candidates(100, parse_operators("giá -vàng")) == 100 * OPERATOR_CANDIDATE_FACTOR


# -- semantics on real articles -------------------------------------------------------------------

def _holds(text: str, phrase: str, toned: bool) -> bool:
    """``phrase`` as a run of whole syllables of ``text`` (exact tones or folded)."""
    norm = (lambda ts: ts) if toned else (lambda ts: [fold(t) for t in ts])
    return f" {' '.join(norm(tokenize(phrase)))} " in f" {' '.join(norm(tokenize(text)))} "


def _search(searcher, q: str, **kw):
    kw.setdefault("min_relevance", 0.0)   # the semantics under test, not the cut-off
    kw.setdefault("k", 50)
    return searcher.search(SearchRequest(query=q, **kw))


def _is_seed(hit) -> bool:
    return (hit.title or "").startswith(SEED_TITLE_START)


def _article_text(searcher, article_id: str) -> str:
    view = searcher.article(article_id)
    return f"{view.title}\n{view.text}"



@needs_shared
@pytest.mark.parametrize("mode", ["hybrid", "lexical"])
def test_phrase_query_returns_only_hits_holding_the_phrase(searcher, mode):
    plain = _search(searcher, "giá vàng tăng", mode=mode)
    assert any(not _holds(f"{h.title}\n{h.text}", "giá vàng", True) for h in plain.results)
    quoted = _search(searcher, '"giá vàng" tăng', mode=mode)
    assert quoted.total >= 5
    for hit in quoted.results:
        assert _holds(f"{hit.title or ''}\n{hit.text}", "giá vàng", True), hit.title
    # The ranked text keeps the phrase's words, so its hits are marked in the passage.
    assert any("<mark>" in h.highlighted for h in quoted.results)


@needs_shared
def test_phrase_filter_applies_per_passage_without_grouping(searcher):
    result = _search(searcher, '"lãi suất" ngân hàng', group=False)
    assert result.total >= 5
    for hit in result.results:
        assert _holds(f"{hit.title or ''}\n{hit.text}", "lãi suất", True)


@needs_shared
def test_toneless_phrase_matches_toned_text(searcher):
    result = _search(searcher, '"thi hanh an dan su" gia lai')
    assert result.results and _is_seed(result.results[0])
    for hit in result.results:
        assert _holds(f"{hit.title or ''}\n{hit.text}", "thi hanh an dan su", False)
        assert not _holds(f"{hit.title or ''}\n{hit.text}", "thi hanh an dan su", True)


@needs_shared
def test_toned_phrase_needs_exact_tones(searcher):
    seed = [h for h in _search(searcher, '"gia lai" thi hành án').results
            if _is_seed(h)]
    assert seed
    wrong = _search(searcher, '"già lại" thi hành án')   # same letters, other tones
    assert not any(_is_seed(h) for h in wrong.results)
    for hit in wrong.results:
        assert _holds(f"{hit.title or ''}\n{hit.text}", "già lại", True)


@needs_shared
@pytest.mark.parametrize("excluded, toned", [("Mỹ", True), ("my", False)])
def test_exclusion_removes_articles_mentioning_the_word(searcher, excluded, toned):
    plain = _search(searcher, "giá vàng")
    assert any(_holds(_article_text(searcher, h.article_id), excluded, toned)
               for h in plain.results)
    result = _search(searcher, f"giá vàng -{excluded}")
    assert result.total >= 3
    for hit in result.results:
        # Whole article: title and every passage, not only the passage shown.
        assert not _holds(_article_text(searcher, hit.article_id), excluded, toned), hit.title


@needs_shared
def test_excluded_phrase(searcher):
    plain = _search(searcher, "thi hành án dân sự")
    assert any(_is_seed(h) for h in plain.results)
    result = _search(searcher, 'thi hành án dân sự -"Gia Lai"')
    assert result.total > 0 and not any(_is_seed(h) for h in result.results)
    for hit in result.results:
        assert not _holds(_article_text(searcher, hit.article_id), "Gia Lai", True)


@needs_shared
def test_a_page_still_fills_after_exclusion(searcher):
    result = _search(searcher, "kinh tế Việt Nam -Mỹ -Covid", k=10)
    assert len(result.results) == 10


# -- over HTTP ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client(tolerant_client):
    """conftest's app over demo_index that answers a server error with its 500 (not raised)."""
    return tolerant_client


def _ids(body: dict) -> list[int]:
    return [h["passage_id"] for h in body["results"]]


@needs_shared
@pytest.mark.parametrize("query", MALFORMED)
def test_malformed_operators_over_http_search_plain_words(client, query):
    params = {"q": query, "mode": "lexical", "min_relevance": 0}
    r = client.get("/search", params=params)
    assert r.status_code == 200, r.text
    # Lexical search sees syllables only: the malformed syntax changes nothing.
    words = " ".join(tokenize(query))
    if words:
        plain = client.get("/search", params={**params, "q": words})
        assert _ids(r.json()) == _ids(plain.json())
    assert client.post("/search", json={"q": query}).status_code == 200
    assert client.post("/retrieve", json={"query": query}).status_code == 200


@needs_shared
def test_operators_over_http(client):
    body = client.get("/search", params={"q": '"giá vàng" -Mỹ', "min_relevance": 0}).json()
    assert body["total"] > 0
    assert all("Mỹ" not in (h["title"] or "") for h in body["results"])


@needs_shared
@pytest.mark.parametrize("query", ["-Mỹ", '-"giá vàng" -Mỹ', '"" -Mỹ'])
def test_exclusions_only_give_an_empty_result(client, query):
    for mode in ("hybrid", "lexical"):
        r = client.get("/search", params={"q": query, "mode": mode, "min_relevance": 0})
        assert r.status_code == 200, r.text
        assert r.json()["total"] == 0 and r.json()["results"] == []
    r = client.post("/retrieve", json={"query": query, "min_relevance": 0})
    assert r.status_code == 200 and r.json()["passages"] == []
