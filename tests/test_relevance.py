"""Calibrated relevance and "no results", with the real model and the
shipped relevance model: nonsense and a left-out article's question get 0 results with the
default ``min_relevance`` (HTTP and CLI); relevance is in [0, 1] and never rises with rank;
an answerable query keeps its hit; ``min_relevance`` outside 0-1 is a 422.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from support import SHARED, needs_shared

from search_api.retrieval import SearchRequest
from search_api.retrieval.messages import SHOW_CUT_CLI, cut_note
from search_api.retrieval.relevance import FEATURES, RelevanceModel, running_min

NONSENSE = "zzzqqqxxx"
SEED_QUERY = "kết quả thi hành án dân sự Gia Lai"


def test_shipped_model_is_fitted_and_default_cut_set(settings) -> None:
    model = RelevanceModel.read()
    assert set(model.coefficients) == {"full", "lexical"}
    assert set(model.coefficients["full"]) == {"intercept", *FEATURES}
    assert 0.0 < settings.min_relevance < 1.0


def test_running_min_is_non_increasing() -> None:
    out = running_min(np.array([0.4, 0.7, 0.2, 0.3, 0.1]))
    assert out.tolist() == [0.4, 0.4, 0.2, 0.2, 0.1]


def test_nonsense_has_no_results_over_http(client) -> None:
    for r in (client.get("/search", params={"q": NONSENSE}),
              client.post("/search", json={"q": NONSENSE, "mode": "dense"})):
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == 0 and body["results"] == []
    r = client.post("/retrieve", json={"query": NONSENSE})
    assert r.status_code == 200 and r.json()["passages"] == []


def test_min_relevance_zero_keeps_every_candidate(client) -> None:
    body = client.get("/search", params={"q": NONSENSE, "min_relevance": 0}).json()
    assert body["total"] > 0  # the cut, not the retrieval, is what empties the default answer


@pytest.mark.parametrize("value", ["-0.1", "1.5", "abc"])
def test_min_relevance_outside_0_1_is_422(client, value) -> None:
    r = client.get("/search", params={"q": SEED_QUERY, "min_relevance": value})
    assert r.status_code == 422, r.text
    r = client.post("/retrieve", json={"query": SEED_QUERY, "min_relevance": value})
    assert r.status_code == 422, r.text


def test_answerable_query_keeps_its_hit(searcher) -> None:
    for query in (SEED_QUERY, "thi hanh an dan su gia lai"):
        result = searcher.search(SearchRequest(query=query))
        assert result.total >= 1, query
        assert "thi hành án" in result.results[0].text.lower(), query


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_relevance_in_unit_interval_and_monotone(searcher, mode) -> None:
    for query, group in ((SEED_QUERY, True), ("giá vàng hôm nay", False), ("bóng đá", True)):
        result = searcher.search(SearchRequest(query=query, k=50, mode=mode, group=group,
                                               min_relevance=0.0))
        rel = [h.relevance for h in result.results]
        assert rel, query
        assert all(0.0 <= r <= 1.0 for r in rel)
        assert all(a >= b for a, b in zip(rel, rel[1:])), (query, rel)
        cut = searcher.search(SearchRequest(query=query, k=50, mode=mode, group=group,
                                            min_relevance=rel[len(rel) // 2]))
        assert all(h.relevance >= rel[len(rel) // 2] for h in cut.results)


def test_cli_says_no_results_and_shows_relevance(cli, demo_index) -> None:
    """``vnsearch query`` in-process through the ``cli`` fixture: the session's model, not
    one load per call (the output is the point, not the process)."""
    out = cli("query", NONSENSE, "--index", demo_index)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("Không tìm thấy kết quả phù hợp")
    out = cli("query", NONSENSE, "--index", demo_index, "--json")
    data = json.loads(out.stdout)
    assert data["total"] == 0
    # the API's hints, after the line on the matches min_relevance hid
    assert lines[1] == f"{cut_note(data['cut'])}. {SHOW_CUT_CLI}"
    assert [line.strip(" •") for line in lines[2:]] == data["hints"]
    out = cli("query", SEED_QUERY, "--index", demo_index, "-k", "2")
    assert out.returncode == 0 and "độ liên quan " in out.stdout


@needs_shared
def test_left_out_article_question_gets_no_results(tmp_path, settings, encoder) -> None:
    """A 40-article slice of vinewsqa-dev indexed without one article: what that article's
    question finds is shown as barely relevant, and a chatbot's stricter cut (0.05) leaves
    nothing; another article's question still answers under that cut. (The default cut is
    chosen so that no query kind loses more than 0.005 nDCG@10, so it keeps weak hits.)"""
    from indexer.writer import index_articles
    from search_api.quality.evaluation import corpus_articles, load_queries
    from search_api.retrieval import Searcher

    eval_dir = SHARED / "data" / "eval"
    articles = list(corpus_articles(eval_dir / "vinewsqa-dev.corpus.jsonl"))[:40]
    left_out = articles[LEFT_OUT].id
    index_articles(tmp_path / "i", (a for a in articles if a.id != left_out), settings, encoder)
    questions = {q.relevant[0]: q.query for q in load_queries(eval_dir / "vinewsqa-dev.jsonl", 400)}
    searcher = Searcher(tmp_path / "i", settings, encoder)
    try:
        weak = searcher.search(SearchRequest(query=questions[left_out]))
        assert all(h.relevance < 0.05 for h in weak.results), weak.results
        gone = searcher.search(SearchRequest(query=questions[left_out], min_relevance=0.05))
        assert gone.total == 0, [(h.title, h.relevance) for h in gone.results]
        kept = searcher.search(SearchRequest(query=questions[articles[KEPT].id],
                                             min_relevance=0.05))
        assert kept.total >= 1 and kept.results[0].article_id
    finally:
        searcher.close()


LEFT_OUT, KEPT = 3, 5
