"""txtai's own API over the passages of a vnsearch index, for ``bench/query.py --txtai``.

    .venv/bin/pip install txtai          # not a vnsearch dependency

The same passages (``title\\npassage``, what vnsearch embeds), the same model directory
(vnsearch's materialised default model, loaded by txtai through sentence-transformers,
fp32), E5 prompts as txtai ``instructions``, a hybrid index (dense + BM25, txtai's default
weights) with content storage; saved, then served by txtai's FastAPI app
(``CONFIG=config.yml uvicorn txtai.api:app``, one process, as its docs show) and driven
with ``GET /search?query=…&limit=k`` by the same clients as vnsearch. txtai has to embed
every passage itself, so this runs on indexes whose passages it can embed in minutes
(a few thousand on 2 cores), not on stand-in vectors.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.parse
from pathlib import Path

from served import ServedProcess


def passages_of(index_dir: Path) -> list[tuple[str, str]]:
    """(passage id, ``title\\npassage``) of every passage of a vnsearch index."""
    from indexer.db import IndexDB
    from indexer.writer import embedding_text

    out: list[tuple[str, str]] = []
    with IndexDB(index_dir, readonly=True) as db:
        for article in db.iter_articles():
            for span in db.passage_spans(article.id, with_text=True):
                out.append((str(span.id), embedding_text(article.title, span.text, True)))
    return out


def build(index_dir: Path, work: Path, model_dir: str) -> dict:
    """Index the passages with txtai (hybrid) and save it under ``work``; timings."""
    from txtai import Embeddings

    docs = passages_of(index_dir)
    started = time.perf_counter()
    emb = Embeddings(path=model_dir, content=True, hybrid=True,
                     instructions={"query": "query: ", "data": "passage: "})
    emb.index((pid, text, None) for pid, text in docs)
    seconds = time.perf_counter() - started
    target = work / "txtai-index"
    emb.save(str(target))
    emb.close()
    # `embeddings:` must be present for the API to mount its search routes; the saved index
    # at `path` is loaded as it is (its own config: model, hybrid, instructions).
    (work / "txtai.yml").write_text(f"path: {target}\nembeddings: {{}}\n", encoding="utf-8")
    return {"passages": len(docs), "index_s": seconds, "config": str(work / "txtai.yml")}


def search_path(query: str, k: int) -> str:
    return "/search?" + urllib.parse.urlencode({"query": query, "limit": k})


class TxtaiServer(ServedProcess):
    """``uvicorn txtai.api:app`` on 127.0.0.1 with the saved index (same interface as
    bench/query.py's ``Server``)."""

    name = "txtai"

    def __init__(self, config: str, port: int, log: Path) -> None:
        env = {**os.environ, "CONFIG": config, "TOKENIZERS_PARALLELISM": "false"}
        super().__init__([sys.executable, "-m", "uvicorn", "txtai.api:app", "--host",
                          "127.0.0.1", "--port", str(port)], port, log, env)

    def wait_ready(self, want_lexical: str | None = None, timeout: float = 600) -> float:
        """Seconds until the first search is answered (the index loaded)."""
        return self.poll_ready(search_path("thời tiết", 1), lambda status, body: status == 200
                               and isinstance(json.loads(body), list), timeout)
