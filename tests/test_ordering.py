"""Date sorts, ``undated_excluded`` and facet counts.

The pure functions of :mod:`search_api.retrieval.ordering` and the SQL date filter are
checked on small hand-made inputs; the behaviour end to end on the real demo index (seed +
300 Dân trí articles, real model) through the HTTP API and the CLI, and ``undated_excluded``
on a small real index where some articles have no usable date.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from support import assert_error, read_jsonl_head, search

from indexer.article import Article
from indexer.db import ArticleMeta, IndexDB, MetadataFilter
from indexer.db.reads import filter_sql
from search_api.retrieval.grouping import Entry
from search_api.retrieval.ordering import drop_undated, facet_counts, needs_meta, sort_entries
from search_api.retrieval.request import SearchRequest

UNDATED = [None, "", "2020-10", "hôm qua", "10/01/2020"]
Q_COURT = "kết quả thi hành án dân sự Gia Lai"
Q_ECON = "kinh tế tăng trưởng doanh nghiệp"


# -- pure parts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("published,day", [
    ("2020-10-01", "2020-10-01"), ("2025-07-18T08:30:00+07:00", "2025-07-18"),
    *[(p, None) for p in UNDATED]])
def test_article_meta_day(published, day) -> None:
    meta = ArticleMeta("a", "s", "c", published)
    assert meta.day == day
    assert meta.year == (day[:4] if day else None)


def _passing(filt: MetadataFilter) -> set[str]:
    """Ids of a tiny articles table that ``filter_sql(filt)`` admits."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE articles (id TEXT, source TEXT, category TEXT, published TEXT, "
                 "source_key TEXT)")
    rows = [("d1", "2020-10-01"), ("d2", "2021-04-05T10:00:00"), ("d3", "2019-01-01"),
            *[(f"u{i}", p) for i, p in enumerate(UNDATED)]]
    conn.executemany("INSERT INTO articles VALUES (?, 'x', 'y', ?, 'x')", rows)
    where, params = filter_sql(filt)
    return {r[0] for r in conn.execute(f"SELECT a.id FROM articles a WHERE {where}", params)}


def test_date_filter_sql_strict_and_keep_undated() -> None:
    undated = {f"u{i}" for i in range(len(UNDATED))}
    assert _passing(MetadataFilter(date_from="2020-01-01")) == {"d1", "d2"}
    # '' <= '2020-12-31' as strings: an empty date must still not pass a date_to filter.
    assert _passing(MetadataFilter(date_to="2020-12-31")) == {"d1", "d3"}
    assert _passing(MetadataFilter(date_from="2020-01-01", keep_undated=True)) == {"d1", "d2",
                                                                                  *undated}
    assert _passing(MetadataFilter(date_from="2020-01-01", date_to="2020-12-31",
                                   keep_undated=True)) == {"d1", *undated}
    assert _passing(MetadataFilter(source="x", keep_undated=True)) == {"d1", "d2", "d3",
                                                                       *undated}


def _entries_and_meta():
    dates = {"a": "2021-04-05", "b": None, "c": "2020-10-01", "d": "2021-04-05",
             "e": "2021-04-05T09:00:00", "f": "hôm qua"}
    sources = {"a": "X", "b": "Y", "c": "Y", "d": "X", "e": None, "f": "X"}
    meta = {k: ArticleMeta(k, sources[k], "cat", v) for k, v in dates.items()}
    entries = [Entry(i, 1.0 - i / 10, 0, k) for i, k in enumerate("abcdef")]
    return entries, meta


def test_sort_entries_dates_then_undated_ties_in_relevance_order() -> None:
    entries, meta = _entries_and_meta()
    def order(sort: str) -> str:
        return "".join(e.article_id for e in sort_entries(entries, sort, meta))

    assert order("relevance") == "abcdef"
    assert order("newest") == "eadcbf"  # a before d: equal dates keep relevance order
    assert order("oldest") == "cadebf"


def test_drop_undated_counts_articles_only_under_a_date_filter() -> None:
    entries, meta = _entries_and_meta()
    entries = entries + [Entry(9, 0.1, 0, "b")]  # group=false: a second passage of b
    assert drop_undated(entries, SearchRequest("q"), meta) == (entries, 0)
    kept, left_out = drop_undated(entries, SearchRequest("q", date_to="2030-01-01"), meta)
    assert [e.article_id for e in kept] == ["a", "c", "d", "e"]
    assert left_out == 2


