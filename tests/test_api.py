"""The HTTP API (search_api.app) over the real demo index: seed + 300 Dân trí articles.

Real model, real FAISS, real SQLite; the app reuses the session's ``searcher`` and runs
its lifespan (``with TestClient(app)``).
"""

import re
import sqlite3
from datetime import date

import pytest
import storeutil
from fastapi.testclient import TestClient
from support import ERROR_KEYS, assert_error, read_jsonl_head, search  # noqa: F401

from indexer import layout
from indexer.manifest import Manifest
from search_api.app import create_app

SEED_QUERIES = ["kết quả thi hành án dân sự Gia Lai", "thi hanh an dan su gia lai"]
VINAMILK_TITLE = "Vinamilk lọt Top 1.000 thương hiệu hàng đầu châu Á"
VINAMILK_URL = ("https://dantri.com.vn/kinh-doanh/vinamilk-lot-top-1000-thuong-hieu-hang-dau-"
                "chau-a-20201001163534963.htm")


# -- the searcher is injected, not a request parameter ------------------------------------------------

def test_searcher_dependency_resolves(settings, demo_index, searcher) -> None:
    """Regression: a create_app-local ``SearcherDep`` alias under ``from __future__ import
    annotations`` made FastAPI treat ``searcher`` as a required query parameter (every
    endpoint answered 422 'searcher: Field required')."""
    app = create_app(settings, demo_index, searcher=searcher)
    with TestClient(app) as c:
        assert c.get("/health").status_code == 200
        assert c.get("/search", params={"q": "Vinamilk"}).status_code == 200
        assert c.post("/search", json={"q": "Vinamilk"}).status_code == 200


# -- search quality on real data ------------------------------------------------------------------------

@pytest.mark.parametrize("q", SEED_QUERIES)
def test_seed_article_first(client, q: str) -> None:
    data = search(client, q=q)
    assert data["results"], data
    top = data["results"][0]
    assert "Thi hành án dân sự" in top["title"]
    assert top["source"] == "Báo Gia Lai"
    assert top["url"] is None
    assert top["rank"] == 1
    assert "<mark>" in top["highlighted"]
    assert data["mode"] == "hybrid"


def test_dantri_story_first_with_its_url(client) -> None:
    data = search(client, q="Vinamilk lọt top 1000 thương hiệu hàng đầu châu Á")
    top = data["results"][0]
    assert top["title"] == VINAMILK_TITLE
    assert top["url"] == VINAMILK_URL
    assert top["source"] == "Dân trí"  # canonical outlet name
    assert top["published"] == "2020-10-01"
    assert top["category"] == "Kinh doanh"


@pytest.mark.parametrize("q", SEED_QUERIES)
def test_post_search_same_as_get(client, q: str) -> None:
    got = search(client, q=q, k=5)
    r = client.post("/search", json={"q": q, "k": 5})
    assert r.status_code == 200, r.text
    posted = r.json()
    assert [h["passage_id"] for h in posted["results"]] == [h["passage_id"] for h in got["results"]]
    assert "Thi hành án dân sự" in posted["results"][0]["title"]


def test_group_false_returns_raw_passages(client) -> None:
    q = "thi hành án dân sự tỉnh Gia Lai"
    # min_relevance 0: this checks grouping over a full candidate list, not the cut-off
    grouped = client.post("/search", json={"q": q, "k": 20, "min_relevance": 0}).json()["results"]
    raw = client.post("/search", json={"q": q, "k": 20, "group": False,
                                       "min_relevance": 0}).json()["results"]
    ids = [h["article_id"] for h in grouped]
    assert len(ids) == len(set(ids)), "grouped results repeat an article"
    raw_ids = [h["article_id"] for h in raw]
    assert len(raw) == 20
    assert len(set(raw_ids)) < len(raw_ids), "the seed article's passages should repeat"
    assert all(h["other_matches"] == 0 for h in raw)
    assert grouped[0]["other_matches"] > 0
    assert len({h["passage_id"] for h in raw}) == len(raw)


