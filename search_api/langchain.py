"""LangChain retriever over a running ``vnsearch serve`` (``pip install vnsearch[langchain]``).

    >>> from search_api.langchain import VnsearchRetriever
    >>> retriever = VnsearchRetriever(base_url="http://127.0.0.1:8000", k=3, source="Báo Gia Lai")
    >>> docs = retriever.invoke("Gia Lai thi hành án dân sự đạt bao nhiêu phần trăm")

One ``Document`` per ``POST /retrieve`` passage: ``page_content`` is the passage text, the
metadata its ``passage_id``, ``article_id``, ``title``, ``url``, ``source``, ``published``,
``relevance``, ``citation`` number, ``tokens`` and ``neighbour`` (context added around a
hit). Any keyword the retriever does not know itself is a ``/retrieve`` parameter (``mode``,
``source``, ``date_from``, ``max_tokens``, ``neighbours``, ``per_article`` …).

``langchain_core`` is imported here and only here: the core install does not need it.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import Field, PrivateAttr, model_validator

from .client import DEFAULT_BASE_URL, Passage, VnsearchClient

METADATA_FIELDS = ("passage_id", "article_id", "title", "url", "source", "published",
                   "relevance", "citation", "tokens", "neighbour")


def to_document(passage: Passage) -> Document:
    """A ``/retrieve`` passage as a LangChain ``Document`` (id: the passage id, when given)."""
    metadata = {name: getattr(passage, name) for name in METADATA_FIELDS}
    doc_id = None if passage.passage_id is None else str(passage.passage_id)
    return Document(page_content=passage.text, metadata=metadata, id=doc_id)


class VnsearchRetriever(BaseRetriever):
    """Passages of a vnsearch index for a LangChain chain or agent, through ``POST /retrieve``.

    ``VnsearchRetriever(base_url=…, k=…, **params)``: ``params`` are sent with every query.
    The async path (``ainvoke``) is LangChain's default: the sync call in an executor.
    """

    base_url: str = Field(default=DEFAULT_BASE_URL, description="The vnsearch server.")
    k: int = Field(default=5, description="Passages per query (the server caps it).")
    timeout: float = Field(default=30.0, description="Seconds per HTTP request.")
    params: dict[str, Any] = Field(default_factory=dict,
                                   description="More /retrieve parameters, sent as they are.")
    _client: VnsearchClient | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _collect_params(cls, data: Any) -> Any:
        """Keywords that are not fields of the retriever go to ``params`` (the API's names)."""
        if not isinstance(data, dict):
            return data
        extra = {key: value for key, value in data.items() if key not in cls.model_fields}
        if not extra:
            return data
        known = {key: value for key, value in data.items() if key in cls.model_fields}
        return {**known, "params": {**known.get("params", {}), **extra}}

    @property
    def client(self) -> VnsearchClient:
        """The retriever's client, made on first use (one connection pool per retriever)."""
        if self._client is None:
            self._client = VnsearchClient(self.base_url, timeout=self.timeout)
        return self._client

    def _get_relevant_documents(self, query: str, *,
                                run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        result = self.client.retrieve(query, **{"k": self.k, **self.params})
        return [to_document(passage) for passage in result.passages]
