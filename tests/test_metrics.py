"""Issue 27, part 4, "Operators' view": ``GET /metrics`` (Prometheus, every worker's counts
added up), one JSON log line per request on stderr, and a request id in ``X-Request-ID`` and
in every error body."""

from __future__ import annotations

import json
import os
import re
import signal
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support import cli_env, copy_index, serve_process

NONSENSE = "zqxjkvbw"  # no such word in the demo corpus: a lexical search finds nothing
QUERY = "thi hành án dân sự Gia Lai"
TOKEN = "adm1n"
ARTICLE = {"title": "Hợp tác xã Zorbavel mở rộng vùng trồng bưởi da xanh",
           "text": "Hợp tác xã Zorbavel vừa mở rộng thêm năm mươi héc ta trồng bưởi da xanh.",
           "url": "https://example.vn/zorbavel-metrics", "source": "example.vn"}


def families(text: str) -> dict[str, list]:
    """The scrape's samples by metric family name (parsed by prometheus-client itself)."""
    from prometheus_client.parser import text_string_to_metric_families

    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def value(fams: dict[str, list], sample: str, **labels: str) -> float:
    """The sum of the samples ``sample`` with ``labels`` (and any others; 0 when none)."""
    family = re.sub(r"_(total|count|sum|bucket)$", "", sample)
    return sum(s.value for s in fams.get(family, [])
               if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()))


@pytest.fixture(scope="module")
def app_client(settings, repo_index, repo_searcher):
    """A fresh app (its own metrics) over the repository's demo index, plus a route with a
    bug (``/boom``) for the 500 answer; server errors come back as their answers."""
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    app = create_app(settings, repo_index, searcher=repo_searcher)

    async def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_metrics_count_requests_searches_and_the_index(app_client, repo_searcher) -> None:
    before = families(app_client.get("/metrics").text)
    for q in (QUERY, "Gia Lai"):
        assert app_client.get("/search", params={"q": q}).status_code == 200
    empty = app_client.get("/search", params={"q": NONSENSE, "mode": "lexical"})
    assert empty.status_code == 200 and empty.json()["total"] == 0
    assert app_client.post("/search", json={"q": QUERY, "mode": "dense"}).status_code == 200
    assert app_client.get("/search", params={"q": QUERY, "k": 0}).status_code == 422
    assert app_client.get("/articles/no-such-article").status_code == 404
    assert app_client.get("/no/such/path").status_code == 404
    fams = families(app_client.get("/metrics").text)

    def delta(sample: str, **labels: str) -> float:
        return value(fams, sample, **labels) - value(before, sample, **labels)

    requests = "vnsearch_http_requests_total"
    assert delta(requests, method="GET", route="/search", status="200") == 3
    assert delta(requests, method="POST", route="/search", status="200") == 1
    assert delta(requests, method="GET", route="/search", status="422") == 1
    # the route's template, not the raw path
    assert delta(requests, method="GET", route="/articles/{article_id}", status="404") == 1
    assert delta(requests, method="GET", route="(unmatched)", status="404") == 1
    assert delta(requests, method="GET", route="/metrics", status="200") == 1  # the first scrape
    latency = "vnsearch_http_request_duration_seconds_count"
    assert delta(latency, route="/search", mode="hybrid") == 2
    assert delta(latency, route="/search", mode="lexical") == 1
    assert delta(latency, route="/search", mode="dense") == 1
    assert delta("vnsearch_searches_total", route="/search") == 4
    assert delta("vnsearch_searches_empty_total", route="/search", mode="lexical") == 1
    assert delta("vnsearch_searches_empty_total", route="/search", mode="hybrid") == 0
    counts = repo_searcher.counts()
    assert value(fams, "vnsearch_index_articles") == counts["articles"] > 0
    assert value(fams, "vnsearch_index_passages") == counts["passages"] > 0
    assert value(fams, "vnsearch_index_generation") == repo_searcher.snapshot.generation


