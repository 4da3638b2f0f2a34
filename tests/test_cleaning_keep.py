"""Cleaning keeps every body sentence of real articles (the check of bench/cleaning_keep.py).

A fixed sample of 60 real articles from ``../shared/data/news`` (crawlnews-2026,
dantri-unc, Báo Mới) is cleaned; every raw sentence must be in the cleaned text,
possibly without a photo credit glued into it, or belong to a whole paragraph removed
by a boilerplate rule. The full measurement (200 articles, with examples to read) is
``.venv/bin/python bench/cleaning_keep.py``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
from support import SHARED  # noqa: E402 - ../shared or VNSEARCH_TEST_SHARED

NEWS = SHARED / "data" / "news"
_FILES = ("crawlnews-2026.jsonl", "dantri-unc.jsonl", "baomoi.jsonl.gz")

pytestmark = pytest.mark.skipif(
    not all((NEWS / name).is_file() for name in _FILES),
    reason=f"real news corpora not available under {NEWS} (needs {', '.join(_FILES)})",
)


def _bench() -> ModuleType:
    # bench/ is a folder of scripts, not a package: load the script by path.
    spec = importlib.util.spec_from_file_location("cleaning_keep", ROOT / "bench" / "cleaning_keep.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    # Registered first: dataclasses look their module up in sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tally():  # noqa: ANN201 - the bench's Tally, loaded at run time
    bench = _bench()
    return bench.measure(60, seed=20261201, news=NEWS)


def test_no_body_sentence_lost(tally) -> None:  # noqa: ANN001
    lost = tally.examples["lost"]
    assert not lost, "sentences lost by cleaning:\n" + "\n".join(lost)


def test_sample_exercises_credit_removal(tally) -> None:  # noqa: ANN001
    # The sample must contain glued credits, or the check above proves little.
    assert tally.counts["kept"] > 1000
    assert tally.counts["kept-credit"] >= 10
    # The credit removed is the label and a short name, never a whole sentence.
    for example in tally.examples["kept-credit"]:
        credit = example.split("] ", 1)[-1].split(" | ", 1)[0]
        assert len(credit.split()) <= 10, example
