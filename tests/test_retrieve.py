"""``POST /retrieve`` for chatbots: answer passages, neighbours, budgets, the q/query alias,
and unknown fields refused on every POST body — on the session's demo index (seed + 300
Dân trí articles, real model)."""

from __future__ import annotations

import json
import shutil

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from support import SHARED, needs_shared

from search_api.app import create_app

SEED_QUESTION = "Gia Lai thi hành án dân sự đạt bao nhiêu phần trăm"
SEED_ANSWER = "63,57"
VINAMILK = "Vinamilk thương hiệu hàng đầu châu Á"
ADMIN_TOKEN = "retrieve-test-token"


def retrieve(client, **body) -> dict:
    r = client.post("/retrieve", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def token_count(searcher, text: str) -> int:
    """The count the endpoint promises: the index model's own tokenizer, prompt and specials
    off (the torch backend in the suite, the ONNX one in the server: the same tokenizer)."""
    tokenizer = searcher.encoder.sentence_transformer.tokenizer
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def test_seed_question_returns_the_answer_passage(client) -> None:
    data = retrieve(client, q=SEED_QUESTION, k=3)
    assert any(SEED_ANSWER in p["text"] for p in data["passages"]), data["passages"]
    assert SEED_ANSWER in data["context"]
    p = next(p for p in data["passages"] if SEED_ANSWER in p["text"])
    for key in ("passage_id", "article_id", "title", "url", "source", "published", "relevance",
                "tokens"):
        assert key in p
    assert p["source"] == "Báo Gia Lai" and not p["neighbour"] and p["hit_rank"] >= 1


def test_passages_of_one_article_share_a_citation_in_reading_order(client, searcher) -> None:
    data = retrieve(client, q=SEED_QUESTION, k=6, per_article=3, neighbours=1)
    seen: list[str] = []
    for p in data["passages"]:
        if not seen or seen[-1] != p["article_id"]:
            assert p["article_id"] not in seen  # an article's passages come together
            seen.append(p["article_id"])
        assert p["citation"] == len(seen)
    assert len(data["citations"]) == len(seen)
    for article_id in seen:
        ordinals = [p["ordinal"] for p in data["passages"] if p["article_id"] == article_id]
        assert ordinals == sorted(ordinals)


@pytest.mark.parametrize("max_tokens", [1, 30, 120, 400])
def test_token_budget_holds_exactly(client, searcher, max_tokens: int) -> None:
    data = retrieve(client, q=SEED_QUESTION, k=8, neighbours=2, max_tokens=max_tokens,
                    max_chars=100_000)
    total = 0
    for p in data["passages"]:
        assert p["tokens"] == token_count(searcher, p["text"])
        total += p["tokens"]
    assert total == data["tokens"] <= max_tokens
    if max_tokens >= 30:
        assert data["passages"]


def test_tighter_budget_wins(client) -> None:
    loose_tokens = retrieve(client, q=VINAMILK, k=5, max_tokens=5000, max_chars=300)
    assert sum(len(p["text"]) for p in loose_tokens["passages"]) <= 300
    loose_chars = retrieve(client, q=VINAMILK, k=5, max_tokens=60, max_chars=100_000)
    assert loose_chars["tokens"] <= 60


def test_neighbours_are_contiguous_and_marked(client, searcher) -> None:
    data = retrieve(client, q=SEED_QUESTION, k=2, neighbours=2, max_chars=100_000)
    hits = [p for p in data["passages"] if not p["neighbour"]]
    assert hits and len(data["passages"]) > len(hits)
    by_article: dict[str, list[dict]] = {}
    for p in data["passages"]:
        by_article.setdefault(p["article_id"], []).append(p)
    for article_id, passages in by_article.items():
        ordinals = [p["ordinal"] for p in passages]
        assert ordinals == sorted(ordinals) and len(set(ordinals)) == len(ordinals)
        view = searcher.article(article_id)
        spans = {s["ordinal"]: s for s in view.passages}
        for p in passages:  # the neighbour's text is its passage
            span = spans[p["ordinal"]]
            assert p["passage_id"] == span["id"]
            assert p["text"] == view.text[span["start"]:span["end"]]
        for p in passages:  # every neighbour sits within 2 of a hit, with no hole between
            if p["neighbour"]:
                near = [h["ordinal"] for h in passages if not h["neighbour"]
                        and abs(h["ordinal"] - p["ordinal"]) <= 2]
                assert near, p
                lo, hi = sorted((near[0], p["ordinal"]))
                assert set(range(lo, hi + 1)) <= set(ordinals)
    # touching passages are joined in one block under one [n]
    assert data["context"].count("[1] ") == 1


def expected_context(passages: list[dict]) -> str:
    """The context the passages make: an article's passages under its [n], adjacent ones
    (ordinals differing by 1) joined by a newline, any other two separated by a line …"""
    blocks: list[str] = []
    for n in dict.fromkeys(p["citation"] for p in passages):
        mine = [p for p in passages if p["citation"] == n]
        block = f"[{n}] {mine[0]['text']}"
        for prev, cur in zip(mine, mine[1:]):
            block += ("\n" if cur["ordinal"] == prev["ordinal"] + 1 else "\n…\n") + cur["text"]
        blocks.append(block)
    return "\n\n".join(blocks)


def test_ordinals_without_neighbours_and_no_gap_between_adjacent_hits(client, searcher) -> None:
    """Without ``neighbours`` every passage still carries its place in the article, and two
    hits that follow each other in one article are joined without a gap mark."""
    data = retrieve(client, q=SEED_QUESTION, k=20, per_article=20, max_chars=100_000)
    assert data["passages"]
    for p in data["passages"]:
        spans = {s["id"]: s["ordinal"] for s in searcher.article(p["article_id"]).passages}
        assert p["ordinal"] == spans[p["passage_id"]], p
        assert not p["neighbour"]
    assert data["context"] == expected_context(data["passages"])
    adjacent = [(a["passage_id"], b["passage_id"])
                for a, b in zip(data["passages"], data["passages"][1:])
                if a["article_id"] == b["article_id"] and b["ordinal"] == a["ordinal"] + 1]
    assert adjacent, [(p["article_id"], p["ordinal"]) for p in data["passages"]]
    with_gap = [(a, b) for a, b in zip(data["passages"], data["passages"][1:])
                if a["article_id"] == b["article_id"] and b["ordinal"] > a["ordinal"] + 1]
    assert data["context"].count("\n…\n") == len(with_gap)


def test_per_article_caps_hits(client) -> None:
    for cap in (1, 2):
        data = retrieve(client, q=SEED_QUESTION, k=6, per_article=cap)
        counts: dict[str, int] = {}
        for p in data["passages"]:
            counts[p["article_id"]] = counts.get(p["article_id"], 0) + 1
        assert max(counts.values()) <= cap


def test_group_true_gives_one_passage_per_article(client) -> None:
    data = retrieve(client, q=SEED_QUESTION, k=3, group=True)
    ids = [p["article_id"] for p in data["passages"]]
    assert len(ids) == len(set(ids))


def test_filters_apply(client) -> None:
    data = retrieve(client, q=SEED_QUESTION, k=5, source="Báo Gia Lai", min_relevance=0)
    assert data["passages"] and {p["source"] for p in data["passages"]} == {"Báo Gia Lai"}
    assert retrieve(client, q=SEED_QUESTION, source="nowhere")["passages"] == []


def test_q_and_query_alias(client) -> None:
    a = retrieve(client, q=SEED_QUESTION, k=3)
    b = retrieve(client, query=SEED_QUESTION, k=3)
    assert [p["passage_id"] for p in a["passages"]] == [p["passage_id"] for p in b["passages"]]
    r = client.post("/retrieve", json={"q": SEED_QUESTION, "query": SEED_QUESTION})
    assert r.status_code == 422 and r.json()["error"]["field"] == "query"
    r = client.post("/retrieve", json={"k": 3})
    assert r.status_code == 422 and r.json()["error"]["field"] == "q"


@pytest.mark.parametrize("body, field", [
    ({"q": "x", "neighbours": 3}, "neighbours"),
    ({"q": "x", "max_tokens": 0}, "max_tokens"),
    ({"q": "x", "per_article": 0}, "per_article"),
    ({"q": ""}, "q"),
])
def test_retrieve_bounds(client, body: dict, field: str) -> None:
    r = client.post("/retrieve", json=body)
    assert r.status_code == 422 and r.json()["error"]["field"] == field, r.text


@pytest.fixture(scope="module")
def writable_client(tmp_path_factory, settings, demo_index, encoder):
    """The app over a copy of the demo index with writes on (bodies are refused anyway)."""
    from search_api.retrieval import Searcher

    copy = tmp_path_factory.mktemp("retrieve") / "index"
    shutil.copytree(demo_index, copy)
    app_settings = settings.model_copy(update={"admin_token": SecretStr(ADMIN_TOKEN)})
    searcher = Searcher(copy, app_settings, encoder)
    with TestClient(create_app(app_settings, copy, searcher=searcher)) as c:
        yield c
    searcher.close()


@pytest.mark.parametrize("path, body", [
    ("/search", {"q": SEED_QUESTION, "grup": False}),
    ("/retrieve", {"q": SEED_QUESTION, "grup": False}),
    ("/articles", {"text": "Một bài báo.", "titel": "x"}),
    ("/articles", {"articles": [{"text": "Một bài báo."}], "extra": 1}),
    ("/articles", {"articles": [{"text": "Một bài báo.", "autor": "x"}]}),
])
def test_unknown_fields_are_422(writable_client, path: str, body: dict) -> None:
    r = writable_client.post(path, json=body,
                             headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert set(err) == {"status", "error", "message", "field", "request_id"} and err["status"] == 422


@needs_shared
def test_eval_answer_recall_of_both_endpoints(settings, encoder, tmp_path) -> None:
    """``answer_recall@k`` on a 15-article slice of vinewsqa-dev, for each endpoint."""
    from search_api.quality.evaluation import run_eval

    eval_dir = SHARED / "data" / "eval"
    docs = [json.loads(line) for line in
            (eval_dir / "vinewsqa-dev.corpus.jsonl").open(encoding="utf-8")][:15]
    ids = {d["id"] for d in docs}
    queries = [json.loads(line)
               for line in (eval_dir / "vinewsqa-dev.jsonl").open(encoding="utf-8")]
    queries = [q for q in queries if set(q["relevant"]) <= ids][:30]
    corpus, qfile = tmp_path / "corpus.jsonl", tmp_path / "queries.jsonl"
    corpus.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), "utf-8")
    qfile.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries), "utf-8")
    got = {}
    for endpoint in ("search", "retrieve"):
        row = run_eval(qfile, corpus, [], settings, modes=["lexical"], index_dir=tmp_path / "i",
                       progress=False, encoder=encoder, endpoint=endpoint).pop().as_json()
        assert row["endpoint"] == endpoint
        got[endpoint] = row["answer_recall@5"]
        assert 0.0 < got[endpoint] <= 1.0
    assert got["retrieve"] >= got["search"] - 0.05  # passage level does not lose answers
