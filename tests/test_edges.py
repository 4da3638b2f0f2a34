"""The service at the network's edge (issue 27, part 3): trusted Host names, security
headers, HEAD, the start-up warnings and refusals, the header-read deadline, and article
URLs that are not http(s) links.

Against a real ``vnsearch serve`` subprocess over a five-article index (``edge_server``,
or one of its own for the header deadline) where the behaviour is the server's; TestClient
over the same index for the URL shapes.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from support import ERROR_KEYS, cli_env, serve_process

BAD_URLS = {
    "js": "javascript:alert(document.cookie)",
    "data": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "file": "file:///etc/passwd",
    "vb": " VBScript:msgbox(1)",
}
GOOD_URL = "https://baogialai.com.vn/cao-toc-quy-nhon-pleiku.html"


@pytest.fixture(scope="module")
def url_index(tmp_path_factory, settings, encoder) -> Path:
    """Five articles on one story (real model, so ``vnsearch serve`` can open it); four of
    their stored URLs are not links. Small: the module's servers start in seconds."""
    from indexer.readers import iter_inputs
    from indexer.writer import index_articles

    folder = tmp_path_factory.mktemp("urls")
    body = ("Gia Lai khởi công đường cao tốc Quy Nhơn Pleiku dài 125 km, tổng vốn "
            "hơn 43.000 tỷ đồng, dự kiến hoàn thành năm 2029. ") * 3
    rows = [{"id": key, "title": f"Cao tốc Quy Nhơn Pleiku ({key})", "text": body,
             "url": url, "source": "Báo Gia Lai", "published": "2025-07-18"}
            for key, url in [*BAD_URLS.items(), ("ok", GOOD_URL)]]
    path = folder / "articles.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                    encoding="utf-8")
    directory = folder / "index"
    index_articles(directory, iter_inputs([path]), settings, encoder)
    return directory


@pytest.fixture(scope="module")
def url_searcher(url_index, settings, encoder):
    from search_api.retrieval import Searcher

    searcher = Searcher(url_index, settings, encoder)
    yield searcher
    searcher.close()


@pytest.fixture(scope="module")
def edge_server(tmp_path_factory, settings, url_index) -> Iterator[str]:
    """A real ``vnsearch serve`` (default workers: forked when there are several cores)."""
    log = tmp_path_factory.mktemp("edge-serve") / "serve.log"
    with serve_process(settings, url_index, log) as url:
        yield url


# -- Host names (DNS rebinding) -------------------------------------------------------------

@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example",
                                  "localhost@evil.example"])
def test_foreign_host_is_refused_in_the_error_shape(edge_server, host) -> None:
    r = httpx.get(edge_server + "/search", params={"q": "giá vàng"}, headers={"Host": host})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["error"] == "invalid_host"
    assert set(r.json()["error"]) == ERROR_KEYS


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost:8000", "LOCALHOST", "[::1]:1234"])
def test_loopback_names_are_answered(edge_server, host) -> None:
    r = httpx.get(edge_server + "/health", headers={"Host": host})
    assert r.status_code == 200, r.text


def test_allowed_hosts_setting_is_the_list(settings, url_index, url_searcher) -> None:
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    listed = settings.model_copy(update={"allowed_hosts": ["search.example.vn",
                                                           "*.example.org"]})
    with TestClient(create_app(listed, url_index, searcher=url_searcher),
                    base_url="http://search.example.vn:8080") as client:
        assert client.get("/health").status_code == 200
        assert client.get("/health", headers={"Host": "a.b.example.org"}).status_code == 200
        assert client.get("/health", headers={"Host": "example.org.evil"}).status_code == 400
        assert client.get("/health", headers={"Host": "localhost"}).status_code == 400


def test_allowed_hosts_reads_a_comma_list_or_json(monkeypatch) -> None:
    from indexer.settings import Settings

    monkeypatch.setenv("VNSEARCH_ALLOWED_HOSTS", "search.example.vn, *.example.vn")
    assert Settings().allowed_hosts == ["search.example.vn", "*.example.vn"]
    monkeypatch.setenv("VNSEARCH_ALLOWED_HOSTS", '["a.vn"]')
    assert Settings().allowed_hosts == ["a.vn"]


