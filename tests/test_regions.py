"""Places and stories on real articles: ``province=``, story grouping and
``also_in``, related coverage over HTTP, the province facet, the 2 → 3 upgrade and deletes.

Two indexes: the session's demo index (seed + 300 Dân trí articles, among them articles on
Quy Nhơn / Bình Định, now part of Gia Lai) and a small one built here from real
near-duplicates found in ../shared/data/news/danes-headlines.jsonl (the same report in
several outlets, estimated Jaccard 0.65–0.84) plus 20 unrelated Dân trí articles.
"""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest
from fastapi.testclient import TestClient
from support import SHARED, needs_shared

from indexer.db import IndexDB
from indexer.readers import iter_inputs
from indexer.stats import index_stats
from indexer.upgrade import upgrade_index
from indexer.writer import IndexWriter, index_articles
from search_api.app import create_app
from search_api.retrieval import Searcher
from search_api.schemas import search_request

pytestmark = needs_shared

NEWS = SHARED / "data" / "news"
# Lines (0-based) of danes-headlines.jsonl: one story each, republished by other outlets.
VIET_DUC = (1203, 5383, 4977)   # "Bệnh viện Việt Đức bị xử phạt 14 triệu đồng", 3 outlets
FLOODS = (307, 4276)            # the Prime Minister's dispatch on floods in Trung Bộ
SHRIMP = (61, 2925)             # a couple died in a fire at a shrimp-pond hut
DANTRI_LINES = range(300, 320)  # unrelated articles (not in the demo index)


def _lines(path, wanted) -> list[dict]:
    wanted = set(wanted)
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for i, line in enumerate(handle) if i in wanted]


@pytest.fixture(scope="module")
def story_index(tmp_path_factory, settings, encoder):
    """The small index of near-duplicates; returns (directory, input rows by input id)."""
    rows = _lines(NEWS / "danes-headlines.jsonl", VIET_DUC + FLOODS + SHRIMP)
    rows += _lines(NEWS / "dantri-unc.jsonl", DANTRI_LINES)
    folder = tmp_path_factory.mktemp("stories")
    corpus = folder / "stories.jsonl"
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                      encoding="utf-8")
    directory = folder / "index"
    index_articles(directory, iter_inputs([corpus]), settings, encoder)
    return directory, {r["id"]: r for r in rows}


@pytest.fixture(scope="module")
def story_searcher(story_index, settings, encoder):
    s = Searcher(story_index[0], settings, encoder)
    yield s
    s.close()


@pytest.fixture(scope="module")
def story_client(settings, story_index, story_searcher):
    with TestClient(create_app(settings, story_index[0], searcher=story_searcher)) as c:
        yield c


@pytest.fixture(scope="module")
def demo_client(settings, demo_index, searcher):
    with TestClient(create_app(settings, demo_index, searcher=searcher)) as c:
        yield c


def _get(client, path: str, **params) -> dict:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _ids(body: dict) -> list[str]:
    return [h["article_id"] for h in body["results"]]


def _story_ids(directory, input_ids) -> dict[str, str]:
    """Input id → stored article id."""
    with IndexDB(directory, readonly=True) as db:
        return {i: db.resolve_key(i) for i in input_ids}


# -- province= -------------------------------------------------------------------------------

def _province(client, province: str, **kw) -> dict:
    return _get(client, "/search", q="kinh tế đầu tư du lịch", province=province, k=100,
                min_relevance=0, group="article", **kw)


def test_former_province_maps_and_finds_its_articles(demo_client):
    former = _province(demo_client, "Bình Định")
    assert former["province_note"] == ("Bình Định đã nhập vào Gia Lai từ ngày 1/7/2025: "
                                       "đang hiện các bài viết về Bình Định cũ.")
    assert former["results"], "the demo corpus has articles on Quy Nhơn / Bình Định"
    for hit in former["results"]:
        assert "Bình Định" in hit["provinces_former"] and "Gia Lai" in hit["provinces"], hit
    # Toneless, any case: the same answer (query tones do not matter either).
    for spelling in ("binh dinh", "BINH ĐỊNH", "bình định"):
        assert _ids(_province(demo_client, spelling)) == _ids(former), spelling
    # The current name finds them too (they are tagged with the new province), and more.
    current = _province(demo_client, "gia lai")
    assert current["province_note"] is None
    assert set(_ids(former)) < set(_ids(current))
    for hit in current["results"]:
        assert "Gia Lai" in hit["provinces"], hit
    assert {h["article_id"] for h in current["results"]
            if "Bình Định" in h["provinces_former"]} == set(_ids(former))
    # The same filter on POST /search and /retrieve.
    r = demo_client.post("/search", json={"q": "kinh tế đầu tư du lịch", "k": 100,
                                          "province": "binh dinh", "min_relevance": 0,
                                          "group": "article"})
    assert r.status_code == 200 and _ids(r.json()) == _ids(former), r.text
    r = demo_client.post("/retrieve", json={"q": "du lịch Quy Nhơn", "province": "Bình Định",
                                            "min_relevance": 0})
    body = r.json()
    assert r.status_code == 200 and body["province_note"] and body["passages"], r.text
    assert all("Bình Định" in p["provinces_former"] for p in body["passages"])


