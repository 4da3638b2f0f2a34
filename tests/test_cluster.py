"""A set of shards answers as one index: same ranked passages, same
scores to 1e-6, for hybrid, dense and lexical, with filters and paging.

300 real Dân trí articles are indexed once as one index and once as three shards
(``--shard i/3``; embeddings come from the shared cache, so nothing is embedded twice),
``cluster.json`` sums the shards' statistics, and every query is asked of both.
"""

from __future__ import annotations

import json

import pytest
from support import copy_index

from indexer.cluster.stats import build_cluster_file, load_cluster
from indexer.readers import iter_inputs
from indexer.sharding import ShardSpec, shard_of
from indexer.writer import index_articles
from search_api.cluster.searcher import ClusterSearcher, merge_rankings
from search_api.retrieval import Searcher
from search_api.schemas import search_request

QUERIES = ["thi hành án dân sự", "Vinamilk lọt top thương hiệu", "giá vàng hôm nay",
           "tai nan giao thong", "bao hiem xa hoi", "học sinh thi tốt nghiệp", "covid-19 vắc xin"]
FILTERS = [{}, {"source": "dan tri"}, {"category": "Kinh doanh"},
           {"date_from": "2021-04-20", "date_to": "2021-04-30"}]


@pytest.fixture(scope="module")
def one_and_three(tmp_path_factory, settings, encoder, dantri300, dantri_index):
    root = tmp_path_factory.mktemp("cluster")
    # the single index: a copy of the session's dantri300 index (the same library build)
    one = copy_index(dantri_index[0], root / "one")
    shards = []
    for i in range(3):
        directory = root / f"shard-{i}"
        summary = index_articles(directory, iter_inputs([dantri300]), settings, encoder,
                                 shard=ShardSpec(i, 3))
        assert summary.added + summary.other_shard + summary.duplicates == 300
        shards.append(directory)
    cluster = build_cluster_file(shards, root / "cluster.json")
    # the single index scores lexical queries with its matrix too (same float32 BM25)
    matrix_settings = settings.model_copy(update={"lexical_matrix_min_passages": 0})
    single = Searcher(one, matrix_settings, encoder)
    assert single.wait_for_lexical(120)
    clustered = ClusterSearcher(cluster, matrix_settings, encoder)
    yield {"single": single, "cluster": clustered, "shards": shards, "file": cluster,
           "root": root}
    single.close()
    clustered.close()


def _hits(searcher, **kw) -> list[tuple]:
    result = searcher.search(search_request(min_relevance=0, **kw))
    return [(h.article_id, h.start, h.end, h.score, h.relevance, h.rank)
            for h in result.results], result.total


def _untie(hits: list[tuple]) -> list[tuple]:
    """Hits whose score and relevance are exactly equal (the learned ranker's trees give
    equal scores to candidates that fall in the same leaves) in article order: between
    them the order is the retrievers', which a set of shards may break differently."""
    out = sorted(enumerate(hits), key=lambda ih: (-ih[1][3], -ih[1][4], ih[1][0], ih[0]))
    return [(h[0], h[1], h[2], h[3], h[4], i + 1) for i, (_, h) in enumerate(out)]


def _same(a: list[tuple], b: list[tuple]) -> None:
    assert len(a) == len(b)
    a, b = _untie(a), _untie(b)
    for x, y in zip(a, b):
        assert x[0] == y[0] and x[1:3] == y[1:3] and x[5] == y[5], (x, y)
        assert abs(x[3] - y[3]) <= 1e-6 and abs(x[4] - y[4]) <= 1e-4, (x, y)