def test_host_defaults_follow_the_bind_address() -> None:
    from indexer.settings import Settings
    from search_api.network import check_serving

    local, _ = check_serving(Settings(host="127.0.0.1"))
    assert set(local.allowed_hosts or []) >= {"127.0.0.1", "localhost", "::1"}
    assert "*" not in (local.allowed_hosts or [])
    wide, warnings = check_serving(Settings(host="0.0.0.0"))
    assert wide.allowed_hosts == ["*"]
    assert any("VNSEARCH_ALLOWED_HOSTS" in line for line in warnings)
    listed, warnings = check_serving(Settings(host="0.0.0.0", allowed_hosts=["a.vn"],
                                              admin_token=SecretStr("t")))
    assert listed.allowed_hosts == ["a.vn"] and warnings == []


# -- security headers, HEAD -----------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/search?q=gi%C3%A1+v%C3%A0ng", "/static/app.js",
                                  "/no-such-path"])
def test_security_headers_on_page_and_api(edge_server, path) -> None:
    r = httpx.get(edge_server + path)
    csp = r.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers.get("x-content-type-options") == "nosniff"
    assert r.headers.get("x-frame-options") == "DENY"
    assert r.headers.get("referrer-policy")


def test_docs_get_their_own_policy(edge_server) -> None:
    for path in ("/docs", "/redoc"):
        r = httpx.get(edge_server + path)
        assert r.status_code == 200
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" in csp


def test_the_page_has_nothing_inline() -> None:
    """What the strict policy would block: inline scripts, styles or event handlers."""
    import re

    from search_api.routers.page import STATIC_DIR

    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "<style" not in html and not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)


@pytest.mark.parametrize("path", ["/", "/health", "/search?q=gi%C3%A1+v%C3%A0ng", "/facets",
                                  "/openapi.json", "/docs"])
def test_head_on_get_routes(edge_server, path) -> None:
    got = httpx.get(edge_server + path)
    head = httpx.head(edge_server + path)
    assert head.status_code == 200 == got.status_code
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]


# -- start-up: exposure warning, token refusal ----------------------------------------------

def test_warning_when_listening_beyond_loopback_without_token() -> None:
    from indexer.settings import Settings
    from search_api.network import check_serving

    _, warnings = check_serving(Settings(host="0.0.0.0", allowed_hosts=["a.vn"]))
    assert any("VNSEARCH_ADMIN_TOKEN" in line for line in warnings)
    _, quiet = check_serving(Settings(host="127.0.0.1"))
    assert quiet == []


def test_non_ascii_admin_token_is_refused_at_start(cli, url_index) -> None:
    # The port is taken: a server that did start would stop at once instead of hanging.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proc = cli("serve", "--index", url_index, "--port", str(taken.getsockname()[1]),
                   "--workers", "1", env={"VNSEARCH_ADMIN_TOKEN": "mật-khẩu"})
    assert proc.returncode != 0
    assert "VNSEARCH_ADMIN_TOKEN must be ASCII" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


# -- the header-read deadline ---------------------------------------------------------------

