"""Search internals: the FTS5 expression and document-frequency pruning of query syllables."""

from __future__ import annotations

from search_api.retrieval import Searcher, SearchRequest
from search_api.retrieval.lexical.base import fts_query


def test_fts_query_quotes_everything_and_adds_bigrams():
    expr = fts_query('thi hành "án" NEAR(x) OR *')
    assert 'toned : ("thi" OR "hành" OR "án"' in expr
    assert '"thi_hanh"' in expr and '"hanh_an"' in expr
    assert "NEAR(" not in expr and " * " not in expr.replace('"*"', "")


def test_toneless_query_searches_folded_columns_only():
    expr = fts_query("thi hanh an dan su")
    assert "toned" not in expr and '"thi"' in expr  # "thi" is not dropped as "thì"


def test_too_common_syllables_dropped_but_bigrams_kept():
    common = {"thi", "hành"}
    expr = fts_query("thi hành án", lambda column, term: term in common or term == "hanh")
    folded = expr.split(" OR toned")[0]
    assert '"thi"' not in folded and '"hanh"' not in folded and '"an"' in folded
    assert '"thi_hanh"' in expr and '"hanh_an"' in expr
    everything = fts_query("thi hành", lambda column, term: True)
    assert '"thi"' in everything  # never prune a query to nothing


def test_pruned_search_still_finds_the_seed(demo_index, settings, encoder):
    pruning = settings.model_copy(update={"lexical_prune_min_passages": 1, "lexical_max_df": 0.05})
    searcher = Searcher(demo_index, pruning, encoder)
    try:
        assert searcher._too_common_filter() is not None
        for query in ("kết quả thi hành án dân sự Gia Lai", "thi hanh an dan su gia lai"):
            for mode in ("lexical", "hybrid"):
                top = searcher.search(SearchRequest(query=query, k=3, mode=mode)).results[0]
                assert top.source == "Báo Gia Lai", (query, mode, top.title)
    finally:
        searcher.close()


def test_concurrent_queries_share_one_encoder_call(demo_index, settings, encoder):
    """Queries that arrive while the encoder is busy are embedded together, each getting its
    own vector (the same as embedding it alone)."""
    import threading
    import time as _time

    import numpy as np

    calls: list[int] = []

    class SlowCounting:
        info = encoder.info

        def encode_queries(self, texts):
            calls.append(len(texts))
            _time.sleep(0.3)  # a busy encoder: the other requests queue up meanwhile
            return encoder.encode_queries(texts)

    searcher = Searcher(demo_index, settings, SlowCounting(), lexical_matrix=False)
    queries = [f"giá vàng hôm nay ngày {i}" for i in range(8)]
    out: dict[str, np.ndarray] = {}
    try:
        threads = [threading.Thread(target=lambda q=q: out.__setitem__(q, searcher.query_vector(q)))
                   for q in queries]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        searcher.close()
    assert sum(calls) == len(queries) and len(calls) < len(queries)
    alone = encoder.encode_queries(queries)
    for q, vec in zip(queries, alone):
        assert float(np.dot(out[q], vec)) > 0.9999