@pytest.mark.parametrize("group", [True, False])
def test_offset_pagination(client, group: bool) -> None:
    q = "lãi suất ngân hàng"
    page1 = search(client, q=q, k=5, offset=0, group=group)["results"]
    page2 = search(client, q=q, k=5, offset=5, group=group)["results"]
    both = search(client, q=q, k=10, group=group)["results"]
    assert [h["rank"] for h in page1] == [1, 2, 3, 4, 5]
    assert [h["rank"] for h in page2] == [6, 7, 8, 9, 10]
    key = "article_id" if group else "passage_id"
    assert not {h[key] for h in page1} & {h[key] for h in page2}
    assert [h["passage_id"] for h in page1 + page2] == [h["passage_id"] for h in both]
    far = search(client, q=q, k=5, offset=1000)
    assert far["results"] == []


# -- filters -------------------------------------------------------------------------------------------

def test_filter_source(client) -> None:
    # the one Báo Gia Lai article is not about this: without the cut-off the filter still
    # returns it (what is checked here), with the default cut-off nothing
    data = search(client, q="kinh tế tăng trưởng", source="Báo Gia Lai", k=10, min_relevance=0)
    assert data["results"]
    assert all(h["source"] == "Báo Gia Lai" for h in data["results"])
    # filters apply inside retrieval: 5 passages of the one Báo Gia Lai article match, so an
    # unrelated query still fills k=5 raw passages once the relevance cut-off is off (with the
    # default cut-off an unrelated query rightly finds nothing: tests/test_relevance.py)
    for mode in ("dense", "hybrid"):
        raw = search(client, q="giá vàng thế giới", source="Báo Gia Lai", k=5, group=False,
                     mode=mode, min_relevance=0)["results"]
        assert len(raw) == 5, mode
        assert {h["source"] for h in raw} == {"Báo Gia Lai"}


@pytest.mark.parametrize("category", ["Kinh doanh", "Giáo dục - Hướng nghiệp"])
def test_filter_category(client, category: str) -> None:
    # a deliberately mixed query: the filter must still fill k from inside retrieval
    data = search(client, q="học sinh thi tốt nghiệp giá cổ phiếu", category=category, k=20,
                  min_relevance=0)
    assert len(data["results"]) == 20
    assert all(h["category"] == category for h in data["results"])


def test_filter_date_range(client, demo_index) -> None:
    date_from, date_to = "2021-04-20", "2021-04-22"
    conn = sqlite3.connect(f"file:{demo_index / layout.DATABASE}?mode=ro", uri=True)
    n_articles = conn.execute("SELECT count(*) FROM articles WHERE substr(published,1,10) "
                              "BETWEEN ? AND ?", (date_from, date_to)).fetchone()[0]
    conn.close()
    k = 10
    assert n_articles >= k
    for mode in ("hybrid", "dense"):
        data = search(client, q="Vinamilk thương hiệu", date_from=date_from, date_to=date_to,
                      k=k, mode=mode, min_relevance=0)
        assert len(data["results"]) == k, mode
        for h in data["results"]:
            assert date_from <= h["published"][:10] <= date_to
            assert date.fromisoformat(h["published"][:10])
    # the story of 2020-10-01 is outside the range
    data = search(client, q=VINAMILK_TITLE, date_from=date_from, date_to=date_to)
    assert VINAMILK_URL not in {h["url"] for h in data["results"]}
    # only one demo article names Vinamilk (2020): without the cut-off the date filter still
    # serves nearest neighbours from the range, which is what is checked here
    only_from = search(client, q="Vinamilk", date_from="2021-05-01", k=50,
                       min_relevance=0)["results"]
    assert only_from and all(h["published"][:10] >= "2021-05-01" for h in only_from)


# -- modes -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["dense", "lexical"])
def test_modes(client, mode: str) -> None:
    data = search(client, q=SEED_QUERIES[0], mode=mode)
    assert data["mode"] == mode
    assert "Thi hành án dân sự" in data["results"][0]["title"]


