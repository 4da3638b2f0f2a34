"""Helpers of tests/test_cluster_ray.py: reading shards back, and talking to ``cluster serve``."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
from support import free_port  # noqa: F401 - test_cluster_ray imports it from here

#: The line ``vnsearch cluster serve`` prints once its app answers.
READY = re.compile(r"serving \d+ shards × \d+ replicas on (http://\S+) \(private Ray at (\S+)\)")


def articles_of(directory: Path) -> dict[str, list[str]]:
    """article id → its passage texts in order."""
    with sqlite3.connect(f"file:{directory / 'store.sqlite'}?mode=ro", uri=True) as con:
        rows = con.execute("SELECT a.id, p.text FROM articles a LEFT JOIN passages p "
                           "ON p.article_id = a.id ORDER BY a.id, p.ordinal").fetchall()
    out: dict[str, list[str]] = {}
    for article_id, text in rows:
        out.setdefault(article_id, [])
        if text is not None:
            out[article_id].append(text)
    return out


def stories_of(directory: Path) -> list[tuple[str, str]]:
    """(article id, story id) of each article of a shard."""
    with sqlite3.connect(f"file:{directory / 'store.sqlite'}?mode=ro", uri=True) as con:
        return con.execute("SELECT id, coalesce(story_id, id) FROM articles").fetchall()


def vectors_of(directory: Path) -> dict[tuple[str, int], np.ndarray]:
    """(article id, passage ordinal) → the passage's stored vector."""
    with sqlite3.connect(f"file:{directory / 'store.sqlite'}?mode=ro", uri=True) as con:
        rows = con.execute("SELECT article_id, ordinal, vector FROM passages").fetchall()
    return {(a, o): np.frombuffer(v, np.float32) for a, o, v in rows}


def wait_for_ready(proc: subprocess.Popen, log: Path, timeout_s: float = 240) -> re.Match:
    """The CLI's ready line (printed once the app answers); fails with the log's tail when
    the command exits or does not come up in time."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8")
        if (ready := READY.search(text)) is not None:
            return ready
        assert proc.poll() is None, text[-3000:]
        time.sleep(0.5)
    raise AssertionError("vnsearch cluster serve did not come up: "
                         + log.read_text(encoding="utf-8")[-3000:])


def http_hits(client: Any, **params: Any) -> tuple[list[tuple], int, dict]:
    """(article id, passage id, score) of each /search hit, the total and the whole body."""
    body = client.get("/search", params={"min_relevance": 0, **params})
    assert body.status_code == 200, body.text
    data = body.json()
    return [(h["article_id"], h["passage_id"], h["score"]) for h in data["results"]], \
        data["total"], data


def local_hits(searcher: Any, **params: Any) -> tuple[list[tuple], int]:
    """The same from an in-process searcher."""
    from search_api.schemas import search_request

    result = searcher.search(search_request(min_relevance=0, **params))
    return [(h.article_id, h.passage_id, h.score) for h in result.results], result.total