def test_shards_partition_the_articles(one_and_three) -> None:
    """Every article in exactly the shard its id hashes to; counts add up to one index's."""
    from indexer.stats import index_stats

    single = one_and_three["single"].counts()
    counts = [index_stats(d)["articles"] for d in one_and_three["shards"]]
    assert sum(counts) == single["articles"] and all(counts)
    assert load_cluster(one_and_three["file"]).stats.passages == single["passages"]
    for shard in one_and_three["cluster"]._db().shards:
        ids = [record.id for record in shard.db().iter_articles()]
        assert ids and all(shard_of(a, 3) == shard.number for a in ids)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_same_answers_as_one_index(one_and_three, mode) -> None:
    single, cluster = one_and_three["single"], one_and_three["cluster"]
    compared = 0
    for q in QUERIES:
        for filt in FILTERS:
            # Article level: these shards are written one by one (`index --shard`), whose
            # stories stay per shard; one story across shards: test_one_story_across_shards….
            for page in ({"k": 10, "group": "article"},
                         {"k": 5, "offset": 5, "group": "article"}, {"k": 10, "group": False}):
                a, total_a = _hits(single, q=q, mode=mode, **filt, **page)
                b, total_b = _hits(cluster, q=q, mode=mode, **filt, **page)
                assert total_a == total_b, (q, filt, page)
                _same(a, b)
                compared += len(a)
    assert compared > 100


def test_article_and_facets_through_the_cluster(one_and_three) -> None:
    single, cluster = one_and_three["single"], one_and_three["cluster"]
    assert cluster.facets() == single.facets()
    assert cluster.counts() == single.counts()
    hit = cluster.search(search_request(q="Vinamilk", min_relevance=0)).results[0]
    article = cluster.article(hit.article_id)
    assert article.title == hit.title and hit.passage_id in {p["id"] for p in article.passages}


def test_merge_rankings_breaks_ties_by_id() -> None:
    assert merge_rankings([[(5, 1.0), (2, 0.5)], [(3, 1.0), (9, 0.7)]], 3) == \
        [(3, 1.0), (5, 1.0), (9, 0.7)]


def test_cli_cluster_stats_and_serve_cluster(one_and_three, cli) -> None:
    out = one_and_three["root"] / "cli-cluster.json"
    proc = cli("cluster", "stats", *one_and_three["shards"], "--out", out)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["stats"]["passages"] == one_and_three["single"].counts()["passages"]
    proc = cli("serve", "--cluster", one_and_three["root"] / "missing.json")
    assert proc.returncode == 1 and "no such cluster file" in proc.stderr


class _Silent:
    """A shard that never answers (a replica gone): everything raises ShardUnavailable."""

    def __init__(self, reader) -> None:
        self.number, self.snapshot = reader.number, reader.snapshot

    def _fail(self, *args, **kwargs):
        from search_api.cluster.shard import ShardUnavailable

        raise ShardUnavailable(self.number)

    dense = lexical = _fail

    def db(self):
        return self

    def __getattr__(self, name):
        return self._fail

    def close(self) -> None:
        pass


def test_a_silent_shard_gives_a_partial_answer(one_and_three, settings, encoder) -> None:
    from search_api.cluster.shard import ShardReader

    cluster = load_cluster(one_and_three["file"])
    readers = [ShardReader(i, d, cluster.stats, encoder.info.model_id)
               for i, d in enumerate(cluster.shards)]
    searcher = ClusterSearcher(one_and_three["file"], settings, encoder,
                               shards=[readers[0], readers[1], _Silent(readers[2])])
    try:
        result = searcher.search(search_request(q="thi hành án dân sự", min_relevance=0))
        assert result.partial and result.missing_shards == [2]
        assert result.results and all(shard_of(h.article_id, 3) != 2 for h in result.results)
        full = one_and_three["cluster"].search(search_request(q="thi hành án dân sự",
                                                              min_relevance=0))
        assert not full.partial and full.missing_shards == []
    finally:
        searcher.close()
        readers[2].close()


