"""``vnsearch mcp``: the index as a Model Context Protocol server over stdio.

Tools: ``search`` (the ``POST /retrieve`` semantics and input names: packed passages with
numbered citations) and ``get_article`` (one whole article, as ``GET /articles/{id}``);
resource ``vnsearch://facets`` (the index's outlets, categories and provinces, as
``GET /facets``).
Built on the official ``mcp`` SDK's :class:`MCPServer`; this module is imported only by the
``mcp`` command, so the SDK stays out of every other import path.

stdout is the protocol: the model and index are loaded once before serving with file
descriptor 1 pointed at stderr (a library printing during load would corrupt the stream),
and logging goes to stderr. A bad argument value or a missing article is a tool error (the
result's ``isError``), never a crash of the server; an unknown argument is a ``-32602``
error (:class:`StrictArguments`), and a malformed frame is answered by the transport
(:mod:`.mcp_stdio`).
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from indexer.errors import VnsearchError
from indexer.settings import Settings

from . import mcp_stdio, rag
from .retrieval import Searcher
from .schemas import ArticleResponse, FacetsResponse, RetrieveResponse, answer
from .search_fields import MCP_FIELDS, settle

log = logging.getLogger("vnsearch.mcp")

FACETS_URI = "vnsearch://facets"
INSTRUCTIONS = (
    "Search a Vietnamese news archive. Call `search` with the user's question (Vietnamese, "
    "tones optional) to get passages numbered [1], [2], ... with a citation line each; answer "
    "from them and cite the numbers. Call `get_article` with an `article_id` from a passage "
    f"to read the whole article. The resource {FACETS_URI} lists the outlets, categories and "
    "provinces accepted by the `source`, `category` and `province` filters."
)


def tool_parameters(settings: Settings) -> list[inspect.Parameter]:
    """The ``search`` tool's parameters: the ``/retrieve`` fields (:data:`MCP_FIELDS`) with
    their types, limits and descriptions. Only ``q`` is required; the others default to
    None, "the /retrieve default", so the tool and the endpoint never disagree."""
    params = []
    for spec in MCP_FIELDS:
        info = Field(description=settle(spec.description, settings), **spec.enforce)
        required = spec.name == "q"
        # Built at run time from the declaration: not a static type mypy can check.
        annotation = Annotated[str if required else spec.type | None, info]  # type: ignore[valid-type]
        params.append(inspect.Parameter(
            spec.name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation,
            default=inspect.Parameter.empty if required else None))
    return params


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Point file descriptor 1 (and ``sys.stdout``) at stderr for the block.

    Model loading may print (progress bars, native libraries); on stdio that would land in
    the protocol stream before the first message.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    real_stdout, sys.stdout = sys.stdout, sys.stderr
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 1)
        os.close(saved)
        sys.stdout = real_stdout


def retrieve(searcher: Searcher, args: dict[str, Any]) -> RetrieveResponse:
    """The ``/retrieve`` answer for the tool's arguments (checked by the tool's input schema,
    made from the same declared fields; None is the field's default), as the route's."""
    request = rag.RetrieveRequest.of({name: value for name, value in args.items()
                                      if value is not None})
    try:
        return answer(RetrieveResponse, rag.retrieve(searcher, request))
    except VnsearchError as exc:
        raise ToolError(str(exc)) from None


def _result(payload: RetrieveResponse | ArticleResponse, text: str) -> CallToolResult:
    """A tool result: ``payload`` as structured content, ``text`` as the block a model reads."""
    return CallToolResult(content=[TextContent(type="text", text=text)],
                          structured_content=payload.model_dump(mode="json"))


def _search_text(response: RetrieveResponse) -> str:
    """The passages as a model reads them: the packed context, then the citation lines."""
    if not response.passages:
        return (f"No passage relevant enough for {response.query!r}. Try other words, fewer "
                "filters or a lower min_relevance.")
    return response.context + "\n\nSources:\n" + "\n".join(response.citations)


def _article_text(article: ArticleResponse) -> str:
    url = article.url or (rag.unlinked_note(article.url_text) if article.url_text else None)
    meta = " · ".join(x for x in (article.source, article.published, article.category, url)
                      if x)
    return f"{article.title or '(không có tiêu đề)'}\n{meta}\n\n{article.text}"


def add_tools(server: MCPServer, searcher: Searcher) -> None:
    """Register ``search`` and ``get_article`` on ``server``, answering from ``searcher``."""
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    def search(**args: Any) -> Annotated[CallToolResult, RetrieveResponse]:
        """Passages of Vietnamese news articles that answer `q`, with citations: each article
        is numbered [1], [2], ... (its passages in reading order) with a "[n] title — URL" line;
        packed within the budgets. Same as POST /retrieve."""
        response = retrieve(searcher, args)
        log.info("search %r: %d passages, %.0f ms", args["q"], len(response.passages),
                 response.took_ms)
        return _result(response, _search_text(response))

    search.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        tool_parameters(searcher.settings),
        return_annotation=Annotated[CallToolResult, RetrieveResponse])
    server.tool(name="search", title="Search the news archive", annotations=read_only)(search)

    @server.tool(name="get_article", title="Read one article", annotations=read_only)
    def get_article(id: Annotated[str, Field(min_length=1, description=(
            "The article's id: `article_id` of a `search` passage (or an alias it was "
            "indexed under)."))]) -> Annotated[CallToolResult, ArticleResponse]:
        """The whole cleaned article: title, text, URL, outlet, date, category and the offsets
        of its passages; same as GET /articles/{id}."""
        try:
            article = answer(ArticleResponse, searcher.article(id))
        except VnsearchError as exc:
            raise ToolError(str(exc)) from None
        return _result(article, _article_text(article))


def add_resources(server: MCPServer, searcher: Searcher) -> None:
    """Register the ``vnsearch://facets`` resource."""

    @server.resource(FACETS_URI, name="facets", title="Outlets and categories",
                     mime_type="application/json",
                     description="The outlets (`source`) and categories (`category`) of the "
                                 "index: the values the `search` filters accept.")
    def facets() -> str:
        return json.dumps(FacetsResponse(**searcher.facets()).model_dump(), ensure_ascii=False)