def test_facet_counts_order_and_missing_values() -> None:
    entries, meta = _entries_and_meta()
    facets = facet_counts(entries, meta)
    assert facets["source"] == [{"value": "X", "count": 3}, {"value": "Y", "count": 2}]
    assert facets["category"] == [{"value": "cat", "count": 6}]
    assert facets["year"] == [{"value": "2021", "count": 3}, {"value": "2020", "count": 1}]


def test_needs_meta() -> None:
    assert not needs_meta(SearchRequest("q"))
    assert needs_meta(SearchRequest("q", sort="oldest"))
    assert needs_meta(SearchRequest("q", facets=True))
    assert needs_meta(SearchRequest("q", date_from="2020-01-01"))


# -- over HTTP on the demo index ------------------------------------------------------------------

def _dated(published: str | None) -> bool:
    return ArticleMeta("", None, None, published).day is not None


def _assert_date_order(hits: list[dict], newest: bool) -> None:
    dates = [h["published"] for h in hits if _dated(h["published"])]
    assert dates == sorted(dates, reverse=newest), dates
    flags = [_dated(h["published"]) for h in hits]
    assert flags == sorted(flags, reverse=True), "an undated hit before a dated one"


def all_hits(client, **params) -> tuple[list[dict], dict]:
    """Every hit of a search, paging with k=100; and the first page's response."""
    first = search(client, **params, k=100)
    hits = list(first["results"])
    while len(hits) < first["total"]:
        page = search(client, **params, k=100, offset=len(hits))
        assert page["total"] == first["total"] and page["results"]
        hits += page["results"]
    return hits, first


@pytest.mark.parametrize("mode", ["hybrid", "lexical"])
def test_sort_newest_and_oldest(client, mode: str) -> None:
    q = dict(q=Q_COURT, mode=mode, min_relevance=0, facets=True)  # facets: the fixed pool
    by_relevance, _ = all_hits(client, **q)
    newest, first = all_hits(client, **q, sort="newest")
    oldest, _ = all_hits(client, **q, sort="oldest")
    assert first["total"] > 20
    _assert_date_order(newest, newest=True)
    _assert_date_order(oldest, newest=False)
    # The same result set, re-ordered: the seed article (undated) is last, not first.
    ids = lambda hits: sorted(h["article_id"] for h in hits)  # noqa: E731
    assert ids(newest) == ids(oldest) == ids(by_relevance)
    seed = by_relevance[0]["article_id"]
    assert newest[-1]["article_id"] == seed == oldest[-1]["article_id"]
    assert newest[0]["published"] > newest[-2]["published"]


def test_sorted_pages_do_not_reshuffle(client) -> None:
    """A date sort orders a fixed pool: pages are slices of one list, whatever the offset."""
    q = dict(q=Q_ECON, sort="newest", min_relevance=0)
    whole = search(client, **q, k=60)
    pages = [search(client, **q, k=20, offset=o) for o in (0, 20, 40)]
    assert [h["passage_id"] for p in pages for h in p["results"]] == \
        [h["passage_id"] for h in whole["results"]]
    assert {p["total"] for p in pages} == {whole["total"]}


@pytest.mark.parametrize("params", [
    {}, {"mode": "lexical"}, {"group": False}, {"sort": "oldest"},
    {"date_from": "2021-01-01"}, {"min_relevance": 0}])
def test_facet_counts_equal_the_counts_of_all_pages(client, params: dict) -> None:
    q = dict(q=Q_ECON, facets=True, **params)
    first = search(client, **q, k=10)
    facets = first["facets"]
    assert first["total"] > 0
    assert set(facets) == {"source", "category", "year"}
    hits, whole = all_hits(client, **q)
    assert whole["total"] == first["total"] and whole["facets"] == facets
    assert len(hits) == first["total"]
    if params.get("group", True):
        assert len({h["article_id"] for h in hits}) == len(hits)
    for name, key in (("source", "source"), ("category", "category"), ("year", "published")):
        counted = Counter(h[key][:4] if name == "year" else h[key] for h in hits
                          if h[key] and (name != "year" or _dated(h[key])))
        assert {f["value"]: f["count"] for f in facets[name]} == dict(counted), name
        counts = [f["count"] for f in facets[name]]
        if name != "year":
            assert counts == sorted(counts, reverse=True)
    years = [f["value"] for f in facets["year"]]
    assert years == sorted(years, reverse=True)


def test_facets_absent_unless_asked(client) -> None:
    data = search(client, q=Q_ECON)
    assert data["facets"] is None and data["undated_excluded"] == 0


