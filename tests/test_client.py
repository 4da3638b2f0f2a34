"""The Python client (search_api.client) and the LangChain retriever (search_api.langchain)
against a real ``vnsearch serve`` subprocess on 127.0.0.1 over the demo index (seed article +
300 Dân trí articles, real model). One server for the session (conftest's ``demo_server``);
stopped by its PID.
"""

from __future__ import annotations

import httpx
import pytest
from support import free_port

SEED_QUESTION = "Gia Lai thi hành án dân sự đạt bao nhiêu phần trăm"
SEED_TITLE_PART = "Thi hành án dân sự tỉnh phải bứt phá"
ANSWER = "63,57"


@pytest.fixture(scope="module")
def base_url(demo_server):
    """The session's real ``vnsearch serve`` subprocess over demo_index (conftest)."""
    return demo_server


@pytest.fixture(scope="module")
def api(base_url):
    from search_api.client import VnsearchClient

    with VnsearchClient(base_url) as client:
        yield client


def test_health(api) -> None:
    health = api.health()
    assert health.status == "ok"
    assert health.articles == 301 and health.passages > 301
    assert health.model_id and health.dimension > 0


def test_search_typed_hits(api) -> None:
    result = api.search("thi hành án dân sự Gia Lai", k=3)
    assert result.query == "thi hành án dân sự Gia Lai"
    assert 1 <= len(result.results) <= 3 and result.total >= len(result.results)
    top = result.results[0]
    assert SEED_TITLE_PART in (top.title or "")
    assert top.rank == 1 and isinstance(top.passage_id, int) and 0 <= top.relevance <= 1
    # parameters pass through as the API's own names
    flat = api.search(SEED_QUESTION, k=5, group=False, source="Báo Gia Lai")
    assert flat.results and {h.source for h in flat.results} == {"Báo Gia Lai"}
    assert any(ANSWER in h.text for h in flat.results)


def test_retrieve_typed_passages(api) -> None:
    result = api.retrieve(SEED_QUESTION, k=3, max_chars=3000)
    assert result.passages and len(result.passages) <= 3
    assert sum(len(p.text) for p in result.passages) <= 3000
    assert len(result.citations) >= 1 and result.context.startswith("[1]")
    first = result.passages[0]
    assert first.citation == 1 and first.article_id and isinstance(first.passage_id, int)
    assert SEED_TITLE_PART in (first.title or "")
    # passage level: the seed's answer passage is among the k=3
    assert any(ANSWER in p.text for p in result.passages), [p.text[:80] for p in result.passages]
    assert all(p.tokens and p.tokens > 0 and 0 <= p.relevance <= 1 for p in result.passages)


def test_retrieve_parameters_pass_through(api) -> None:
    from search_api.client import VnsearchClientError

    budget = api.retrieve(SEED_QUESTION, k=5, max_tokens=120)
    assert budget.passages and sum(p.tokens for p in budget.passages) == budget.tokens <= 120
    only = api.retrieve("thi hành án dân sự", k=3, source="Dân trí (dantri.com.vn)")
    assert only.passages and {p.source for p in only.passages} == {"Dân trí"}  # canonical name
    with pytest.raises(VnsearchClientError) as err:  # a typo is not silently ignored
        api.retrieve(SEED_QUESTION, neighbors=1)
    assert (err.value.kind, err.value.status, err.value.field) == ("invalid_request", 422,
                                                                   "neighbors")


def test_retrieve_falls_back_to_query_on_an_older_server() -> None:
    import json

    from search_api.client import VnsearchClient

    seen = []

    def old_server(request: httpx.Request) -> httpx.Response:  # pre-issue-13 /retrieve
        body = json.loads(request.content)
        seen.append(sorted(body))
        if "query" not in body:
            return httpx.Response(422, json={"error": {
                "status": 422, "error": "invalid_request", "message": "query: Field required",
                "field": "query"}})
        return httpx.Response(200, json={
            "query": body["query"], "took_ms": 1.0, "citations": ["[1] t — u"], "context": "[1] x",
            "passages": [{"citation": 1, "text": "x", "article_id": "a", "title": "t",
                          "url": "u", "source": None, "published": None, "score": 0.5}]})

    with VnsearchClient("http://old", transport=httpx.MockTransport(old_server)) as old:
        result = old.retrieve("câu hỏi", k=2)
    assert seen == [["k", "q"], ["k", "query"]]
    assert result.passages[0].passage_id is None and result.passages[0].score == 0.5


