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
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path


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


class TxtaiServer:
    """``uvicorn txtai.api:app`` on 127.0.0.1 with the saved index (same interface as
    bench/query.py's ``Server``)."""

    def __init__(self, config: str, port: int, log: Path) -> None:
        self.port = port
        self.log = log.open("w")
        env = {**os.environ, "CONFIG": config, "TOKENIZERS_PARALLELISM": "false"}
        self.proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "txtai.api:app",
                                      "--host", "127.0.0.1", "--port", str(port)],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def wait_ready(self, want_lexical: str | None = None, timeout: float = 600) -> float:
        """Seconds until the first search is answered (the index loaded)."""
        import http.client

        t = time.perf_counter()
        while time.perf_counter() - t < timeout:
            if self.proc.poll() is not None:
                sys.exit(f"txtai exited with {self.proc.returncode}; see {self.log.name}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", search_path("thời tiết", 1))
                resp = conn.getresponse()
                body = resp.read()
                conn.close()
                if resp.status == 200 and isinstance(json.loads(body), list):
                    return time.perf_counter() - t
            except OSError:
                pass
            time.sleep(0.25)
        sys.exit(f"txtai not ready after {timeout} s; see {self.log.name}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
