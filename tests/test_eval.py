"""`vnsearch eval`: metrics, the JSON contract, and pinned quality on a small real slice.

Like pyserini's regression tests, the slice's scores are pinned to the third decimal so
retrieval quality cannot drop silently. Lexical scores are exact (no floating-point model
in the loop); dense/hybrid get ±0.005 because BLAS summation order may differ across CPUs.
"""

from __future__ import annotations

import json

import pytest
from support import SHARED, needs_shared

from search_api.quality.evaluation import article_metrics, run_eval

EVAL = SHARED / "data" / "eval"
SLICE_ARTICLES = 60

# Measured with the default model on the first 60 vinewsqa-dev articles and their queries.
# Exact-tone column weights moved lexical 0.952 -> 0.950 and hybrid 0.960 -> 0.957
# here, while the full sets gained (README "Exact tones"); the learned ranking (issue 26,
# fitted on vinewsqa-dev among others, so in-sample here) moved hybrid 0.957 -> 0.965.
PINNED = {
    "hybrid": {"ndcg@10": 0.965, "tolerance": 0.005},
    "dense": {"ndcg@10": 0.880, "tolerance": 0.005},
    "lexical": {"ndcg@10": 0.950, "tolerance": 0.0015},
}


def test_article_metrics_by_hand():
    m = article_metrics(["x", "a", "y"], {"a"})
    assert m["mrr10"] == pytest.approx(0.5)
    assert m["ndcg10"] == pytest.approx(1 / 1.584962500721156)
    assert m["recall1"] == 0.0 and m["recall10"] == 1.0
    assert article_metrics([], {"a"})["ndcg10"] == 0.0
    two = article_metrics(["a", "b"], {"a", "b"})
    assert two["ndcg10"] == pytest.approx(1.0)


@pytest.fixture(scope="module")
def vinewsqa_slice(tmp_path_factory):
    if not (EVAL / "vinewsqa-dev.jsonl").exists():
        pytest.skip("../shared/data/eval/vinewsqa-dev is not present")
    out = tmp_path_factory.mktemp("slice")
    docs = [json.loads(l) for l in (EVAL / "vinewsqa-dev.corpus.jsonl").open(encoding="utf-8")]
    docs = docs[:SLICE_ARTICLES]
    ids = {d["id"] for d in docs}
    queries = [json.loads(l) for l in (EVAL / "vinewsqa-dev.jsonl").open(encoding="utf-8")]
    queries = [q for q in queries if set(q["relevant"]) <= ids]
    corpus = out / "corpus.jsonl"
    qfile = out / "queries.jsonl"
    corpus.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    qfile.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries), encoding="utf-8")
    return qfile, corpus, len(queries)


@pytest.fixture(scope="module")
def slice_rows(vinewsqa_slice, settings, encoder, tmp_path_factory):
    """The three modes measured once on a fresh index of the slice: (row by mode, the index
    directory). The toneless test asks its queries again on that index instead of building
    it and measuring the toned hybrid a second time."""
    qfile, corpus, _ = vinewsqa_slice
    index_dir = tmp_path_factory.mktemp("eval") / "idx"
    rows = run_eval(qfile, corpus, [], settings, modes=["hybrid", "dense", "lexical"],
                    index_dir=index_dir, progress=False, encoder=encoder)
    return {r.mode: r for r in rows}, index_dir


@needs_shared
@pytest.mark.model
def test_pinned_quality_on_slice(vinewsqa_slice, slice_rows):
    _, _, n = vinewsqa_slice
    got = {mode: row.as_json() for mode, row in slice_rows[0].items()}
    print(json.dumps(got, indent=1))
    for mode, pin in PINNED.items():
        assert got[mode]["queries"] == n
        assert got[mode]["ndcg@10"] == pytest.approx(pin["ndcg@10"], abs=pin["tolerance"]), mode
        assert got[mode]["passage_recall@10"] is not None
    # The shape of the system: fusion must beat both of its parts.
    assert got["hybrid"]["ndcg@10"] > got["lexical"]["ndcg@10"] > got["dense"]["ndcg@10"]


@needs_shared
@pytest.mark.model
def test_toneless_queries_lose_little(vinewsqa_slice, slice_rows, settings, encoder):
    qfile, corpus, _ = vinewsqa_slice
    rows, index_dir = slice_rows
    toned = rows["hybrid"]
    assert not toned.toneless
    toneless = run_eval(qfile, corpus, [], settings, modes=["hybrid"], toneless=True,
                        index_dir=index_dir, progress=False, encoder=encoder)[0]
    assert toneless.toneless
    assert toned.ndcg10 - toneless.ndcg10 <= 0.05


@needs_shared
@pytest.mark.model  # `eval` embeds with the real model (the session's, in-process)
def test_eval_cli_json_contract(vinewsqa_slice, cli, tmp_path):
    # in-process (the root click group, the session's model): the JSON contract is the
    # command's, a subprocess would only add an interpreter and a model load
    qfile, corpus, n = vinewsqa_slice
    proc = cli("eval", qfile, "--corpus", corpus, "--mode", "all", "--limit", "40", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(proc.stdout)
    assert [d["mode"] for d in data] == ["hybrid", "dense", "lexical"]
    for row in data:
        assert set(row) >= {"mode", "ndcg@10", "mrr@10", "recall@1", "recall@10", "recall@100",
                            "passage_recall@10", "queries", "qps"}
        assert row["queries"] == 40
        assert 0.0 <= row["ndcg@10"] <= 1.0