def test_province_note_comes_with_no_results_too(demo_client):
    """Nothing matched: the note still says which articles a former name stands for, and the
    hints name the filter first."""
    body = _get(demo_client, "/search", q="zzzqqqxxx", province="binh dinh", mode="lexical")
    assert body["total"] == 0 and body["results"] == []
    assert body["province_note"] == ("Bình Định đã nhập vào Gia Lai từ ngày 1/7/2025: "
                                     "đang hiện các bài viết về Bình Định cũ.")
    assert body["hints"] and "bộ lọc" in body["hints"][0]
    assert _get(demo_client, "/search", q="zzzqqqxxx", province="gia lai",
                mode="lexical")["province_note"] is None


def test_unknown_province_is_a_422_naming_it(demo_client):
    r = demo_client.get("/search", params={"q": "du lịch", "province": "Atlantis"})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["field"] == "province" and "Atlantis" in err["message"]


def test_facets_count_current_provinces(demo_client):
    facets = _get(demo_client, "/facets")
    provinces = facets["provinces"]
    assert provinces and {"name", "count"} == set(provinces[0])
    counts = [p["count"] for p in provinces]
    assert counts == sorted(counts, reverse=True)
    names = {p["name"] for p in provinces}
    assert "Gia Lai" in names and "Bình Định" not in names  # current names only


def test_article_carries_its_provinces(demo_client):
    hit = _province(demo_client, "binh dinh")["results"][0]
    art = _get(demo_client, f"/articles/{hit['article_id']}")
    assert art["provinces"] == hit["provinces"]
    assert art["provinces_former"] == hit["provinces_former"]
    assert art["story_id"] == hit["story_id"]


# -- one story across outlets --------------------------------------------------------------------

def test_near_duplicates_share_a_story(story_index):
    directory, rows = story_index
    ids = _story_ids(directory, rows)
    with IndexDB(directory, readonly=True) as db:
        regions = db.article_regions(list(ids.values()))
    story = {i: regions[a].story_id for i, a in ids.items()}
    danes = [r["id"] for r in _lines(NEWS / "danes-headlines.jsonl", VIET_DUC)]
    assert len({story[i] for i in danes}) == 1
    # The story keeps the id of its first indexed article.
    assert story[danes[0]] in {ids[i] for i in danes}
    flood = [r["id"] for r in _lines(NEWS / "danes-headlines.jsonl", FLOODS)]
    assert story[flood[0]] == story[flood[1]] != story[danes[0]]
    dantri = [i for i in rows if i.startswith("dantri")]
    assert all(story[i] == ids[i] for i in dantri)  # unrelated: each its own story
    stats = index_stats(directory)
    assert stats["stories_shared"] == 3 and stats["articles_with_provinces"] > 0, stats