def test_toneless_lexical_matches_toned_text(client) -> None:
    data = search(client, q="thi hanh an dan su gia lai", mode="lexical")
    top = data["results"][0]
    assert top["source"] == "Báo Gia Lai"
    assert "Thi hành án dân sự" in top["text"]
    # the toned words of the text are what gets marked, a run of them as one phrase
    marked = " ".join(re.findall(r"<mark>(.*?)</mark>", top["highlighted"], re.S)).split()
    for word in ("Thi", "hành", "án", "Gia", "Lai"):
        assert word in marked, word
    # the toned and the toneless query find the same passages (a toned query adds the
    # exact-tone column, so the order may differ)
    toned = search(client, q="thi hành án dân sự Gia Lai", mode="lexical", k=5)["results"]
    assert top["passage_id"] in {h["passage_id"] for h in toned}
    dantri = search(client, q="vinamilk lot top thuong hieu hang dau chau a", mode="lexical")
    assert dantri["results"][0]["url"] == VINAMILK_URL
    assert "Vinamilk" in " ".join(re.findall(r"<mark>(.*?)</mark>",
                                             dantri["results"][0]["highlighted"])).split()


def test_highlight_is_html_escaped(client) -> None:
    data = search(client, q="<script>alert(1)</script> Vinamilk")
    for h in data["results"]:
        assert "<script>" not in h["highlighted"]
        assert h["highlighted"].replace("<mark>", "").replace("</mark>", "").count("<") == 0


# -- /retrieve -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("max_chars", [1500, 600])
def test_retrieve_budget_and_citations(client, max_chars: int) -> None:
    r = client.post("/retrieve", json={"query": "Vinamilk thương hiệu hàng đầu châu Á", "k": 5,
                                       "max_chars": max_chars})
    assert r.status_code == 200, r.text
    data = r.json()
    passages = data["passages"]
    assert passages
    assert sum(len(p["text"]) for p in passages) <= max_chars
    # one citation number per article, in the order the articles appear
    firsts = {p["citation"]: p for p in reversed(passages)}
    assert [p["citation"] for p in passages] == sorted(p["citation"] for p in passages)
    assert sorted(firsts) == list(range(1, len(firsts) + 1)) == list(range(1, len(data["citations"]) + 1))
    for n, citation in enumerate(data["citations"], start=1):
        p = firsts[n]
        assert citation.startswith(f"[{n}] ")
        if p["url"]:
            assert citation == f"[{n}] {p['title'] or '(không có tiêu đề)'} — {p['url']}"
        assert f"[{n}] {p['text']}" in data["context"]
    assert all(p["text"] in data["context"] for p in passages)
    assert data["citations"][0] == f"[1] {VINAMILK_TITLE} — {VINAMILK_URL}"


def test_retrieve_tiny_budget(client) -> None:
    r = client.post("/retrieve", json={"query": SEED_QUERIES[0], "k": 3, "max_chars": 40})
    assert r.status_code == 200, r.text
    data = r.json()
    assert len(data["passages"]) == 1
    assert 0 < len(data["passages"][0]["text"]) <= 40
    assert data["citations"][0].startswith("[1] Phó Chủ tịch UBND tỉnh")


@pytest.mark.parametrize("body, field", [
    ({"query": ""}, "query"),
    ({"query": "x", "max_chars": 0}, "max_chars"),
    ({"query": "x", "k": 0}, "k"),
    ({"k": 3}, "q"),  # q, or its alias query, is required
    ({"query": 123}, "query"),
])
def test_retrieve_errors(client, body: dict, field: str) -> None:
    err = assert_error(client.post("/retrieve", json=body), 422, field)
    assert field in err["message"]


# -- /articles/{id} -----------------------------------------------------------------------------------------

def test_article_offsets_match_search_passages(client) -> None:
    hits = search(client, q=SEED_QUERIES[0], group=False, k=10)["results"]
    by_article: dict[str, list[dict]] = {}
    for h in hits:
        by_article.setdefault(h["article_id"], []).append(h)
    for article_id, article_hits in by_article.items():
        r = client.get(f"/articles/{article_id}")
        assert r.status_code == 200, r.text
        art = r.json()
        text = art["text"]
        assert art["passages"]
        assert [p["ordinal"] for p in art["passages"]] == list(range(len(art["passages"])))
        refs = {p["id"]: p for p in art["passages"]}
        for h in article_hits:
            ref = refs[h["passage_id"]]
            assert (ref["start"], ref["end"]) == (h["start"], h["end"])
            assert text[ref["start"]:ref["end"]] == h["text"]
    seed = client.get(f"/articles/{hits[0]['article_id']}").json()
    assert seed["source"] == "Báo Gia Lai" and seed["url"] is None and seed["urls"] == []