def test_retrieve_is_counted_as_a_search(app_client) -> None:
    before = families(app_client.get("/metrics").text)
    assert app_client.post("/retrieve", json={"q": QUERY, "mode": "lexical"}).status_code == 200
    fams = families(app_client.get("/metrics").text)
    sample = "vnsearch_searches_total"
    assert value(fams, sample, route="/retrieve", mode="lexical") - \
        value(before, sample, route="/retrieve", mode="lexical") == 1


def test_metrics_token(settings, repo_index, repo_searcher) -> None:
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    locked = settings.model_copy(update={"metrics_token": "scr4pe"})
    with TestClient(create_app(locked, repo_index, searcher=repo_searcher)) as client:
        assert client.get("/metrics").json()["error"]["error"] == "unauthorized"
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403
        right = client.get("/metrics", headers={"Authorization": "Bearer scr4pe"})
        assert right.status_code == 200 and "vnsearch_index_articles" in right.text
        assert client.get("/health").status_code == 200  # the token guards /metrics only


def test_request_id_is_echoed_or_made(app_client) -> None:
    sent = app_client.get("/health", headers={"X-Request-ID": "lb-7f3a.2_x"})
    assert sent.headers["X-Request-ID"] == "lb-7f3a.2_x"
    made = {app_client.get("/health").headers["X-Request-ID"] for _ in range(3)}
    assert len(made) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in made)
    for insane in ("x" * 65, "a b", "id;rm", "a/b", ""):
        got = app_client.get("/health", headers={"X-Request-ID": insane}).headers["X-Request-ID"]
        assert got != insane and re.fullmatch(r"[0-9a-f]{32}", got)


def test_request_id_is_in_every_error_body(app_client) -> None:
    answers = [
        app_client.get("/search", params={"q": QUERY, "k": 0}),  # validation (422)
        app_client.get("/articles/no-such-article"),  # domain error (404)
        app_client.get("/no/such/path"),  # routing (404)
        app_client.put("/search"),  # routing (405)
        app_client.post("/search", content=b"{}", headers={"Content-Length": "x"}),  # 400
        app_client.get("/boom"),  # a bug (500)
    ]
    assert [a.status_code for a in answers] == [422, 404, 404, 405, 400, 500]
    for answer in answers:
        error = answer.json()["error"]
        assert error["request_id"] == answer.headers["X-Request-ID"], answer.json()
    sent = app_client.get("/boom", headers={"X-Request-ID": "trace-42"})
    assert sent.json()["error"]["request_id"] == "trace-42"
    assert sent.json()["error"]["message"] == "RuntimeError: internal error"


def test_the_openapi_error_shape_has_request_id(app_client) -> None:
    schema = app_client.get("/openapi.json").json()["components"]["schemas"]["ErrorBody"]
    assert "request_id" in schema["properties"]


def log_lines(text: str) -> list[dict]:
    """The request log's JSON lines among other output."""
    out = []
    for line in text.splitlines():
        if line.startswith("{") and '"request_id"' in line:
            out.append(json.loads(line))
    return out


def test_one_json_log_line_per_request(app_client, capsys) -> None:
    capsys.readouterr()
    ok = app_client.get("/search", params={"q": QUERY, "mode": "lexical"},
                        headers={"X-Request-ID": "log-1"})
    bad = app_client.get("/search", params={"q": QUERY, "k": 0})
    health = app_client.get("/health")
    lines = log_lines(capsys.readouterr().err)
    assert [line["request_id"] for line in lines] == \
        ["log-1", bad.headers["X-Request-ID"], health.headers["X-Request-ID"]]
    first = lines[0]
    assert set(first) == {"time", "request_id", "method", "route", "status", "duration_ms",
                          "mode", "results", "pid"}
    assert (first["method"], first["route"], first["status"], first["mode"]) == \
        ("GET", "/search", 200, "lexical")
    assert first["results"] == ok.json()["total"] and first["duration_ms"] > 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["time"])
    assert (lines[1]["status"], lines[1]["mode"], lines[1]["results"]) == (422, None, None)
    assert (lines[2]["route"], lines[2]["mode"]) == ("/health", None)


