"""Every surface of a search takes the fields of the one declaration (search_api/search_fields.py).

GET /search's parameters, POST /search's body, /retrieve's body, the MCP ``search`` tool and
``vnsearch query``'s options are compared with :data:`SEARCH_FIELDS` and the documented
surface-specific differences (``RETRIEVE_OMITS``/``RETRIEVE_EXTRAS``, ``MCP_OMITS``,
``CLI_EXTRAS``), and their descriptions, defaults and limits with the declaration's. No index
and no model are needed: the OpenAPI document and the tool schema are built without them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest

from indexer.settings import Settings
from search_api.search_fields import (
    CLI_EXTRAS,
    MCP_FIELDS,
    MCP_OMITS,
    RETRIEVE,
    RETRIEVE_EXTRAS,
    RETRIEVE_OMITS,
    SEARCH,
    SEARCH_FIELDS,
    settle,
)

DECLARED = {spec.name for spec in SEARCH_FIELDS}
EXTRAS = {spec.name for spec in RETRIEVE_EXTRAS}


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def spec(settings) -> dict:
    from search_api.app import create_app

    return create_app(settings, Path("/nonexistent")).openapi()


def _get_params(spec: dict) -> dict[str, dict]:
    return {p["name"]: p for p in spec["paths"]["/search"]["get"]["parameters"]}


def _body(spec: dict, path: str) -> dict:
    ref = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return spec["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


@pytest.fixture(scope="module")
def mcp_schema(settings) -> dict:
    pytest.importorskip("mcp")
    from mcp.server.mcpserver import MCPServer

    from search_api.mcp_server import add_tools

    server = MCPServer("test")
    add_tools(server, SimpleNamespace(settings=settings))  # the schema reads no index
    tools = {tool.name: tool for tool in asyncio.run(server.list_tools())}
    return tools["search"].input_schema


def _cli_options() -> dict[str, object]:
    from search_api.cli import query_cmd

    return {p.name: p for p in query_cmd.params if p.param_type_name == "option"}


def test_get_and_post_search_take_the_declared_fields(spec) -> None:
    assert list(_get_params(spec)) == [s.name for s in SEARCH_FIELDS]
    assert set(_body(spec, "/search")["properties"]) == DECLARED


def test_retrieve_extends_the_declared_fields(spec) -> None:
    props = set(_body(spec, "/retrieve")["properties"])
    assert props == (DECLARED - set(RETRIEVE_OMITS)) | EXTRAS
    assert props >= DECLARED - set(RETRIEVE_OMITS)
    assert set(RETRIEVE_OMITS) <= DECLARED and not EXTRAS & DECLARED


def test_mcp_tool_takes_the_retrieve_fields(mcp_schema) -> None:
    assert set(mcp_schema["properties"]) == set(RETRIEVE) - set(MCP_OMITS)
    assert mcp_schema["required"] == ["q"]


def test_cli_options_are_the_declared_fields() -> None:
    options = _cli_options()
    core = {"index_dir", "model", "adapter", "verbose"}  # every index command's own options
    assert set(options) - core == (DECLARED - {"q"}) | set(CLI_EXTRAS)
    for name, spec in SEARCH.items():
        if spec.cli is not None:
            assert tuple(options[name].opts) == spec.cli.flags, name
            assert options[name].default == spec.default, name
            assert options[name].help == spec.cli.help, name
    # the flags of before the declaration, unchanged
    flags = {opt for option in options.values() for opt in option.opts}
    assert {"-k", "--offset", "--mode", "--source", "--category", "--date-from", "--date-to",
            "--province", "--group", "--no-group", "--min-relevance", "--sort", "--facets",
            "--json"} <= flags


def test_descriptions_and_defaults_come_from_the_declaration(spec, settings,
                                                             mcp_schema) -> None:
    params = _get_params(spec)
    post = _body(spec, "/search")["properties"]
    retrieve = _body(spec, "/retrieve")["properties"]
    for name, field in SEARCH.items():
        text = settle(field.description, settings)
        assert params[name]["description"] == text, name
        assert post[name]["description"] == text, name
        if name != "q":  # q is required everywhere (GET refuses an absent q like an empty one)
            assert params[name]["schema"].get("default") == field.get_default, name
            assert post[name].get("default") == field.default, name
    for field in MCP_FIELDS:
        text = settle(field.description, settings)
        assert retrieve[field.name]["description"] == text, field.name
        assert mcp_schema["properties"][field.name]["description"] == text, field.name
        if field.name != "q":
            assert retrieve[field.name].get("default") == field.default, field.name


def test_no_second_description_table_for_request_fields() -> None:
    from search_api import openapi_docs

    assert not (DECLARED | EXTRAS) - {"query", "mode", "source", "category"} \
        & set(openapi_docs.FIELDS)
    assert not [key for key in openapi_docs.OVERRIDES
                if key[0] in openapi_docs.REQUEST_MODELS]


class _Searcher:
    """Records the searches it is asked for; validates them as the real searcher does."""

    def __init__(self, settings: Settings) -> None:
        self.settings, self.seen, self.encoder = settings, [], None

    def search(self, req):
        from search_api.retrieval.request import validate
        from search_api.retrieval.results import SearchResult

        self.seen.append(validate(req, self.settings))
        return SearchResult(query=req.query, mode=req.mode, took_ms=0.0, total=0, results=[])


def test_retrieve_takes_domain_objects_and_names_the_query_as_sent(settings) -> None:
    from indexer.errors import QueryError
    from search_api import rag
    from search_api.schemas import RetrieveBody

    searcher = _Searcher(settings)
    with pytest.raises(QueryError) as err:
        rag.retrieve(searcher, RetrieveBody(query="   ").to_request())
    assert err.value.field == "query" and str(err.value) == "query: empty query"
    retrieval = rag.retrieve(searcher, rag.RetrieveRequest.of({"q": "giá vàng", "k": 2}))
    assert isinstance(retrieval, rag.Retrieval) and retrieval.passages == []
    req = searcher.seen[-1]  # passage level: k hits asked, more candidates searched
    assert (req.k, req.group, req.mode) == (2 * rag.CANDIDATES_PER_HIT, "none", "hybrid")


def test_mcp_tool_fills_the_declared_defaults(settings) -> None:
    pytest.importorskip("mcp")
    from search_api.mcp_server import retrieve
    from search_api.rag import CANDIDATES_PER_HIT

    searcher = _Searcher(settings)
    response = retrieve(searcher, {"q": "giá vàng", "k": None, "mode": "lexical"})
    assert response.passages == [] and response.query == "giá vàng"
    req = searcher.seen[-1]
    assert (req.k, req.mode) == (RETRIEVE["k"].default * CANDIDATES_PER_HIT, "lexical")