def test_a_syndicated_story_is_shown_once_with_its_other_outlets(story_client):
    q = "Bệnh viện Việt Đức bị xử phạt"
    body = _get(story_client, "/search", q=q, min_relevance=0, k=100)  # default: group=story
    viet_duc = [h for h in body["results"] if "xử phạt 14 triệu" in (h["title"] or "")]
    assert len(viet_duc) == 1, [h["title"] for h in body["results"]]
    hit = viet_duc[0]
    outlets = {a["source"] for a in hit["also_in"]}
    assert len(outlets) == 2 and hit["source"] not in outlets, hit["also_in"]
    assert all(a["url"] and a["article_id"] != hit["article_id"] for a in hit["also_in"])
    assert {"source", "url", "published", "article_id", "url_text"} == set(hit["also_in"][0])
    stories = [h["story_id"] for h in body["results"]]
    assert len(stories) == len(set(stories))
    # group=article (and its old spelling true): one hit per article, all three outlets.
    for group in ("article", "true"):
        arts = _get(story_client, "/search", q=q, min_relevance=0, group=group, k=100)
        same = [h for h in arts["results"] if h["story_id"] == hit["story_id"]]
        assert len(same) == 3 and len({h["article_id"] for h in same}) == 3, group
        assert all(len(h["also_in"]) == 2 for h in same)
    # group=none (and false): raw passages, an article may appear more than once.
    for group in ("none", "false"):
        raw = _get(story_client, "/search", q=q, min_relevance=0, group=group, k=50)
        assert raw["total"] >= arts["total"] and all(h["other_matches"] == 0
                                                     for h in raw["results"])
    assert body["total"] == len({h["story_id"] for h in arts["results"]}) < arts["total"]
    r = story_client.get("/search", params={"q": q, "group": "outlet"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "group"
    r = story_client.post("/search", json={"q": q, "group": True, "k": 100,
                                           "min_relevance": 0})
    assert r.status_code == 200 and r.json()["total"] == arts["total"]


# -- related coverage ----------------------------------------------------------------------------

def test_related_leaves_out_the_story_and_is_newest_first(story_client, demo_client, searcher):
    hit = _get(story_client, "/search", q="Bệnh viện Việt Đức bị xử phạt",
               min_relevance=0)["results"][0]
    body = _get(story_client, f"/articles/{hit['article_id']}/related", k=10)
    assert body["article_id"] == hit["article_id"]
    own = {hit["article_id"], *(a["article_id"] for a in hit["also_in"])}
    assert not own & {r["article_id"] for r in body["related"]}
    assert all(r["story_id"] != hit["story_id"] for r in body["related"])
    # On the demo corpus: an article with related coverage (the banks' shareholder meetings
    # of April 2021), newest first, undated last.
    seed = searcher.search(search_request(q="Eximbank họp đại hội đồng cổ đông")).results[0]
    related = _get(demo_client, f"/articles/{seed.article_id}/related", k=20)["related"]
    assert related, "Eximbank's meeting has related coverage in the demo corpus"
    assert seed.article_id not in {r["article_id"] for r in related}
    assert len({r["story_id"] for r in related}) == len(related)
    dates = [r["published"] for r in related if r["published"]]
    assert dates == sorted(dates, reverse=True)
    assert [r["published"] for r in related][:len(dates)] == dates
    assert {"article_id", "title", "source", "url", "published", "provinces", "score",
            "story_id", "url_text"} == set(related[0])
    assert len(_get(demo_client, f"/articles/{seed.article_id}/related", k=1)["related"]) <= 1
    r = demo_client.get("/articles/no-such-article/related")
    assert r.status_code == 404, r.text
    for k in (0, 51):
        r = demo_client.get(f"/articles/{seed.article_id}/related", params={"k": k})
        assert r.status_code == 422 and r.json()["error"]["field"] == "k", r.text


# -- upgrade and delete --------------------------------------------------------------------------

def _downgrade_to_schema_2(directory) -> None:
    """Make a schema-3 store look like a schema-2 one."""
    conn = sqlite3.connect(directory / "store.sqlite")
    conn.executescript("""
        DROP TABLE article_places; DROP TABLE story_signatures; DROP TABLE story_bands;
        DROP INDEX articles_story; ALTER TABLE articles DROP COLUMN story_id;
        UPDATE meta SET value='2' WHERE key='schema_version';
    """)
    conn.commit()
    conn.close()


def _answers(searcher, q: str) -> list[tuple]:
    hits = searcher.search(search_request(q=q, min_relevance=0, k=30)).results
    return [(h.article_id, h.passage_id, h.story_id, tuple(h.provinces),
             tuple(a.article_id for a in h.also_in)) for h in hits]


def _scores(searcher, q: str) -> list[float]:
    return [h.score for h in searcher.search(search_request(q=q, min_relevance=0, k=30)).results]


def test_upgrade_from_schema_2_tags_and_keeps_answers(story_index, story_searcher, tmp_path,
                                                      settings, encoder):
    queries = ("Bệnh viện Việt Đức bị xử phạt", "mưa lũ Trung Bộ", "kinh tế")
    before = {q: _answers(story_searcher, q) for q in queries}
    scores = {q: _scores(story_searcher, q) for q in queries}
    directory = tmp_path / "old"
    shutil.copytree(story_index[0], directory)
    _downgrade_to_schema_2(directory)
    with pytest.raises(Exception, match="check --upgrade"):
        Searcher(directory, settings, encoder)
    report = upgrade_index(directory, settings)
    assert report.upgraded and (report.from_version, report.to_version) == (2, 3)
    assert report.tagged > 0 and report.joined_stories == 4  # 2 + 1 + 1 near-duplicates
    assert (directory / "store.sqlite.schema2.bak").exists()
    upgraded = Searcher(directory, settings, encoder)
    try:
        assert {q: _answers(upgraded, q) for q in queries} == before
        for q in queries:  # a query vector encoded in another batch differs in the 6th digit
            assert _scores(upgraded, q) == pytest.approx(scores[q], abs=1e-4)
    finally:
        upgraded.close()


def test_delete_removes_places_and_bands_keeps_the_story(story_index, tmp_path, settings):
    directory = tmp_path / "copy"
    shutil.copytree(story_index[0], directory)
    rows = _lines(NEWS / "danes-headlines.jsonl", VIET_DUC)
    ids = _story_ids(directory, [r["id"] for r in rows])
    first, *others = [ids[r["id"]] for r in rows]
    with IndexDB(directory, readonly=True) as db:
        story = db.article_regions([first])[first].story_id
    with IndexWriter(directory, settings) as writer:
        assert writer.delete([first]).deleted == 1
    conn = sqlite3.connect(directory / "store.sqlite")
    try:
        for table in ("article_places", "story_signatures", "story_bands"):
            n = conn.execute(f"SELECT count(*) FROM {table} WHERE article_id=?", (first,))
            assert n.fetchone()[0] == 0, table
    finally:
        conn.close()
    with IndexDB(directory, readonly=True) as db:
        regions = db.article_regions(others)
        assert {regions[a].story_id for a in others} == {story}  # the others keep it
        members = db.story_members([story])[story]
        assert {m.article_id for m in members} == set(others)