# -- several workers: one real `vnsearch serve --workers 2` ---------------------------------------

def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    """One request on a new connection (so the kernel may hand it to either worker): the
    status, the headers (lower-case names) and the body."""
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def _spread(urls: list[str]) -> list[tuple[int, dict[str, str], bytes]]:
    with ThreadPoolExecutor(6) as pool:
        return list(pool.map(_get, urls))


def _metrics_dirs(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("vnsearch-metrics-*"))


def test_workers_metrics_add_up(tmp_path, settings, repo_index) -> None:
    """Two forked workers: the counts of a scrape are every worker's (whichever answers),
    a dead worker's counts stay, its restart is counted, and the private directory of the
    metrics goes with the server."""
    import psutil

    index = copy_index(repo_index, tmp_path / "index")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = cli_env(settings, TMPDIR=str(tmp), VNSEARCH_ADMIN_TOKEN=TOKEN)
    log = tmp_path / "serve.log"
    searches = 24
    with serve_process(settings, index, log, "--workers", "2", env=env) as base:
        assert len(_metrics_dirs(tmp)) == 1
        pids: set[int] = set()
        deadline = time.monotonic() + 120
        while len(pids) < 2 and time.monotonic() < deadline:  # both workers answer
            pids |= {json.loads(b)["pid"] for _, _, b in _spread([base + "/health"] * 8)}
        assert len(pids) == 2
        url = base + "/search?" + urllib.parse.urlencode({"q": NONSENSE, "mode": "lexical"})
        answers = _spread([url] * searches)
        assert {a[0] for a in answers} == {200}
        lines = [line for line in log_lines(log.read_text()) if line["route"] == "/search"]
        assert len(lines) == searches  # one line per request, from both workers
        assert {line["pid"] for line in lines} == pids
        assert {line["request_id"] for line in lines} == {a[1]["x-request-id"] for a in answers}

        scrapes = [families(b.decode()) for _, _, b in _spread([base + "/metrics"] * 6)]
        for fams in scrapes:  # the same whichever worker answered
            assert value(fams, "vnsearch_http_requests_total", method="GET", route="/search",
                         status="200") == searches
            assert value(fams, "vnsearch_searches_empty_total", mode="lexical") == searches
            assert value(fams, "vnsearch_worker_restarts_total") == 0
        generation = value(scrapes[0], "vnsearch_index_generation")

        req = urllib.request.Request(base + "/articles", data=json.dumps(ARTICLE).encode(),
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(req, timeout=120) as resp:
            assert resp.status == 200
        fams = families(_get_ok(base + "/metrics"))
        assert value(fams, "vnsearch_write_duration_seconds_count", operation="add") == 1
        assert value(fams, "vnsearch_index_generation") == generation + 1

        victim = next(iter(pids))
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 120
        while True:  # the supervisor starts a new worker
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            children = {p.pid for p in psutil.Process(_server_pid(log)).children()}
            if victim not in children and len(children) == 2:
                break
            time.sleep(0.2)
        fams = families(_get_ok(base + "/metrics"))
        assert value(fams, "vnsearch_worker_restarts_total") == 1
        assert value(fams, "vnsearch_http_requests_total", method="GET", route="/search",
                     status="200") == searches  # the dead worker's counts are kept
    deadline = time.monotonic() + 30
    while _metrics_dirs(tmp) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _metrics_dirs(tmp) == []


def _get_ok(url: str) -> str:
    status, _, body = _get(url)
    assert status == 200, body
    return body.decode()


def _server_pid(log: Path) -> int:
    """The supervisor's pid, from its start line."""
    match = re.search(r"supervisor pid (\d+)", log.read_text())
    assert match, log.read_text()[-3000:]
    return int(match.group(1))
