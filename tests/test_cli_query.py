"""``vnsearch query`` as a person reads it: Vietnamese words, the same no-result hints as the
API (and so the page) — told to type tones when the query has none, to try fewer words or
no tones when it has them — and the former-province note also when nothing matched.

In process (click's ``CliRunner`` on the root group), on the session's demo index with the
session's encoder (the command's own model load is skipped).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from search_api.cli import main
from search_api.retrieval import SearchRequest
from search_api.retrieval.messages import (
    HINT_DROP_TONES,
    HINT_FILTERS,
    HINT_LEXICAL,
    HINT_OPERATORS,
    HINT_OTHER_WORDS,
    HINT_TYPE_TONES,
    no_result_hints,
)
from search_api.retrieval.request import validate

SEED_QUERY = "kết quả thi hành án dân sự Gia Lai"
TONELESS_NONSENSE = "zzzqqqxxx"
TONED_NONSENSE = "zzzqqqxxx ặcặc"
ENGLISH = ("no results", "matches", "relevance", "score", "also in", "(no url)", "(no title)",
           "is part of", "try ")


@pytest.fixture
def query(settings, demo_index, encoder, monkeypatch):
    """``vnsearch query TEXT --index <demo> ARGS…`` → (exit code, stdout)."""
    monkeypatch.setenv("VNSEARCH_HOME", str(settings.home))
    monkeypatch.setattr("indexer.encoders.create_encoder", lambda _settings: encoder)

    def run(text: str, *args: str) -> tuple[int, str]:
        out = CliRunner().invoke(main, ["query", text, "--index", str(demo_index), *args])
        return out.exit_code, out.stdout

    return run


def hint_lines(stdout: str) -> list[str]:
    return [line.strip()[2:] for line in stdout.splitlines() if line.startswith("  • ")]


def test_results_are_in_vietnamese(query) -> None:
    code, out = query(SEED_QUERY, "-k", "3")
    assert code == 0, out
    assert out.startswith("Tìm thấy ") and " kết quả (hybrid, " in out.splitlines()[0]
    assert "độ liên quan " in out and " · điểm " in out
    # option names stay as they are typed (the cut line names --min-relevance)
    assert not [w for w in ENGLISH if w in out.lower().replace("--min-relevance", "")], out


@pytest.mark.parametrize("text, told, not_told", [
    (TONELESS_NONSENSE, HINT_TYPE_TONES, HINT_DROP_TONES),
    (TONED_NONSENSE, HINT_DROP_TONES, HINT_TYPE_TONES),
])
def test_no_results_hints_follow_the_tones(query, text: str, told: str, not_told: str) -> None:
    code, out = query(text, "--mode", "lexical")
    assert code == 0, out
    assert out.startswith("Không tìm thấy kết quả phù hợp (lexical, ")
    hints = hint_lines(out)
    assert told in hints and not_told not in hints
    assert hints[-1] == HINT_OTHER_WORDS and HINT_LEXICAL in hints
    code, raw = query(text, "--mode", "lexical", "--json")
    assert json.loads(raw)["hints"] == hints  # the API's lines, as the page shows them
    assert not [w for w in ENGLISH if w in out.lower()], out


def test_province_note_without_results(query) -> None:
    code, out = query(TONELESS_NONSENSE, "--mode", "lexical", "--province", "binh dinh")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[1] == ("Bình Định đã nhập vào Gia Lai từ ngày 1/7/2025: đang hiện các bài "
                        "viết về Bình Định cũ.")
    assert hint_lines(out)[0] == HINT_FILTERS


def test_hints_of_a_request(settings) -> None:
    """Most specific first, the generic one last; the server's own cut-off is not named."""
    def hints(**kw) -> list[str]:
        req = validate(SearchRequest(**kw), settings)
        return no_result_hints(req.ranking_query, mode=req.mode, filtered=req.filtered,
                               operators=req.operators.active,
                               asked_min_relevance=kw.get("min_relevance"))

    assert hints(query="thi hanh an") == [HINT_TYPE_TONES, HINT_OTHER_WORDS]
    assert hints(query="thi hành án") == [HINT_DROP_TONES, HINT_OTHER_WORDS]
    assert hints(query="2025") == [HINT_OTHER_WORDS]  # no letters: no word on tones
    assert hints(query='"thi hành án" -Gia', source="Báo Gia Lai", mode="lexical") == [
        HINT_FILTERS, HINT_DROP_TONES, HINT_OPERATORS, HINT_LEXICAL, HINT_OTHER_WORDS]
    assert "50%" in hints(query="thi hành án", min_relevance=0.5)[1]
