"""What a person sees of relevance: the words for the calibrated probability (declared once,
sent with each hit as ``relevance_label``), the count of matches ``min_relevance`` cut
(``cut``, in the unit of ``total``), a date sort that only reorders what passed the cut, and
``vnsearch query``'s words and cut line.

Model-free: the repo's demo corpus (data/demo, 200 articles) indexed with the deterministic
FakeEncoder, searched through the real Searcher, SQLite, FAISS and the HTTP app; the
cut-offs are taken from the relevances the search itself returns, so nothing depends on
the relevance model's coefficients.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import DEMO_DATA, REPO, FakeEncoder

from indexer.article import Article
from indexer.settings import Settings
from search_api.query_output import format_result
from search_api.retrieval import Hit, SearchRequest, SearchResult
from search_api.retrieval.messages import SHOW_CUT_CLI, cut_note
from search_api.retrieval.relevance_words import (
    MAYBE_RELEVANT,
    RELEVANCE_WORDS,
    RELEVANT,
    RELEVANT_FROM,
    VERY_RELEVANT,
    VERY_RELEVANT_FROM,
    relevance_label,
)

QUERY = "giá vàng thế giới tăng"
STATIC = REPO / "search_api" / "static"


@pytest.fixture(scope="module")
def fake_settings(tmp_path_factory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def fake_index(tmp_path_factory, fake_settings) -> Path:
    from indexer.writer import index_articles

    records = [json.loads(line) for line in
               (DEMO_DATA / "demo.jsonl").read_text(encoding="utf-8").splitlines() if line]
    articles = [Article(id=r["id"], title=r.get("title"), text=r["text"], url=r.get("url"),
                        source=r.get("source"), published=r.get("published"),
                        category=r.get("category")) for r in records]
    directory = tmp_path_factory.mktemp("display") / "index"
    index_articles(directory, articles, fake_settings, FakeEncoder())
    return directory


@pytest.fixture(scope="module")
def fake_searcher(fake_index, fake_settings):
    from search_api.retrieval import Searcher

    s = Searcher(fake_index, fake_settings, FakeEncoder(), lexical_matrix=False)
    yield s
    s.close()


@pytest.fixture(scope="module")
def fake_client(fake_index, fake_settings, fake_searcher):
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    with TestClient(create_app(fake_settings, fake_index, searcher=fake_searcher)) as c:
        yield c


def _search(searcher, **kw) -> SearchResult:
    kw = {"query": QUERY, "mode": "lexical", "k": 100, "facets": True, **kw}
    return searcher.search(SearchRequest(**kw))


def _middle_cut(searcher, **kw) -> float:
    """A cut-off that keeps some hits of the uncut search and drops others."""
    every = _search(searcher, min_relevance=0.0, **kw)
    values = sorted({h.relevance for h in every.results}, reverse=True)
    assert len(values) >= 3, values
    # in the middle half, between the two neighbours furthest apart (so the hits'
    # rounding cannot matter)
    middle = values[len(values) // 4: len(values) * 3 // 4 + 1]
    high, low = max(zip(middle, middle[1:], strict=False), key=lambda p: p[0] - p[1])
    return round((high + low) / 2, 6)


# -- the words -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("p", "words"), [
    (1.0, VERY_RELEVANT), (VERY_RELEVANT_FROM, VERY_RELEVANT), (0.6999, RELEVANT),
    (RELEVANT_FROM, RELEVANT), (0.2999, MAYBE_RELEVANT), (0.002, MAYBE_RELEVANT),
    (0.0, MAYBE_RELEVANT)])
def test_labels_at_the_boundaries(p: float, words: str) -> None:
    assert relevance_label(p) == words


def test_thresholds_are_the_declared_ones() -> None:
    assert (VERY_RELEVANT_FROM, RELEVANT_FROM) == (0.7, 0.3)
    assert [w for _, w in RELEVANCE_WORDS] == ["rất phù hợp", "phù hợp", "có thể liên quan"]


def test_hit_fills_its_label_from_relevance() -> None:
    hit = Hit(rank=1, score=1.0, passage_id=1, text="t", highlighted="t", start=0, end=1,
              article_id="a", title=None, url=None, source=None, published=None,
              category=None, relevance=0.75)
    assert hit.relevance_label == VERY_RELEVANT


def test_page_colours_by_the_declared_words() -> None:
    """The page takes the words from the API and colours its bar by them: each word it
    knows is a declared one (a renamed word would leave the bar grey)."""
    js = (STATIC / "relevance.js").read_text(encoding="utf-8")
    assert f'"{VERY_RELEVANT}": "high"' in js and f'"{RELEVANT}": "mid"' in js
    assert '.rel-label").textContent = words;' in js  # the words, no percentage
    assert "hit.relevance_label" in (STATIC / "app.js").read_text(encoding="utf-8")


# -- the API: labels and the cut count ---------------------------------------------------------

def test_every_hit_has_its_label_over_http(fake_client) -> None:
    data = fake_client.get("/search", params={"q": QUERY, "mode": "lexical",
                                              "min_relevance": 0, "k": 50}).json()
    assert data["results"] and data["cut"] == 0
    for hit in data["results"]:
        assert hit["relevance_label"] == relevance_label(hit["relevance"])


@pytest.mark.parametrize("group", ["story", "article", "none"])
def test_cut_plus_total_is_the_uncut_total(fake_searcher, group: str) -> None:
    cut_at = _middle_cut(fake_searcher, group=group)
    every = _search(fake_searcher, min_relevance=0.0, group=group)
    kept = _search(fake_searcher, min_relevance=cut_at, group=group)
    assert every.cut == 0
    assert 0 < kept.total < every.total and kept.cut > 0
    assert kept.total + kept.cut == every.total
    # the cut keeps exactly the uncut hits at or above it
    assert [h.passage_id for h in kept.results] == \
        [h.passage_id for h in every.results if h.relevance >= cut_at]


def test_cut_over_http_and_nothing_cut_by_default_zero(fake_client, fake_searcher) -> None:
    cut_at = _middle_cut(fake_searcher, facets=False, k=10)
    params = {"q": QUERY, "mode": "lexical", "k": 10}
    every = fake_client.get("/search", params={**params, "min_relevance": 0}).json()
    kept = fake_client.get("/search", params={**params, "min_relevance": cut_at}).json()
    assert kept["cut"] > 0 and kept["total"] + kept["cut"] == every["total"]
    assert set(every) <= set(kept)  # the existing keys stay; `cut` is added
    assert all(h["relevance"] >= cut_at for h in kept["results"])


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_date_sort_reorders_only_what_passed_the_cut(fake_searcher, sort: str) -> None:
    cut_at = _middle_cut(fake_searcher)
    by_relevance = _search(fake_searcher, min_relevance=cut_at)
    by_date = _search(fake_searcher, min_relevance=cut_at, sort=sort)
    assert by_date.cut == by_relevance.cut > 0 and by_date.total == by_relevance.total
    assert by_date.total <= 100  # one page holds every hit, so both pages hold the same
    assert all(h.relevance >= cut_at for h in by_date.results)
    # the same hits, reordered: the sort never brings back a hit under the cut
    assert sorted(h.passage_id for h in by_date.results) == \
        sorted(h.passage_id for h in by_relevance.results)
    dates = [h.published for h in by_date.results if h.published]
    assert dates == sorted(dates, reverse=sort == "newest")
    assert [h.passage_id for h in by_date.results] != \
        [h.passage_id for h in by_relevance.results]


# -- the CLI ---------------------------------------------------------------------------------------

def test_cli_prints_the_words_and_the_cut_line(fake_index, fake_searcher, fake_settings,
                                               monkeypatch) -> None:
    from search_api.cli import main

    cut_at = _middle_cut(fake_searcher, facets=False, k=5)
    expected = _search(fake_searcher, min_relevance=cut_at, facets=False, k=5)
    monkeypatch.setenv("VNSEARCH_HOME", str(fake_settings.home))
    monkeypatch.setattr("indexer.encoders.create_encoder", lambda _settings: FakeEncoder())
    out = CliRunner().invoke(main, ["query", QUERY, "--index", str(fake_index), "--mode",
                                    "lexical", "-k", "5", "--min-relevance", str(cut_at)])
    assert out.exit_code == 0, out.stdout
    lines = out.stdout.splitlines()
    assert lines[1] == f"{cut_note(expected.cut)}. {SHOW_CUT_CLI}"
    for hit in expected.results:
        assert f"{hit.rank}. " in out.stdout
        assert f"[{hit.relevance_label} · độ liên quan {hit.relevance:.2f}" in out.stdout


def test_cut_line_also_when_everything_was_cut() -> None:
    result = SearchResult(query="q", mode="hybrid", took_ms=1.0, total=0, results=[], cut=7,
                          hints=["Thử dùng từ khác."])
    lines = format_result(result).splitlines()
    assert lines[0].startswith("Không tìm thấy kết quả phù hợp")
    assert lines[1] == "Đã ẩn 7 kết quả ít liên quan (dưới ngưỡng phù hợp). " + SHOW_CUT_CLI
    assert "cut" not in format_result(SearchResult(query="q", mode="hybrid", took_ms=1.0,
                                                   total=0, results=[])).lower()