def test_health_lists_the_shards(one_and_three, settings) -> None:
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    cluster = one_and_three["cluster"]
    with TestClient(create_app(settings, one_and_three["file"], searcher=cluster)) as client:
        health = client.get("/health").json()
        assert [s["number"] for s in health["shards"]] == [0, 1, 2]
        assert sum(s["articles"] for s in health["shards"]) == health["articles"]
        r = client.get("/search", params={"q": "Vinamilk"})
        assert r.status_code == 200 and r.json()["partial"] is False
        r = client.post("/articles", json={"articles": [{"text": "x"}]},
                        headers={"Authorization": "Bearer x"})
        assert r.status_code in (401, 403, 409)


# -- one story across shards (issue 28) ------------------------------------------------------

def _signed(records: list[dict]) -> list[tuple]:
    """(id, signature, outlet) of each record long enough to sign, in order."""
    from indexer.stories import story_signature

    signed = [(r["id"], story_signature(r["title"], r["text"]), r["source"]) for r in records]
    return [entry for entry in signed if entry[1] is not None]


def _split_stories(stories: dict[str, str], shards: int) -> int:
    """Stories with articles in more than one shard."""
    homes: dict[str, set[int]] = {}
    for aid, story in stories.items():
        homes.setdefault(story, set()).add(shard_of(aid, shards))
    return sum(len(h) > 1 for h in homes.values())


@pytest.mark.parametrize("shards", [2, 3, 5])
@pytest.mark.parametrize("order", [0, 1, 2])
def test_story_replay_equals_one_index_for_any_split(shards, order) -> None:
    """Pure (no SQLite, no Ray): shards whose writers each see their own shard, then the
    story step (``replay_in_order``) after each of two runs, give every article the story
    one index fed the same articles in the same order gives it — for several splits and
    indexing orders. Without the step (main before issue 28) they do not."""
    import random

    from storyutil import MemoryStories, story_corpus

    from indexer.stories import RunArticle, replay_in_order

    records = story_corpus()
    random.Random(order).shuffle(records)
    entries = _signed(records)
    one = MemoryStories()
    expected = {aid: one.write(aid, sig, source) for aid, sig, source in entries}
    assert len(set(expected.values())) < len(expected) - 10  # stories of 2-3 articles
    assert _split_stories(expected, shards)  # some across shards

    stores = [MemoryStories() for _ in range(shards)]
    half = len(entries) // 2
    for run in (range(half), range(half, len(entries))):
        run_articles = []
        for n in range(shards):  # each shard's writer, one after the other
            for position in run:
                aid, sig, source = entries[position]
                if shard_of(aid, shards) == n:
                    stores[n].write(aid, sig, source)
                    run_articles.append(RunArticle(position, aid, sig, source))
        per_shard = {a.article_id: stores[shard_of(a.article_id, shards)].rows[a.article_id]
                     .story_id for a in run_articles}
        replayed = replay_in_order(
            run_articles, lambda bands: [c for s in stores for c in s.candidates(bands)])
        assert per_shard != replayed or not _split_stories(replayed, shards)
        for aid, story in replayed.items():
            stores[shard_of(aid, shards)].set_story(aid, story)
    got = {aid: stores[shard_of(aid, shards)].rows[aid].story_id for aid in expected}
    assert got == expected
    alone = [MemoryStories() for _ in range(shards)]  # no story step: one story per shard
    assert {aid: alone[shard_of(aid, shards)].write(aid, sig, source)
            for aid, sig, source in entries} != expected


def test_story_members_of_several_shards_in_one_index_order() -> None:
    from indexer.db import StoryMember
    from search_api.cluster.store import newest_first

    members = [StoryMember("b", "s", None, None, "2021-04-02"),
               StoryMember("c", "s", None, None, None),
               StoryMember("a", "s", None, None, "2021-04-02"),
               StoryMember("d", "s", None, None, "2021-04-03T08:00:00"),
               StoryMember("0", "s", None, None, None)]
    assert [m.article_id for m in newest_first(members)] == ["d", "a", "b", "0", "c"]


