"""Messages that name the fix: a CSV without the text column, undecodable bytes in any
format, and a path that does not exist (its own exit status).

``vnsearch index`` runs in-process (click's CliRunner) with the suite's loaded model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer.article import Article, SkippedRecord
from indexer.commands import EXIT_MISSING_PATH, EXIT_SKIPPED
from indexer.readers import iter_inputs, read_csv, read_html, read_jsonl, read_txt
from indexer.readers.decoding import BINARY_REASON, LEGACY_REASON, decode_bytes
from search_api.cli import main

BODY = ("Giá lúa gạo tại Đồng bằng sông Cửu Long tăng mạnh trong tuần qua, nông dân phấn khởi "
        "vì thương lái tranh nhau thu mua để xuất khẩu. ") * 6
FIX = "no column 'text' in the header; map one with --map text=COLUMN"


@pytest.fixture
def cli(monkeypatch, settings, encoder):
    """Invoke ``vnsearch`` in-process with the suite's model and home."""
    import indexer.encoders

    monkeypatch.setenv("VNSEARCH_HOME", str(settings.home))
    monkeypatch.setattr(indexer.encoders, "create_encoder", lambda *a, **k: encoder)

    def invoke(*args: object):
        return CliRunner().invoke(main, [str(a) for a in args])

    return invoke


def _good(path: Path) -> Path:
    path.write_text(json.dumps({"id": "g1", "title": "Lúa gạo", "text": BODY},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("vnsearch:")]


# --- a CSV without the text column -------------------------------------------------------


def test_csv_without_text_column_is_named_once_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "cms.csv"
    rows = "\n".join(f"Tiêu đề {i},{BODY}" for i in range(50))
    path.write_text(f"headline,body\n{rows}\n", encoding="utf-8")
    (skipped,) = list(read_csv(path))
    assert isinstance(skipped, SkippedRecord) and skipped.line is None
    assert skipped.reason.startswith(FIX) and "'body'" in skipped.reason
    (mapped_wrong,) = list(read_csv(path, {"text": "content"}))
    assert mapped_wrong.reason.startswith("no column 'content' in the header; map one with "
                                          "--map text=COLUMN")
    fixed = list(read_csv(path, {"text": "body", "title": "headline"}))
    assert len(fixed) == 50 and all(isinstance(a, Article) for a in fixed)
    header_only = tmp_path / "empty.csv"
    header_only.write_text("title,text\n", encoding="utf-8")
    assert list(read_csv(header_only)) == []


def test_cli_names_a_csv_without_text_once(tmp_path: Path, cli) -> None:
    path = tmp_path / "cms.csv"
    path.write_text("headline,body\n" + "".join(f"T{i},{BODY}\n" for i in range(30)),
                    encoding="utf-8")
    result = cli("index", path, _good(tmp_path / "good.jsonl"), "--index", tmp_path / "i",
                 "--quiet")
    assert result.exit_code == EXIT_SKIPPED, result.output
    lines = _messages(result.stderr)
    assert len(lines) == 1 and FIX in lines[0] and str(path) in lines[0], result.stderr
    assert "1 added" in result.stdout and "1 skipped" in result.stdout


# --- bad bytes: one message whatever the format ----------------------------------------------


def _damaged(text: str) -> bytes:
    """UTF-8 with a few invalid bytes in the middle."""
    data = text.encode("utf-8")
    return data[:40] + b"\xff\xfe\x81" + data[40:]


def test_the_same_bad_bytes_get_the_same_message_in_every_format(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(_damaged(f"Lúa gạo tăng giá\n{BODY}"))
    (tmp_path / "a.csv").write_bytes(b"title,text\nT," + _damaged(BODY) + b"\n")
    (tmp_path / "a.html").write_bytes(b"<html><body><p>" + _damaged(BODY) + b"</p></body></html>")
    line = json.dumps({"title": "T", "text": BODY}, ensure_ascii=False)
    (tmp_path / "a.jsonl").write_bytes(_damaged(line) + b"\n" + line.encode() + b"\n")
    (tmp_path / "s.txt").write_text(f"Tiêu đề\n{BODY}\n", encoding="utf-8")
    (tmp_path / "s.json").write_bytes(_damaged(json.dumps({"url": "https://x.vn/" + "a" * 60})))
    reasons = {
        "txt": next(iter(read_txt(tmp_path / "a.txt"))).reason,
        "csv": next(iter(read_csv(tmp_path / "a.csv"))).reason,
        "html": next(iter(read_html(tmp_path / "a.html"))).reason,
        "jsonl": next(iter(read_jsonl(tmp_path / "a.jsonl"))).reason,
        "sidecar": next(iter(read_txt(tmp_path / "s.txt"))).reason.removeprefix("sidecar ignored: "),
    }
    assert set(reasons.values()) == {LEGACY_REASON}, reasons
    assert "binary" not in LEGACY_REASON


def test_real_binary_still_says_binary(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
    assert decode_bytes(png) == (None, BINARY_REASON)
    (tmp_path / "image.txt").write_bytes(png)
    (skipped,) = list(read_txt(tmp_path / "image.txt"))
    assert skipped.reason == BINARY_REASON


# --- a path that does not exist --------------------------------------------------------------


def test_missing_path_alone_exits_3_before_anything_is_built(tmp_path: Path, cli) -> None:
    result = cli("index", tmp_path / "typo.jsonl", "--index", tmp_path / "i")
    assert result.exit_code == EXIT_MISSING_PATH == 3, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"vnsearch: not found: {tmp_path / 'typo.jsonl'} (no such file or folder)"]
    assert not (tmp_path / "i").exists()


def test_missing_path_wins_over_skips_and_the_rest_is_indexed(tmp_path: Path, cli) -> None:
    good = _good(tmp_path / "good.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    for extra in ([], ["--allow-skips"]):
        index = tmp_path / f"i{len(extra)}"
        result = cli("index", good, bad, tmp_path / "typo", "--index", index, "--quiet", *extra)
        assert result.exit_code == EXIT_MISSING_PATH, (extra, result.output)
        assert "1 added" in result.stdout and "1 skipped" in result.stdout
        assert any("not found" in m and "typo" in m for m in _messages(result.stderr))
    strict = cli("index", good, tmp_path / "typo", "--index", tmp_path / "s", "--strict")
    assert strict.exit_code == EXIT_MISSING_PATH and not (tmp_path / "s").exists()
    skipped_only = cli("index", good, bad, "--index", tmp_path / "k", "--quiet")
    assert skipped_only.exit_code == EXIT_SKIPPED


def test_index_help_documents_every_exit_status() -> None:
    text = CliRunner().invoke(main, ["index", "--help"]).output
    assert "Exit status:" in text
    for code in ("0 ", "1 ", "2 ", "3 ", "130"):
        assert f"  {code}" in text, code
    assert "VNSEARCH_PROGRESS_INTERVAL_S" in text


def test_missing_paths_and_iter_inputs_agree(tmp_path: Path) -> None:
    from indexer.commands import missing_paths

    (tmp_path / "link.jsonl").symlink_to(tmp_path / "gone.jsonl")
    good = _good(tmp_path / "good.jsonl")
    paths = (str(good), str(tmp_path / "typo"), str(tmp_path / "link.jsonl"))
    assert missing_paths(paths) == list(paths[1:])
    skipped = [i for i in iter_inputs(list(paths)) if isinstance(i, SkippedRecord)]
    assert {s.path for s in skipped} == set(paths[1:])