def test_article_dantri_has_urls(client) -> None:
    top = search(client, q=VINAMILK_TITLE, k=1)["results"][0]
    art = client.get(f"/articles/{top['article_id']}").json()
    assert art["url"] == VINAMILK_URL
    assert art["urls"] == [VINAMILK_URL]
    assert art["title"] == VINAMILK_TITLE


def test_unknown_article_404(client) -> None:
    err = assert_error(client.get("/articles/no-such-id"), 404)
    assert err["error"] == "not_found"
    assert "no-such-id" in err["message"]


# -- /health, /, docs ---------------------------------------------------------------------------------------

def test_health(client, demo_index) -> None:
    r = client.get("/health")
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["status"] == "ok"
    assert data["articles"] == 301
    manifest = Manifest.load(demo_index)
    assert data["passages"] == manifest.counts["passages"]
    assert data["model"] == manifest.model_name and data["model_id"] == manifest.model_id
    assert data["index_format"] == layout.FORMAT_VERSION
    assert data["dimension"] == 384
    assert data["uptime_s"] >= 0
    assert data["lexical_index"] == "fts5"  # ~3k passages: below the in-memory threshold


def test_facets(client) -> None:
    r = client.get("/facets")
    assert r.status_code == 200, r.text
    data = r.json()
    # one canonical name per outlet: "Dân trí (dantri.com.vn)" is stored as "Dân trí"
    assert set(data["sources"]) == {"Dân trí", "Báo Gia Lai"}
    assert "Kinh doanh" in data["categories"]


def test_page_docs_openapi(client) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "<html" in r.text.lower()
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    for path in ("/search", "/retrieve", "/articles/{article_id}", "/health"):
        assert path in paths
    # the searcher is injected, never a client parameter
    params = [p["name"] for p in paths["/search"]["get"].get("parameters", [])]
    assert "searcher" not in params and "q" in params


# -- error shape -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("params, field", [
    ({"q": ""}, "q"),
    ({"q": "   "}, "q"),
    ({}, "q"),
    ({"q": "a" * 1001}, "q"),
    ({"q": "x", "k": 0}, "k"),
    ({"q": "x", "k": 101}, "k"),
    ({"q": "x", "k": "abc"}, "k"),
    ({"q": "x", "offset": -1}, "offset"),
    ({"q": "x", "offset": "z"}, "offset"),
    ({"q": "x", "date_from": "2021-13-45"}, "date_from"),
    ({"q": "x", "date_to": "hôm qua"}, "date_to"),
    ({"q": "x", "mode": "foo"}, "mode"),
    ({"q": "x", "group": "maybe"}, "group"),
])
def test_get_search_validation_errors(client, params: dict, field: str) -> None:
    err = assert_error(client.get("/search", params=params), 422, field)
    assert err["error"] == "invalid_request"
    assert err["message"].startswith(field)


@pytest.mark.parametrize("body, field", [
    ({"q": ""}, "q"),
    ({"q": " \t\n"}, "q"),
    ({"q": "a" * 1001}, "q"),
    ({"q": "x", "k": 0}, "k"),
    ({"q": "x", "k": 101}, "k"),
    ({"q": "x", "k": "abc"}, "k"),
    ({"q": "x", "offset": -1}, "offset"),
    ({"q": "x", "date_from": "2021-13-45"}, "date_from"),
    ({"q": "x", "mode": "foo"}, "mode"),
    ({"k": 5}, "q"),
    ({"q": 123}, "q"),
])
def test_post_search_validation_errors(client, body: dict, field: str) -> None:
    err = assert_error(client.post("/search", json=body), 422, field)
    assert field in err["message"]


def test_unknown_route_and_method(client) -> None:
    err = assert_error(client.get("/no/such/route"), 404, None)
    assert err["error"] == "not_found"
    assert_error(client.delete("/search"), 405, None)


@pytest.mark.parametrize("payload", [b'{"q": "Vinamilk", ', b"not json", b'{"q": "x"} trailing'])
def test_post_invalid_json_status_and_shape(client, payload: bytes) -> None:
    r = client.post("/search", content=payload, headers={"content-type": "application/json"})
    assert_error(r, 422)