def _story_answer(searcher, q: str) -> tuple[list[tuple], int]:
    """Hits of ``group=story``: (story id, its articles — the hit's and its ``also_in`` —,
    start, end, score, relevance, rank, hit article, ``also_in`` ids in order)."""
    result = searcher.search(search_request(q=q, group="story", k=10, min_relevance=0))
    return [(h.story_id, sorted([h.article_id, *(a.article_id for a in h.also_in)]), h.start,
             h.end, h.score, h.relevance, h.rank, h.article_id,
             [a.article_id for a in h.also_in]) for h in result.results], result.total


def _same_stories(a: list[tuple], b: list[tuple]) -> None:
    """Equal story by story. The hit's own article may differ only where two articles of
    the story tie exactly (a passage both copies share: which one the retrievers list
    first is the shards' order, as for ``_untie``); then ``also_in`` differs by it."""
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x[:4] == y[:4] and x[6] == y[6], (x, y)
        assert abs(x[4] - y[4]) <= 1e-6 and abs(x[5] - y[5]) <= 1e-4, (x, y)
        assert x[7:] == y[7:] or x[7] in y[8], (x, y)


@pytest.fixture(scope="module")
def story_split(tmp_path_factory, settings, encoder):
    """A corpus of stories from several outlets (storyutil.story_corpus) as one index and as
    3 shards written by ``cluster index``'s writing step (routing as its Ray stage does,
    without Ray), answered before and after the story step."""
    from storyutil import story_corpus, write_jsonl

    from indexer.cluster.ray_index import _Routed, unify_stories, write_shards
    from indexer.metadata.normalise import MetadataRules
    from indexer.writer import prepare, stable_article_id

    root = tmp_path_factory.mktemp("stories")
    records = story_corpus()
    corpus = write_jsonl(records, root / "stories.jsonl")
    index_articles(root / "one", iter_inputs([corpus]), settings, encoder)
    rules = MetadataRules.from_settings(settings)
    routed = _Routed([[], [], []], positions=[[], [], []])
    for position, article in enumerate(iter_inputs([corpus])):
        item = prepare(article, rules)
        n = shard_of(stable_article_id(item.article.url, item.chash), 3)
        routed.shards[n].append(article)
        routed.positions[n].append(position)
    dirs = [root / f"shard-{i}" for i in range(3)]
    summaries = write_shards(routed, dirs, settings, encoder)
    cluster = build_cluster_file(dirs, root / "cluster.json")
    matrix_settings = settings.model_copy(update={"lexical_matrix_min_passages": 0})
    # the originals that have copies (every fourth), by title or their first words
    queries = [r["title"] or " ".join(r["text"].split()[:8])
               for r in records if "-" not in r["id"][-5:]][::4]
    single = Searcher(root / "one", matrix_settings, encoder)
    assert single.wait_for_lexical(120)
    before = ClusterSearcher(cluster, matrix_settings, encoder)
    answers_before = {q: _story_answer(before, q) for q in queries}
    before.close()
    step = unify_stories(routed, dirs, summaries)
    clustered = ClusterSearcher(cluster, matrix_settings, encoder)
    yield {"single": single, "cluster": clustered, "before": answers_before, "step": step,
           "queries": queries}
    single.close()
    clustered.close()


def test_one_story_across_shards_as_one_index(story_split) -> None:
    """``group=story`` on 3 shards whose stories' articles landed in different shards: the
    same hits, scores (1e-6), story ids and ``also_in`` members as one index; before the
    story step (main before issue 28) a split story showed up once per shard."""
    single, cluster = story_split["single"], story_split["cluster"]
    assert story_split["step"].changed > 0
    differed_before = across = 0
    for q in story_split["queries"]:
        hits, total = _story_answer(single, q)
        got, got_total = _story_answer(cluster, q)
        assert got_total == total, q
        _same_stories(hits, got)
        across += any(len({shard_of(a, 3) for a in hit[1]}) > 1 for hit in hits)
        differed_before += [h[:2] for h in story_split["before"][q][0]] != [h[:2] for h in hits]
    assert across >= 3 and differed_before >= 3