def test_seed_is_the_undated_article_a_date_filter_leaves_out(client) -> None:
    plain = search(client, q=Q_COURT, min_relevance=0)
    assert not _dated(plain["results"][0]["published"])  # the seed: no date
    filtered = search(client, q=Q_COURT, min_relevance=0, date_to="2021-12-31")
    assert filtered["undated_excluded"] == 1
    assert all(_dated(h["published"]) for h in filtered["results"])
    assert plain["results"][0]["article_id"] not in {h["article_id"] for h in filtered["results"]}


def test_has_undated(demo_index, undated_index) -> None:
    demo = IndexDB(demo_index, readonly=True)
    assert demo.has_undated(MetadataFilter())  # the seed article
    assert demo.has_undated(MetadataFilter(source="Báo Gia Lai", date_from="2020-01-01"))
    assert not demo.has_undated(MetadataFilter(source="Dân trí"))
    assert IndexDB(undated_index, readonly=True).has_undated(MetadataFilter(category="Kinh doanh"))


def test_plain_search_reads_no_metadata(client, monkeypatch) -> None:
    calls: list[int] = []
    original = IndexDB.article_meta
    monkeypatch.setattr(IndexDB, "article_meta",
                        lambda self, ids: calls.append(len(ids)) or original(self, ids))
    search(client, q=Q_ECON)
    assert calls == []
    search(client, q=Q_ECON, sort="newest")
    assert calls


@pytest.mark.parametrize("method", ["get", "post"])
def test_sort_validation(client, method: str) -> None:
    if method == "get":
        r = client.get("/search", params={"q": Q_ECON, "sort": "date"})
    else:
        r = client.post("/search", json={"q": Q_ECON, "sort": "date"})
    assert_error(r, 422, "sort")


# -- undated_excluded on an index where some articles have no usable date ------------------------

@pytest.fixture(scope="module")
def undated_index(tmp_path_factory, settings, encoder, dantri300) -> Path:
    """24 Dân trí articles; 8 of them with a missing or unusable ``published``."""
    from indexer.writer import index_articles

    articles = []
    for i, rec in enumerate(read_jsonl_head(dantri300, 24)):
        published = UNDATED[(i // 3) % len(UNDATED)] if i % 3 == 0 else rec["published"]
        articles.append(Article(id=rec["id"], title=rec["title"], text=rec["text"],
                                url=rec["url"], source=rec["source"], published=published,
                                category=rec["category"]))
    assert 6 <= sum(not _dated(a.published) for a in articles) <= 10
    directory = tmp_path_factory.mktemp("undated") / "index"
    index_articles(directory, articles, settings, encoder)
    return directory


@pytest.fixture(scope="module")
def undated_searcher(undated_index, settings, encoder):
    from search_api.retrieval import Searcher

    s = Searcher(undated_index, settings, encoder)
    yield s
    s.close()


@pytest.mark.parametrize("mode", ["hybrid", "lexical"])
@pytest.mark.parametrize("dates", [("2020-01-01", None), (None, "2020-12-31"),
                                   ("2020-10-01", "2021-12-31")])
def test_undated_excluded_counts(undated_searcher, mode: str, dates) -> None:
    """The index is small enough that every passage is a candidate, so the undated
    articles the date filter left out are exactly the undated ones an unfiltered search
    finds."""
    date_from, date_to = dates
    base = SearchRequest(Q_ECON, k=100, mode=mode, min_relevance=0.0)
    unfiltered = undated_searcher.search(base)
    expected = {h.article_id for h in unfiltered.results if not _dated(h.published)}
    assert expected
    filtered = undated_searcher.search(dataclasses.replace(base, date_from=date_from,
                                                           date_to=date_to))
    assert filtered.undated_excluded == len(expected)
    assert filtered.results
    for hit in filtered.results:
        assert _dated(hit.published)
        assert (date_from or "") <= hit.published[:10] <= (date_to or "9999")
    # A date sort over the unfiltered set puts every undated article last.
    newest = undated_searcher.search(dataclasses.replace(base, sort="newest"))
    tail = newest.results[len(newest.results) - len(expected):]
    assert {h.article_id for h in tail} == expected


# -- CLI ------------------------------------------------------------------------------------------

def test_cli_sort_and_facets_json(cli, demo_index) -> None:
    proc = cli("query", Q_COURT, "--index", demo_index, "--sort", "newest",
               "--facets", "--min-relevance", "0", "-k", "30", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    _assert_date_order(data["results"], newest=True)
    assert data["facets"]["source"][0]["count"] >= 1
    assert sum(f["count"] for f in data["facets"]["source"]) == data["total"]
    bad = cli("query", Q_COURT, "--index", demo_index, "--sort", "date")
    assert bad.returncode != 0 and "sort" in bad.stderr