def test_post_invalid_json_names_no_bogus_field(client) -> None:
    r = client.post("/search", content=b"{bad", headers={"content-type": "application/json"})
    err = assert_error(r, 422)
    assert err["field"] in (None, "body")
    assert "json" in err["message"].lower()
    assert not err["message"][:1].isdigit()


# -- hostile queries --------------------------------------------------------------------------------------------

HOSTILE = [
    '"', '""', "'", "Vinamilk\"", '"thi hành" NEAR/2 án*', "*", "án*", "NEAR", "NEAR(thi án)",
    "thi OR án", "thi AND án", "NOT án", "thi hành NOT án", "a OR b AND NOT c", "-", "-án",
    "(", ")", "(thi hành án", "toned:án", "folded: an", "col:abc", "passages_fts", "^án",
    "😀", "😀 Vinamilk 🥛", "\u200b", "\u200b\u200c\u200d\ufeff", "thi\u200bhành án",
    "'; DROP TABLE articles; --", "1; DELETE FROM passages", "%", "_", "\\", "{}", "[]",
    "\x00", "án\x00án", "a" * 1000, "x " * 400,
]


@pytest.mark.parametrize("mode", ["hybrid", "lexical"])
def test_hostile_queries_never_fail(client, demo_index, mode: str) -> None:
    conn = sqlite3.connect(f"file:{demo_index / layout.DATABASE}?mode=ro", uri=True)
    before = storeutil.counts(conn)
    # lexical is the FTS5 surface: every string; hybrid (encodes each query): a sample
    for q in (HOSTILE if mode == "lexical" else HOSTILE[::3]):
        r = client.get("/search", params={"q": q, "mode": mode})
        assert r.status_code in (200, 422), (q, r.status_code, r.text)
        if r.status_code == 422:
            assert_error(r, 422, "q")
            assert not q.strip(" \u200b\u200c\u200d\ufeff\x00"), q
        r = client.post("/search", json={"q": q, "mode": mode, "group": False})
        assert r.status_code in (200, 422), (q, r.status_code, r.text)
    assert storeutil.counts(conn) == before
    conn.close()
    # the index still works
    assert "Thi hành án dân sự" in search(client, q=SEED_QUERIES[0])["results"][0]["title"]
    assert client.get("/health").json()["articles"] == 301


def test_zero_width_only_query(client) -> None:
    r = client.get("/search", params={"q": "\u200b\u200c\u200d"})
    if r.status_code == 422:
        assert_error(r, 422, "q")
    else:
        assert r.status_code == 200 and r.json()["results"] == []


def test_oversized_body_refused(client) -> None:
    r = client.post("/search", content=b'{"q": "' + b"a" * 6_000_000 + b'"}',
                    headers={"content-type": "application/json"})
    assert_error(r, 413)


def test_retrieve_citation_for_seed_without_url(client) -> None:
    r = client.post("/retrieve", json={"query": SEED_QUERIES[0], "k": 1, "max_chars": 4000})
    data = r.json()
    assert data["passages"][0]["url"] is None
    # no URL: the citation names the outlet instead
    assert data["citations"][0].startswith("[1] Phó Chủ tịch UBND tỉnh Nguyễn Hữu Quế")
    assert data["citations"][0].endswith("— Báo Gia Lai")


def test_search_sees_consistent_demo_records(client, dantri300) -> None:
    # a few Dân trí stories with a title: each is found by its title with its own URL
    recs = [r for r in read_jsonl_head(dantri300, 60) if r.get("title")][:4]
    assert recs
    for rec in recs:
        data = search(client, q=rec["title"], k=3)
        assert rec["url"] in {h["url"] for h in data["results"]}, rec["title"]


def test_slow_request_times_out_in_error_shape(settings, demo_index, searcher) -> None:
    """A request over the per-request timeout gets a 503 in the one error shape, and the
    service keeps answering (a slow request cannot hold the others)."""
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    hurried = settings.model_copy(update={"request_timeout_s": 1e-6})
    with TestClient(create_app(hurried, demo_index, searcher=searcher)) as client:
        r = client.get("/search", params={"q": "một truy vấn chưa từng gặp về thời tiết Hà Nội",
                                          "mode": "hybrid"})
        assert r.status_code == 503
        assert set(r.json()["error"]) == {"status", "error", "message", "field", "request_id"}
        assert client.get("/health").status_code == 200