def test_article(api) -> None:
    seed_id = api.search("thi hành án dân sự Gia Lai", k=1).results[0].article_id
    article = api.article(seed_id)
    assert article.id == seed_id and ANSWER in article.text
    assert article.passages and article.passages[0].start == 0
    assert all(0 <= p.start < p.end <= len(article.text) for p in article.passages)


def test_api_errors_carry_kind_status_message(api) -> None:
    from search_api.client import VnsearchClientError

    with pytest.raises(VnsearchClientError) as err:
        api.search("Gia Lai", k=0)
    assert (err.value.kind, err.value.status, err.value.field) == ("invalid_request", 422, "k")
    assert "k" in err.value.message
    with pytest.raises(VnsearchClientError) as err:
        api.retrieve("Gia Lai", k=0)
    assert (err.value.kind, err.value.status) == ("invalid_request", 422)
    with pytest.raises(VnsearchClientError) as err:
        api.article("no-such-article")
    assert (err.value.kind, err.value.status) == ("not_found", 404)


def test_client_side_failures_are_client_errors() -> None:
    from search_api.client import VnsearchClient, VnsearchClientError

    with VnsearchClient(f"http://127.0.0.1:{free_port()}", timeout=5) as dead:
        with pytest.raises(VnsearchClientError) as err:
            dead.health()
    assert err.value.kind == "connection_error" and err.value.status is None

    def proxy(request: httpx.Request) -> httpx.Response:  # not the API's error shape
        return httpx.Response(502, text="<html>Bad Gateway</html>")

    with VnsearchClient("http://x", transport=httpx.MockTransport(proxy)) as behind:
        with pytest.raises(VnsearchClientError) as err:
            behind.search("a")
    assert (err.value.kind, err.value.status) == ("http_error", 502)


def test_models_tolerate_new_fields() -> None:
    from search_api.client import RetrieveResult

    answer = {"query": "q", "took_ms": 1.0, "citations": ["[1] t — u"], "context": "[1] x",
              "budget": {"max_tokens": 10}, "passages": [
                  {"citation": 1, "text": "x", "article_id": "a", "neighbour": True}]}
    result = RetrieveResult.model_validate(answer)
    assert result.passages[0].text == "x" and result.passages[0].neighbour is True
    assert result.budget == {"max_tokens": 10}


def test_langchain_retriever_returns_the_seed_answer(base_url) -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.documents import Document

    from search_api.langchain import METADATA_FIELDS, VnsearchRetriever

    retriever = VnsearchRetriever(base_url=base_url, k=3, max_chars=4000)
    assert retriever.params == {"max_chars": 4000}
    docs = retriever.invoke(SEED_QUESTION)
    assert docs and len(docs) <= 3 and all(isinstance(d, Document) for d in docs)
    for doc in docs:
        assert set(METADATA_FIELDS) <= set(doc.metadata)
        assert doc.page_content and doc.metadata["article_id"]
    assert [d.metadata["citation"] for d in docs][0] == 1
    assert SEED_TITLE_PART in (docs[0].metadata["title"] or "")
    assert any(ANSWER in d.page_content for d in docs)  # the passage that answers
    assert all(d.id == str(d.metadata["passage_id"]) for d in docs)
    print("\n".join(f"{d.metadata['citation']} {d.metadata['passage_id']} "
                    f"{d.metadata['relevance']} {ANSWER in d.page_content} {d.page_content[:60]}"
                    for d in docs))


def test_langchain_retriever_passes_filters(base_url) -> None:
    pytest.importorskip("langchain_core")
    from search_api.langchain import VnsearchRetriever

    retriever = VnsearchRetriever(base_url=base_url, k=2, source="Dân trí (dantri.com.vn)")
    docs = retriever.invoke("thi hành án dân sự")
    assert docs and {d.metadata["source"] for d in docs} == {"Dân trí"}  # canonical name
    import asyncio  # ainvoke: LangChain runs the sync call in an executor

    again = asyncio.run(retriever.ainvoke("thi hành án dân sự"))
    assert [d.id for d in again] == [d.id for d in docs]
