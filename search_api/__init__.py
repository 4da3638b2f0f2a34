"""vnsearch search service: the read side over index directories built by :mod:`indexer`.

Packages, one room each:

* :mod:`.retrieval` — a search request → ranked, grouped, highlighted results; the
  ``Searcher`` is composed of the parts it is handed (dense and lexical retrievers, the
  passage rows, document frequencies, the relevance scorer).
* :mod:`.routers`, :mod:`.app`, :mod:`.deps`, :mod:`.errors`, :mod:`.schemas`,
  :mod:`.openapi_docs`, :mod:`.writes` — the REST API (FastAPI) and the page in
  ``static/``; HTTP statuses are decided here (:mod:`.errors`), not in the indexer.
* :mod:`.workers`, :mod:`.forked` — ``vnsearch serve --workers N``.
* :mod:`.cluster` — serving a set of shards as one index (in process or on Ray Serve);
  the shards themselves are written by :mod:`indexer.cluster`.
* :mod:`.quality` — ``vnsearch eval`` and ``vnsearch calibrate``.
* :mod:`.rag`, :mod:`.mcp_server`, :mod:`.client`, :mod:`.langchain` — RAG packing, the
  MCP server, the Python client and the LangChain retriever.
* :mod:`.cli` — the ``vnsearch`` command line: this layer's commands and the one list that
  registers every command.
"""
