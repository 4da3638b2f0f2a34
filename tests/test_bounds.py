"""Bounded requests and bounded articles (issue 27, part 1).

* The body limit counts a *chunked* body while it is read: 413 early, the worker's memory
  does not grow, the client is not read to the end (a real ``vnsearch serve``).
* A write route checks the admin token before reading any of the body (real server).
* The API refuses an article over ``max_article_chars`` (one error shape, field ``text``);
  ``vnsearch index`` keeps its first ``max_article_chars`` and says so in one line.
* No passage is longer than the chunker's character limit, whatever its words (a 4.9 MB
  base64 "word"), through the chunker and through the writer; so a hit's text is a passage,
  never a whole article.

Model-free where a model is not needed: an index of the fake encoder, searched with it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import select
import socket
import sqlite3
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from support import ERROR_KEYS, FakeEncoder, cli_env, invoke_cli, serve_process

from indexer.article import Article
from indexer.chunking import ChunkSettings, chunk_text
from indexer.layout import DATABASE
from indexer.settings import Settings

TOKEN = "bounds-test-token"
MB = 1 << 20
#: A 4.9 MB article that is one "word" (a base64 blob pasted into a CMS), after a lead.
LEAD = "Giá cà phê Quixblat tăng mạnh tại Gia Lai trong tuần qua."
BLOB = "QUJD" * (4_900_000 // 4)


def assert_error(resp, status: int, field: str | None = None) -> dict:
    """The one error shape, with ``status`` (and ``field`` when given)."""
    assert resp.status_code == status, resp.text[:300]
    error = resp.json()["error"]
    assert set(error) == ERROR_KEYS and error["status"] == status
    if field is not None:
        assert error["field"] == field, error
    return error


# -- the chunker and the writer ------------------------------------------------------------------

def test_one_word_article_cut_to_char_limit() -> None:
    text = f"{LEAD}\n\n{BLOB}\n\nKết thúc."
    settings = ChunkSettings()
    passages = chunk_text(text, settings, FakeEncoder().count_tokens, 500)
    limit = settings.char_limit
    assert limit == 12 * settings.max_words
    assert max(len(p.text) for p in passages) <= limit
    assert all(p.text == text[p.start:p.end] for p in passages)
    # nothing lost: the pieces of the blob cover it, in order
    assert "".join(p.text for p in passages if p.text.startswith("QUJD")) == BLOB
    # an explicit limit wins; a span of short words over it is cut at a word boundary
    words = chunk_text(("ab " * 400).strip(), ChunkSettings(max_words=1000, max_chars=100))
    assert max(len(p.text) for p in words) <= 100 and all(p.text.endswith("ab") for p in words)


def test_tokens_over_limit_in_one_word_are_halved() -> None:
    """The token bound holds for one word too (it used to give up on a single word)."""
    passages = chunk_text("x" * 1000, ChunkSettings(max_chars=5000), lambda t: len(t) // 10, 20)
    assert passages and max(len(p.text) for p in passages) <= 200


@pytest.fixture(scope="module")
def fake_index(tmp_path_factory) -> Path:
    """A fake-encoder index holding a few short articles and the 4.9 MB one-word article,
    written through the real writer."""
    from indexer.writer import IndexWriter

    directory = tmp_path_factory.mktemp("bounds") / "index"
    settings = Settings(home=directory.parent / "home")
    articles = [Article(id=f"short-{i}", title=f"Tin số {i}", url=f"https://example.vn/{i}",
                        text=f"Tin số {i}: giá cà phê và hồ tiêu tại Gia Lai hôm nay.")
                for i in range(3)]
    articles.append(Article(id="blob", title="Bài có tệp đính kèm", url="https://example.vn/b",
                            text=f"{LEAD}\n\n{BLOB}"))
    with IndexWriter(directory, settings, FakeEncoder()) as writer:
        writer.add_articles(articles)
    return directory


def test_writer_stores_no_passage_over_char_limit(fake_index) -> None:
    limit = ChunkSettings().char_limit
    with sqlite3.connect(fake_index / DATABASE) as conn:
        longest, count = conn.execute("SELECT max(length(text)), count(*) FROM passages").fetchone()
        recorded = json.loads((fake_index / "manifest.json").read_text())["chunking"]
    assert longest <= limit and count > len(BLOB) // limit
    assert recorded["max_chars"] == limit  # recorded: a later run chunks the same way


# -- the API (TestClient, fake encoder) ----------------------------------------------------------

@pytest.fixture(scope="module")
def api(fake_index):
    from fastapi.testclient import TestClient

    from search_api.app import create_app
    from search_api.retrieval import Searcher

    settings = Settings(home=fake_index.parent / "home", admin_token=TOKEN)
    searcher = Searcher(fake_index, settings, FakeEncoder())
    with TestClient(create_app(settings, fake_index, searcher=searcher)) as client:
        yield client


def test_hit_text_is_a_passage_never_the_article(api) -> None:
    limit = ChunkSettings().char_limit
    seen = 0
    for params in ({"q": "Quixblat", "mode": "lexical"}, {"q": "cà phê Gia Lai", "k": 100},
                   {"q": "QUJDQUJD", "mode": "dense", "k": 100, "min_relevance": 0}):
        resp = api.get("/search", params=params)
        assert resp.status_code == 200, resp.text[:300]
        for hit in resp.json()["results"]:
            seen += 1
            assert len(hit["text"]) <= limit and hit["text"] == hit["text"][:limit]
            assert hit["end"] - hit["start"] == len(hit["text"])
        assert len(resp.content) < 100 * limit  # a page of passages, not an article
    assert seen


def test_api_refuses_article_over_max_chars(api) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    long_text = "chữ " * 50_001  # 200,004 characters: just over the default 200,000
    article = {"title": "Quá dài", "text": long_text, "url": "https://example.vn/long"}
    error = assert_error(api.post("/articles", json=article, headers=auth), 422, "text")
    assert "200,004 characters, at most 200,000" in error["message"]
    short = {"title": "Ngắn", "text": "Một bài ngắn.", "url": "https://example.vn/ok"}
    error = assert_error(api.post("/articles", json={"articles": [short, article]},
                                  headers=auth), 422, "text")
    assert error["message"].startswith("articles[1].text:")
    hits = api.get("/search", params={"q": "Quá dài", "mode": "lexical"}).json()["results"]
    assert all(h["url"] != article["url"] for h in hits)  # nothing was written
    text_schema = api.get("/openapi.json").json()["components"]["schemas"]["ArticleIn"][
        "properties"]["text"]
    assert text_schema["maxLength"] == 200_000 and "200000 characters" in \
        text_schema["description"].replace(",", "")


def test_token_answers_unchanged(api) -> None:
    """The token check moved before the body: the same statuses and messages as before."""
    body = {"title": "x", "text": "y"}
    assert assert_error(api.post("/articles", json=body), 401)["message"] == \
        "missing 'Authorization: Bearer <token>' header"
    assert assert_error(api.post("/articles", json=body,
                                 headers={"Authorization": "Bearer nope"}), 403)["message"] \
        == "wrong admin token"
    assert_error(api.delete("/articles/x", headers={"Authorization": "Basic x"}), 401)
    # not a write route: no token needed, and a GET of the same path is not guarded
    assert api.get("/articles/short-0").status_code in (200, 404)


def test_body_limit_counts_chunked_body_in_process(fake_index) -> None:
    """TestClient sends a generator body as one message: still counted (no Content-Length)."""
    from fastapi.testclient import TestClient

    from search_api.app import create_app
    from search_api.retrieval import Searcher

    settings = Settings(home=fake_index.parent / "home", max_body_bytes=1000)
    app = create_app(settings, fake_index, searcher=Searcher(fake_index, settings, FakeEncoder()))
    with TestClient(app) as client:
        def body():
            yield b'{"q": "'
            yield b"a" * 5000
            yield b'"}'
        error = assert_error(client.post("/search", content=body(),
                                         headers={"Content-Type": "application/json"}), 413)
        assert error["message"] == "request body over 1000 bytes"
        assert_error(client.post("/search", content=b"{}",
                                 headers={"Content-Length": "x"}), 400)
        assert client.post("/search", json={"q": "cà phê", "mode": "lexical"}).status_code == 200


# -- the CLI: truncated, said once, never aborted ------------------------------------------------

def test_cli_truncates_long_article_with_one_line(tmp_path, monkeypatch) -> None:
    import indexer.encoders

    monkeypatch.setattr(indexer.encoders, "create_encoder", lambda settings: FakeEncoder())
    src = tmp_path / "in.jsonl"
    rows = [{"id": "long", "title": "Dài", "text": "chữ " * 3000},
            {"id": "blob", "title": "Blob", "text": f"{LEAD}\n\n{BLOB}"},
            {"id": "short", "title": "Ngắn", "text": "Một bài ngắn về cà phê."}]
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    settings = Settings(home=tmp_path / "home")
    result = invoke_cli(settings, "index", src, "--index", tmp_path / "idx", "--quiet",
                        env={"VNSEARCH_MAX_ARTICLE_CHARS": "5000"})
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if "truncated" in line]
    assert len(notes) == 2, result.stderr
    assert f"kept the first 5,000 of {len(BLOB) + len(LEAD) + 2:,} characters" in notes[1]
    assert all(n.startswith("vnsearch: truncated ") and "VNSEARCH_MAX_ARTICLE_CHARS" in n
               for n in notes)
    assert "articles: 3 added" in result.stdout
    with sqlite3.connect(tmp_path / "idx" / DATABASE) as conn:
        assert conn.execute("SELECT max(length(text)) FROM articles").fetchone()[0] <= 5000


# -- a real server: chunked bodies ---------------------------------------------------------------

@pytest.fixture(scope="module")
def real_server(tmp_path_factory, settings, repo_index):
    """``vnsearch serve --workers 1`` (the requests are handled by the process started) with
    writes on; yields (base URL, pid)."""
    log = tmp_path_factory.mktemp("bounds-serve") / "serve.log"
    env = cli_env(settings, VNSEARCH_ADMIN_TOKEN=TOKEN)
    with serve_process(settings, repo_index, log, "--workers", "1", env=env) as url:
        yield url, _server_pid(url)


def _server_pid(url: str) -> int:
    """The pid of the process listening on the URL's port (from /proc/net/tcp's inode)."""
    import os

    port = urlsplit(url).port
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":  # LISTEN
            inodes.add(fields[9])
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(pid)
        except OSError:
            continue
    raise AssertionError(f"no process listens on port {port}")


def _vm_hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def _chunked(url: str, path: str, chunks: int, chunk_bytes: int = MB,
             headers: dict[str, str] | None = None) -> tuple[int, dict, int]:
    """POST a chunked body of ``chunks`` pieces, stopping as soon as the server answers;
    (status, JSON answer, body bytes sent)."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    head = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", "Content-Type: application/json",
            "Transfer-Encoding: chunked", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    sent = 0
    piece = b"a" * chunk_bytes
    for i in range(chunks):
        if select.select([sock], [], [], 0.02)[0]:
            break  # the server has answered: stop sending
        data = b'{"q": "' + piece[7:] if i == 0 else piece
        try:
            sock.sendall(b"%x\r\n%b\r\n" % (len(data), data))
        except OSError:  # the server closed the connection after its answer
            break
        sent += len(data)
    else:
        with contextlib.suppress(OSError):  # all sent (a server that reads it all): end it
            sock.sendall(b"0\r\n\r\n")
    response = http.client.HTTPResponse(sock)
    response.begin()
    answer = json.loads(response.read())
    sock.close()
    return response.status, answer, sent


