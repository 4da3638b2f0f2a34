"""The OpenAPI document tells the truth: schemathesis against the app, and /docs offline.

schemathesis (``schemathesis run --checks all``: every built-in check, positive and negative
generation, every phase — examples, coverage, fuzzing, stateful — 20 examples an operation)
drives the real app on an index of its own (the seed and 60 Dân trí articles), embedded by
the deterministic fake encoder (the contract is the HTTP layer's), with an admin token set,
so ``POST /articles`` and ``DELETE /articles/{id}`` are exercised too. 0 failures means: no
5xx, every answer matches its declared schema (the one error shape included),
schema-valid requests are accepted, schema-invalid ones rejected, and 405s carry ``Allow``.

The browser tests load ``/docs`` and ``/redoc`` in Debian's Chromium with every request off
127.0.0.1 aborted: the pages must render the operations from locally installed assets.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from support import SEED, FakeEncoder, needs_shared, read_jsonl_head, serve_app

CHROMIUM = Path(os.environ.get("VNSEARCH_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SHOTS = Path(os.environ.get("VNSEARCH_SHOTS", "/tmp/shots"))
ADMIN_TOKEN = "openapi-test-token"
MAX_EXAMPLES = 20  # per operation and mode; the whole test stays well under 2 minutes

pytestmark = [needs_shared, pytest.mark.slow]


@pytest.fixture(scope="module")
def writable_app(tmp_path_factory, dantri300):
    """The app over the seed and 60 Dân trí articles indexed with the deterministic
    FakeEncoder in a home of its own, writes enabled (admin token set).

    Not a copy of the session's demo index with the real model (the suite's time budget):
    the contract checked is the HTTP layer's (schemas, statuses, the error shape), the same
    whatever the vectors and however many articles; about half of the ~1,000 generated
    requests encode a query or passages, which with the real model was a third of the
    test's time. The app, the index and its files are real.
    """
    from indexer.readers import iter_inputs
    from indexer.settings import Settings
    from indexer.writer import index_articles
    from search_api.app import create_app
    from search_api.retrieval import Searcher

    home = tmp_path_factory.mktemp("openapi-home")
    # Validated construction: the app expects the token as a SecretStr.
    app_settings = Settings(home=home, admin_token=ADMIN_TOKEN)
    encoder = FakeEncoder()
    corpus = home / "articles.jsonl"
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                              for r in read_jsonl_head(dantri300, 60)), encoding="utf-8")
    directory = home / "index"
    index_articles(directory, iter_inputs([SEED, corpus]), app_settings, encoder)
    searcher = Searcher(directory, app_settings, encoder)
    yield create_app(app_settings, directory, searcher=searcher)
    searcher.close()


def run_schemathesis(app) -> tuple[list[str], Counter]:
    """``schemathesis run --checks all`` against ``app``: failure lines, answers by status.

    The engine is the CLI's own (the pytest plugin of schemathesis 4.32 does not run under
    pytest 9); every built-in check, both generation modes, every phase.
    """
    from schemathesis.engine import Status, events, from_schema

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.update(headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                         continue_on_failure=True)
    schema.config.checks.update(included_check_names=["all"])
    schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True,
                                    database="none")
    problems: list[str] = []
    answers: Counter = Counter()  # ("POST /articles", 200) → count
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for interaction in event.recorder.interactions.values():
                if interaction.response is not None:
                    answers[event.label, interaction.response.status_code] += 1
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        failure = check.failure_info.failure
                        problems.append(f"{event.label}: {check.name}: {failure.title}: "
                                        f"{failure.message[:300]}\n"
                                        f"{check.failure_info.code_sample[:600]}")
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            problems.append(f"error: {getattr(event, 'info', event)}")
    return sorted(set(problems)), answers


def test_api_conforms_to_its_openapi_schema(writable_app) -> None:
    problems, answers = run_schemathesis(writable_app)
    assert not problems, "\n".join(problems)
    assert sum(answers.values()) > 500, answers
    # every operation was exercised with accepted requests, the writes included
    for label in ("GET /search", "POST /search", "POST /retrieve", "GET /articles/{article_id}",
                  "GET /health", "GET /facets", "POST /articles",
                  "DELETE /articles/{article_id}"):
        assert answers[label, 200] > 0, (label, answers)


# -- the document itself ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def spec(settings, demo_index, searcher) -> dict:
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    with TestClient(create_app(settings, demo_index, searcher=searcher)) as client:
        return client.get("/openapi.json").json()


def test_everything_is_described_with_an_example(spec) -> None:
    missing = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            if not op.get("summary") or not op.get("description"):
                missing.append(f"{where}: summary/description")
            for param in op.get("parameters", []):
                if not param.get("description") or "example" not in param:
                    missing.append(f"{where} ?{param['name']}")
            for status, answer in op["responses"].items():
                if status >= "400" and "example" not in answer["content"]["application/json"]:
                    missing.append(f"{where} {status}: example")
    for model, schema in spec["components"]["schemas"].items():
        for name, prop in schema.get("properties", {}).items():
            if not prop.get("description") or "examples" not in prop:
                missing.append(f"{model}.{name}")
    assert not missing, missing


def test_enforced_limits_are_declared(spec, settings) -> None:
    params = {p["name"]: p for p in spec["paths"]["/search"]["get"]["parameters"]}
    q = params["q"]
    assert q["required"] and q["schema"]["minLength"] == 1
    assert q["schema"]["maxLength"] == settings.max_query_chars
    assert (params["k"]["schema"]["minimum"], params["k"]["schema"]["maximum"]) == (1, 100)
    assert (params["offset"]["schema"]["minimum"], params["offset"]["schema"]["maximum"]) == (
        0, settings.max_offset)
    assert params["min_relevance"]["schema"]["maximum"] == 1
    assert {"type": "string", "format": "date"} in params["date_from"]["schema"]["anyOf"]
    body = spec["components"]["schemas"]["SearchBody"]
    assert body["additionalProperties"] is False and body["required"] == ["q"]
    assert body["properties"]["q"]["pattern"] == q["schema"]["pattern"]
    batch = spec["components"]["schemas"]["ArticlesIn"]["properties"]["articles"]
    assert (batch["minItems"], batch["maxItems"]) == (1, settings.max_batch_articles)
    assert spec["paths"]["/articles"]["post"]["security"] == [{"adminToken": []}]
    assert {"401", "403"} <= set(spec["paths"]["/articles"]["post"]["responses"])
    # the pattern is the searcher's own rule: what it refuses as empty, the pattern refuses
    pattern = re.compile(q["schema"]["pattern"])
    for text in (" ", "\u200b\u200c", "\x00\t\n", "\ufeff\u00a0\u2028", "\ufffd"):
        assert not pattern.search(text), repr(text)
    for text in ("a", "đ", "😀", "*", "0"):
        assert pattern.search(text), repr(text)


def test_405_names_every_allowed_method(settings, demo_index, searcher) -> None:
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    with TestClient(create_app(settings, demo_index, searcher=searcher)) as client:
        r = client.delete("/search")
        assert r.status_code == 405 and r.json()["error"]["error"] == "method_not_allowed"
        assert r.headers["allow"] == "GET, HEAD, POST"  # HEAD: wherever GET is
        assert client.put("/retrieve").headers["allow"] == "POST"
        assert client.post("/health").headers["allow"] == "GET, HEAD"


# -- /docs and /redoc offline, in a real browser ----------------------------------------------------

def _browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is absent (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    return None


@pytest.fixture(scope="module")
def docs_server(settings, demo_index, searcher):
    """A real uvicorn server on a free 127.0.0.1 port (the docs read nothing from the index)."""
    reason = _browser_missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser test prerequisites missing under CI: {reason}")
        pytest.skip(reason)
    from search_api.app import create_app

    with serve_app(create_app(settings, demo_index, searcher=searcher)) as url:
        yield url


@pytest.fixture(scope="module")
def offline_page(docs_server):
    """``open(path) -> (page, blocked)``: Chromium with every request off 127.0.0.1 aborted."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        context.set_default_timeout(30_000)
        blocked: list[str] = []

        def guard(route):
            if route.request.url.startswith(docs_server + "/"):
                route.continue_()
            else:  # the network: the docs must not need it
                blocked.append(route.request.url)
                route.abort()

        context.route("**/*", guard)

        def open_page(path: str):
            blocked.clear()
            page = context.new_page()
            page.goto(docs_server + path)
            return page, blocked

        yield open_page
        browser.close()


REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
OPERATIONS = ["GET /search", "POST /search", "POST /retrieve", "GET /articles/{article_id}",
              "DELETE /articles/{article_id}", "GET /facets", "GET /health", "POST /articles"]


@pytest.mark.browser
def test_swagger_ui_works_offline(offline_page) -> None:
    page, blocked = offline_page("/docs")
    page.wait_for_selector(".opblock")
    shown = {f"{block.locator('.opblock-summary-method').inner_text().strip()} "
             f"{block.locator('.opblock-summary-path').inner_text().strip()}"
             for block in page.locator(".opblock").all()}
    shown = {s.replace("\u200b", "") for s in shown}  # Swagger UI breaks paths with ZWSP
    assert set(OPERATIONS) <= shown, shown
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "vnsearch-docs.png"))
    assert not blocked, blocked


@pytest.mark.browser
def test_redoc_works_offline(offline_page) -> None:
    page, blocked = offline_page("/redoc")
    page.get_by_role("heading", name="Search (query parameters)").wait_for()
    body = page.locator("body").inner_text()
    for summary in ("Search (JSON body)", "Add or update articles", "Delete an article",
                    "Model, index counts, uptime"):
        assert summary in body
    page.screenshot(path=str(SHOTS / "vnsearch-redoc.png"))
    # ReDoc's bundle always links its "API docs by Redocly" logo from its CDN; offline that
    # one decorative image is missing, nothing else is asked for.
    assert not [url for url in blocked if url != REDOC_LOGO], blocked
