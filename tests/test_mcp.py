"""``vnsearch mcp``: the MCP server over stdio, driven by the official SDK's own client.

One real server process (``python -m search_api mcp --index <demo index>``) for the module;
every test talks to it through ``mcp.client.stdio.stdio_client`` + ``ClientSession``, as an
MCP host such as Claude Desktop would.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402
from support import REPO  # noqa: E402

SEED_QUESTION = "Gia Lai thi hành án dân sự đạt bao nhiêu phần trăm"
SEED_ANSWER = "63,57"


def run_session(settings, index_dir, work: Callable[[ClientSession], Awaitable[Any]]) -> Any:
    """Spawn ``vnsearch mcp --index index_dir``, initialize, run ``work(session)``, close."""
    env = dict(os.environ, VNSEARCH_HOME=str(settings.home), PYTHONIOENCODING="utf-8")
    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", "search_api", "mcp", "--index", str(index_dir)],
                                   env=env, cwd=str(REPO))

    async def main() -> Any:
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await work(session)

    return asyncio.run(asyncio.wait_for(main(), timeout=300))


@pytest.fixture(scope="module")
def transcript(settings, demo_index) -> dict[str, Any]:
    """Everything the tests check, from one server process (a start loads the model)."""

    async def work(session: ClientSession) -> dict[str, Any]:
        out: dict[str, Any] = {"tools": (await session.list_tools()).tools}
        out["search"] = await session.call_tool("search", {"q": SEED_QUESTION, "k": 3})
        out["budget"] = await session.call_tool("search", {"q": SEED_QUESTION, "k": 5,
                                                           "max_chars": 300})
        out["filtered"] = await session.call_tool("search", {"q": SEED_QUESTION,
                                                             "source": "no such outlet"})
        first = out["search"].structured_content["passages"][0]["article_id"]
        out["article"] = await session.call_tool("get_article", {"id": first})
        out["resources"] = (await session.list_resources()).resources
        out["facets"] = await session.read_resource("vnsearch://facets")
        out["bad"] = {
            "empty q": await session.call_tool("search", {"q": ""}),
            "k 0": await session.call_tool("search", {"q": "giá vàng", "k": 0}),
            "bad mode": await session.call_tool("search", {"q": "giá vàng", "mode": "fuzzy"}),
            "bad date": await session.call_tool("search", {"q": "giá vàng",
                                                           "date_from": "hôm qua"}),
            "no article": await session.call_tool("get_article", {"id": "no-such-article"}),
            "unknown tool": await session.call_tool("delete_everything", {}),
        }
        # The server survived every bad call: a good one still answers.
        out["after"] = await session.call_tool("search", {"q": "giá vàng", "k": 1})
        return out

    return run_session(settings, demo_index, work)


def test_tools_have_typed_described_inputs(transcript) -> None:
    tools = {tool.name: tool for tool in transcript["tools"]}
    assert set(tools) == {"search", "get_article"}
    schema = tools["search"].input_schema
    assert schema["required"] == ["q"]
    for name in ("q", "k", "mode", "source", "category", "date_from", "date_to",
                 "min_relevance", "max_chars", "max_tokens"):
        assert schema["properties"][name].get("description"), name
    assert schema["properties"]["q"]["minLength"] == 1
    assert tools["search"].output_schema["properties"]["passages"]
    assert tools["get_article"].input_schema["required"] == ["id"]
    assert tools["search"].annotations.read_only_hint is True


def test_search_finds_the_seed_answer_within_k3(transcript) -> None:
    result = transcript["search"]
    assert not result.is_error, result.content
    data = result.structured_content
    assert data["query"] == SEED_QUESTION
    assert any(SEED_ANSWER in p["text"] for p in data["passages"]), \
        [p["text"][:80] for p in data["passages"]]
    # The text block a model reads: the packed context and the citation lines.
    text = result.content[0].text
    assert text.startswith("[1] ") and SEED_ANSWER in text
    for line in data["citations"]:
        assert line in text
    assert data["context"] in text


def test_search_budget_and_filters(transcript) -> None:
    budget = transcript["budget"].structured_content
    assert sum(len(p["text"]) for p in budget["passages"]) <= 300
    filtered = transcript["filtered"]
    assert not filtered.is_error
    assert filtered.structured_content["passages"] == []
    assert "No passage" in filtered.content[0].text


def test_get_article_returns_the_whole_article(transcript) -> None:
    result = transcript["article"]
    assert not result.is_error, result.content
    article = result.structured_content
    first = transcript["search"].structured_content["passages"][0]
    assert article["id"] == first["article_id"]
    assert first["text"][:50] in article["text"]
    assert article["passages"] and article["text"] in result.content[0].text


def test_facets_resource(transcript) -> None:
    assert [str(r.uri) for r in transcript["resources"]] == ["vnsearch://facets"]
    content = transcript["facets"].contents[0]
    assert content.mime_type == "application/json"
    facets = json.loads(content.text)
    assert set(facets) == {"sources", "categories", "provinces"}
    assert facets["sources"], facets


def test_bad_calls_are_tool_errors_not_crashes(transcript) -> None:
    for name, result in transcript["bad"].items():
        assert result.is_error, name
        assert result.content[0].text, name
    assert "no-such-article" in transcript["bad"]["no article"].content[0].text
    after = transcript["after"]
    assert not after.is_error and len(after.structured_content["passages"]) >= 1


def test_stdout_carries_only_the_protocol(settings, demo_index) -> None:
    """The real command, fed raw JSON-RPC: every stdout line is a protocol message (model
    loading and logs go to stderr), and a token budget holds."""
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "test", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "search", "arguments": {"q": SEED_QUESTION, "k": 3,
                                                    "max_tokens": 100}}},
    ]
    env = dict(os.environ, VNSEARCH_HOME=str(settings.home), PYTHONIOENCODING="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "search_api", "mcp", "--index",
                             str(demo_index)], cwd=REPO, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            encoding="utf-8")
    watchdog = threading.Timer(300, proc.kill)  # a hung server fails the test, not the suite
    watchdog.start()
    try:
        proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
        proc.stdin.flush()
        lines = [proc.stdout.readline(), proc.stdout.readline()]  # the two answers
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
        watchdog.cancel()
    replies = {reply["id"]: reply for reply in map(json.loads, lines)}
    assert replies[1]["result"]["serverInfo"]["name"] == "vnsearch"
    result = replies[2]["result"]
    assert not result["isError"]
    passages = result["structuredContent"]["passages"]
    assert passages and sum(p["tokens"] for p in passages) <= 100
    assert proc.stdout.read() == ""  # nothing after the answers either
    assert "serving on stdio" in proc.stderr.read()