def test_chunked_200mb_search_refused_early_with_flat_memory(real_server) -> None:
    url, pid = real_server
    _chunked(url, "/search", 8)  # warm-up: whatever a first refusal allocates
    before = _vm_hwm_kb(pid)
    status, answer, sent = _chunked(url, "/search", 200)
    grown_mb = (_vm_hwm_kb(pid) - before) / 1024
    assert sent < 50 * MB, f"the client was read to {sent / MB:.0f} MB"
    assert grown_mb <= 10, f"worker peak RSS grew {grown_mb:.0f} MB"
    assert status == 413 and answer["error"]["error"] == "payload_too_large", answer
    print(f"200 MB chunked: {sent / MB:.0f} MB sent, peak RSS +{grown_mb:.1f} MB")


@pytest.mark.parametrize(("headers", "status"), [({}, 401), ({"Authorization": "Bearer no"}, 403)])
def test_unauthenticated_chunked_write_answered_before_body(real_server, headers, status) -> None:
    url, _ = real_server
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    head = ["POST /articles HTTP/1.1", f"Host: {parts.netloc}", "Content-Type: application/json",
            "Transfer-Encoding: chunked", *(f"{k}: {v}" for k, v in headers.items())]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + b"5\r\n{\"tex\r\n")
    started = time.monotonic()
    response = http.client.HTTPResponse(sock)
    response.begin()  # no more of the body is ever sent: the answer must come anyway
    error = json.loads(response.read())["error"]
    sock.close()
    assert response.status == status and error["status"] == status
    assert time.monotonic() - started < 10