@pytest.mark.slow
def test_slow_header_connections_are_closed(tmp_path, settings, url_index) -> None:
    timeout_s, slack_s, clients = 2.0, 3.0, 20
    env = cli_env(settings, VNSEARCH_HEADER_TIMEOUT_S=str(timeout_s))
    with serve_process(settings, url_index, tmp_path / "serve.log", "--workers", "1",
                       env=env) as url:
        host, port = url.removeprefix("http://").split(":")
        closed_after: list[float] = []

        def slow_client() -> None:
            started = time.monotonic()
            with socket.create_connection((host, int(port)), timeout=30) as sock:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                try:
                    while True:  # a header byte every 0.5 s, never the blank line
                        sock.sendall(b"X")
                        sock.settimeout(0.5)
                        try:
                            if sock.recv(1024) == b"":
                                break
                        except TimeoutError:
                            pass
                        if time.monotonic() - started > timeout_s + 20:
                            break
                except OSError:  # reset or broken pipe: closed by the server
                    pass
            closed_after.append(time.monotonic() - started)

        threads = [threading.Thread(target=slow_client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        r = httpx.get(url + "/search", params={"q": "giá vàng"}, timeout=30)
        assert r.status_code == 200  # the service answers while they hang on
        for thread in threads:
            thread.join(60)
    print(f"closed after {min(closed_after):.2f}-{max(closed_after):.2f} s")
    assert len(closed_after) == clients
    assert max(closed_after) < timeout_s + slack_s, closed_after
    assert min(closed_after) >= timeout_s * 0.9, closed_after


# -- URLs that are not links ----------------------------------------------------------------

@pytest.fixture(scope="module")
def url_app(settings, url_index, url_searcher):
    """TestClient over ``url_index``."""
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    with TestClient(create_app(settings, url_index, searcher=url_searcher)) as client:
        yield client


def _ids_to_urls(items: list[dict]) -> dict[str, tuple]:
    return {item["title"].rsplit("(", 1)[1].rstrip(")"): (item["url"], item["url_text"])
            for item in items}


def test_search_hits_never_carry_a_non_http_url(url_app) -> None:
    r = url_app.get("/search", params={"q": "cao tốc Quy Nhơn", "mode": "lexical", "k": 10,
                                       "min_relevance": 0, "group": "none"})
    urls = _ids_to_urls(r.json()["results"])
    assert set(urls) == {*BAD_URLS, "ok"}
    assert urls["ok"] == (GOOD_URL, None)
    for key, stored in BAD_URLS.items():
        assert urls[key] == (None, stored.strip()), key  # the reader strips it


def test_article_view_keeps_the_url_as_text(url_app) -> None:
    from search_api.mcp_server import _article_text
    from search_api.schemas import ArticleResponse

    r = url_app.get("/search", params={"q": "cao tốc", "mode": "lexical", "k": 10,
                                       "min_relevance": 0})
    article_id = next(h["article_id"] for h in r.json()["results"] if "(js)" in h["title"])
    art = url_app.get(f"/articles/{article_id}").json()
    assert art["url"] is None and art["url_text"] == BAD_URLS["js"]
    assert all(u.startswith(("http://", "https://")) for u in art["urls"])
    text = _article_text(ArticleResponse.model_validate(art))
    assert f"`{BAD_URLS['js']}`" in text and "not an http(s) link" in text


def test_retrieve_citations_flag_the_url(url_app) -> None:
    from search_api.mcp_server import _search_text
    from search_api.schemas import RetrieveResponse

    r = url_app.post("/retrieve", json={"q": "cao tốc Quy Nhơn", "mode": "lexical", "k": 10,
                                        "min_relevance": 0})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["citations"]) == 5
    for line in body["citations"]:
        if "(ok)" in line:
            assert line.endswith(GOOD_URL)
        else:
            assert "not an http(s) link" in line and "Báo Gia Lai" in line, line
            assert "— javascript:" not in line and "— data:" not in line
    for passage in body["passages"]:
        assert passage["url"] in (None, GOOD_URL)
        assert (passage["url"] is None) == (passage["url_text"] is not None)
    text = _search_text(RetrieveResponse.model_validate(body))
    assert "`javascript:alert(document.cookie)`" in text


def test_link_url_rules() -> None:
    from indexer.links import link_url, unlinked_url

    assert link_url(GOOD_URL) == GOOD_URL and link_url("HTTP://A.VN/x") == "HTTP://A.VN/x"
    for url in [*BAD_URLS.values(), "/relative/path", "//host/x", "http:javascript:1",
                "https://a.vn/\x00x", "java\tscript:alert(1)", "https://[bad"]:
        assert link_url(url) is None, url
        assert unlinked_url(url) == url
    assert unlinked_url(None) is None and unlinked_url(GOOD_URL) is None


def test_page_links_only_absolute_http() -> None:
    from search_api.routers.page import STATIC_DIR

    util = (STATIC_DIR / "util.js").read_text(encoding="utf-8")
    assert "new URL(url)" in util  # no base: a relative URL is not made a link


def test_405_allow_names_head_where_get_is(edge_server) -> None:
    r = httpx.delete(edge_server + "/health")
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
    assert httpx.head(edge_server + "/retrieve").status_code == 405  # POST only