class StrictArguments:
    """Server middleware: a tool's input schema says ``additionalProperties: false`` and a
    ``tools/call`` naming an argument the tool does not have is refused with ``-32602``
    (the HTTP API answers 422 for an unknown field), where the SDK would drop it silently.

    A known argument with a bad value stays a tool error (``isError``), as MCP 2025-11-25
    asks, so the model reads the message and corrects the call.
    """

    def __init__(self, server: MCPServer) -> None:
        self._server = server
        self._accepted: dict[str, list[str]] | None = None

    async def accepted(self) -> dict[str, list[str]]:
        """Each tool's argument names, from its input schema (read once)."""
        if self._accepted is None:
            self._accepted = {tool.name: sorted(tool.input_schema.get("properties", {}))
                              for tool in await self._server.list_tools()}
        return self._accepted

    async def __call__(self, ctx: ServerRequestContext[Any, Any],
                       call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/call" and isinstance(ctx.params, dict):
            await self._check_call(ctx.params.get("name"), ctx.params.get("arguments"))
        result = await call_next(ctx)
        if ctx.method == "tools/list" and isinstance(result, dict):  # the wire form
            for tool in result.get("tools", ()):
                tool.get("inputSchema", {})["additionalProperties"] = False
        return result

    async def _check_call(self, name: Any, arguments: Any) -> None:
        accepted = (await self.accepted()).get(name) if isinstance(name, str) else None
        if accepted is None or not isinstance(arguments, dict):
            return  # an unknown tool or bad `arguments`: the SDK's own answers
        unknown = sorted(set(arguments) - set(accepted))
        if unknown:
            raise MCPError(INVALID_PARAMS,
                           f"Invalid params: unknown argument(s) {', '.join(unknown)} for tool "
                           f"{name!r}; it accepts {', '.join(accepted)}",
                           data={"unknown": unknown, "accepted": accepted})


def build_server(searcher: Searcher) -> MCPServer:
    """An MCP server answering from ``searcher`` (tools and resource registered; unknown
    tool arguments refused, see :class:`StrictArguments`)."""
    from importlib.metadata import version

    server = MCPServer("vnsearch", title="vnsearch", version=version("vnsearch"),
                       instructions=INSTRUCTIONS, log_level="WARNING")
    server.middleware.append(StrictArguments(server))
    add_tools(server, searcher)
    add_resources(server, searcher)
    return server


def serve_stdio(index_dir: Path, settings: Settings) -> None:
    """Load the model and index once, then serve MCP on stdin/stdout until the client leaves."""
    from indexer.encoders import create_encoder

    with stdout_to_stderr():
        searcher = Searcher(index_dir, settings, create_encoder(settings))
    log.info("vnsearch mcp: %s loaded, serving on stdio", index_dir)
    try:
        mcp_stdio.serve(build_server(searcher), settings.mcp_max_frame_bytes)
    finally:
        searcher.close()
