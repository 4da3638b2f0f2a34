"""The query path kept lean (issue 28): one encoder call per search, no vectors read for a
lexical search, LightGBM without its data-frame integrations in the search process."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from support import REPO

from indexer.db import IndexDB
from search_api.retrieval import Searcher, SearchRequest


class CountingEncoder:
    """The real encoder, counting the queries it embeds."""

    def __init__(self, encoder) -> None:
        self._encoder = encoder
        self.info = encoder.info
        self.encoded: list[str] = []

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        self.encoded.extend(texts)
        return self._encoder.encode_queries(texts)

    def __getattr__(self, name: str):
        return getattr(self._encoder, name)


@pytest.fixture(scope="module")
def uncached(repo_index, settings, encoder):
    """A searcher with the query-vector cache off (as bench/txtai_side_by_side.py runs)."""
    counting = CountingEncoder(encoder)
    s = Searcher(repo_index, settings.model_copy(update={"query_cache_size": 0}), counting)
    yield s, counting
    s.close()


@pytest.mark.parametrize("query", ["thi hành án dân sự Gia Lai", "thi hanh an dan su gia lai"])
def test_a_hybrid_search_encodes_its_query_once(uncached, query) -> None:
    searcher, counting = uncached
    counting.encoded.clear()
    result = searcher.search(SearchRequest(query=query, mode="hybrid"))
    assert result.results
    # The dense search and the relevance features share one vector (it was encoded twice
    # when the cache was off: once for FAISS, once for the lexical-only candidates).
    assert len(counting.encoded) == 1


def test_a_lexical_search_reads_no_vectors(uncached, monkeypatch) -> None:
    searcher, counting = uncached
    calls: list[bool] = []
    original = IndexDB.relevance_rows

    def spy(self, ids, vectors=True):
        calls.append(vectors)
        rows = original(self, ids, vectors)
        assert vectors or all(row[3] == b"" for row in rows.values())
        return rows

    monkeypatch.setattr(IndexDB, "relevance_rows", spy)
    counting.encoded.clear()
    assert searcher.search(SearchRequest(query="thi hành án", mode="lexical")).results
    assert calls == [False] and counting.encoded == []
    assert searcher.search(SearchRequest(query="thi hành án", mode="hybrid")).results
    assert calls == [False, True]


def test_the_learned_model_loads_without_pandas_or_scikit_learn() -> None:
    """``import lightgbm`` pulls in pandas, scikit-learn and pyarrow (+130 MiB resident);
    the searcher's models load without them, and they still import afterwards."""
    code = ("import sys\n"
            "from search_api.retrieval.learned import LearnedModel\n"
            "model = LearnedModel.read()\n"
            "print(sorted(m for m in ('pandas', 'sklearn', 'pyarrow') if m in sys.modules))\n"
            "import pandas\n"
            "print(model.rank(__import__('numpy').zeros((2, 15))).shape)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout.split("\n")
    assert out[0] == "[]"
    assert out[1] == "(2,)"
