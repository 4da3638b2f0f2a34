"""Broken inputs never stop a run: each becomes a SkippedRecord naming its file (and line).

One folder mixes good files of every format with a truncated ``.jsonl.gz``, a plain file
named ``.jsonl.gz``, binary junk named ``.jsonl``, a directory named ``x.jsonl``, a broken
link and a pipe. ``iter_inputs`` and ``estimate_records`` must not raise on it, must yield
every good article and must name each bad file exactly once; the real CLI must index the
good articles and name the bad files without a traceback. Also: the encoding message for
TCVN3 text, and the first-run model notice and third-party quieting.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import random
import warnings
from pathlib import Path

import pytest

from indexer.article import Article, SkippedRecord
from indexer.readers import decode_bytes, estimate_records, iter_inputs, read_jsonl, read_txt
from indexer.readers.decoding import LEGACY_REASON

REPO = Path(__file__).resolve().parents[1]
BODY = "Sáng 18-7, Phó Chủ tịch UBND tỉnh Gia Lai đã có buổi làm việc với lãnh đạo ngành thi hành án."
HTML = f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Trang tin HTML</title></head><body>
<article><h1>Trang tin HTML</h1>
<p>{BODY}</p>
<p>Theo báo cáo, ngành đã giải quyết xong 12.368/27.745 việc, đạt tỷ lệ 63,57% trong năm.</p>
<p>Phó Chủ tịch yêu cầu ngành xây dựng kế hoạch hành động cụ thể, phân công rõ người, rõ việc.</p>
</article></body></html>
"""
# Small Windows-free TCVN3 (ABC) table: the letters the sample below needs.
TCVN3 = {"ă": 0xA8, "â": 0xA9, "ê": 0xAA, "ô": 0xAB, "ơ": 0xAC, "ư": 0xAD, "đ": 0xAE, "Đ": 0xA7,
         "à": 0xB5, "ả": 0xB6, "ã": 0xB7, "á": 0xB8, "ạ": 0xB9}
TCVN3_TEXT = ("Tân Sơn đang tăng hạng, hàng không đạt cao; khách hàng đã trả và đang bay. "
              "Các hãng đang tăng thêm tàu bay sang Đà Lạt và Thơ, khách đang đông.")

GOOD_TITLES = {"JSONL một", "JSONL hai", "CSV một", "Tin văn bản", "Trang tin HTML"}


def _tcvn3(text: str) -> bytes:
    return bytes(TCVN3.get(ch, ord(ch)) for ch in text)


def _truncated_gzip(n_lines: int = 3) -> bytes:
    """A gzip of ``n_lines`` good JSONL lines, cut in the middle of the compressed stream."""
    rnd = random.Random(7)
    words = "kinh tế xã hội giáo dục thể thao văn hóa pháp luật thời sự".split()
    lines = [json.dumps({"title": f"Nén {i}", "text": " ".join(
        f"{rnd.choice(words)}{rnd.randint(0, 99999)}" for _ in range(400))}, ensure_ascii=False)
        for i in range(n_lines)]
    data = gzip.compress(("\n".join(lines) + "\n").encode("utf-8"))
    return data[: len(data) // 2]


def make_folder(root: Path, *, html: bool = True) -> dict[str, Path]:
    """Good files of every format plus one of each kind of bad file; return the bad ones."""
    root.mkdir(parents=True, exist_ok=True)
    good = [{"title": "JSONL một", "text": BODY}, {"title": "JSONL hai", "text": BODY + " Hai."}]
    (root / "good.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in good),
                                     encoding="utf-8")
    (root / "good.csv").write_text(f'title,text\nCSV một,"{BODY} Ba."\n', encoding="utf-8")
    (root / "good.txt").write_text(f"Tin văn bản\n{BODY} Bốn.\n", encoding="utf-8")
    if html:
        (root / "good.html").write_text(HTML, encoding="utf-8")
    bad = {
        "truncated": root / "cut.jsonl.gz",
        "not_gzip": root / "plain.jsonl.gz",
        "binary": root / "junk.jsonl",
        "dangling": root / "gone.jsonl",
    }
    bad["truncated"].write_bytes(_truncated_gzip())
    bad["not_gzip"].write_text(json.dumps({"title": "x", "text": BODY}) + "\n", encoding="utf-8")
    junk = bytearray(random.Random(3).randbytes(3000))
    junk[100:120] = b"\x00" * 20  # NULs for sure, as real binary files have
    bad["binary"].write_bytes(bytes(junk))
    (root / "x.jsonl").mkdir()  # a folder with an input-like name: walked, holds nothing
    # Unreadable even for root: a link to nothing (chmod 000 does not stop root).
    bad["dangling"].symlink_to(root / "does-not-exist.jsonl")
    if hasattr(os, "mkfifo"):
        bad["fifo"] = root / "pipe.jsonl"
        os.mkfifo(bad["fifo"])  # reading it would block the run forever
    return bad


def _named(skipped: list[SkippedRecord], path: Path) -> list[SkippedRecord]:
    return [s for s in skipped if Path(s.path) == path]


def test_iter_inputs_names_each_bad_file_once(tmp_path: Path) -> None:
    bad = make_folder(tmp_path / "in")
    items = list(iter_inputs([tmp_path / "in"]))
    articles = [i for i in items if isinstance(i, Article)]
    skipped = [i for i in items if isinstance(i, SkippedRecord)]
    titles = {a.title for a in articles}
    assert GOOD_TITLES <= titles
    for kind, path in bad.items():
        assert len(_named(skipped, path)) == 1, (kind, skipped)
    reasons = {kind: _named(skipped, path)[0].reason for kind, path in bad.items()}
    assert reasons["not_gzip"].startswith("not a gzip file")
    assert reasons["truncated"].startswith("truncated or corrupt gzip")
    assert reasons["binary"].startswith("binary data")
    assert reasons["dangling"] == "broken symbolic link"
    if "fifo" in reasons:
        assert reasons["fifo"].startswith("not a regular file")
    # Nothing else is skipped: the folder named x.jsonl is walked like any folder.
    assert {Path(s.path) for s in skipped} == set(bad.values())


def test_truncated_gzip_keeps_good_lines_and_names_the_break(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(_truncated_gzip())
    items = list(read_jsonl(path))
    articles = [i for i in items if isinstance(i, Article)]
    assert 1 <= len(articles) < 3  # the lines before the cut survive
    assert isinstance(items[-1], SkippedRecord)
    assert items[-1].line == len(articles) + 1  # the line where it broke
    assert len(items) == len(articles) + 1


def test_estimate_records_never_raises(tmp_path: Path) -> None:
    make_folder(tmp_path / "in")
    estimate = estimate_records([tmp_path / "in", tmp_path / "missing.jsonl"])
    assert isinstance(estimate, int)
    assert estimate >= len(GOOD_TITLES)
    assert estimate_records([tmp_path / "in"], fmt="jsonl") >= 2


def test_explicit_bad_paths(tmp_path: Path) -> None:
    bad = make_folder(tmp_path / "in", html=False)
    bad.pop("fifo", None)  # named explicitly, a pipe is read (``<(zcat x.gz)``): it would wait
    paths = [*bad.values(), tmp_path / "in" / "x.jsonl", tmp_path / "missing.jsonl"]
    items = list(iter_inputs(paths))
    skipped = [i for i in items if isinstance(i, SkippedRecord)]
    for path in paths:
        assert len(_named(skipped, path)) == 1, (path, skipped)
    (empty,) = _named(skipped, tmp_path / "in" / "x.jsonl")
    assert empty.reason.startswith("no input files in this folder")
    assert isinstance(estimate_records(paths), int)


def test_vanishing_and_unreadable_folders_do_not_raise(tmp_path: Path) -> None:
    from indexer.readers.formats import walk_inputs

    entries = walk_inputs(tmp_path / "vanished", (".jsonl",))
    assert entries and entries[0][1].startswith("cannot read folder")
    items = list(iter_inputs([tmp_path / "vanished"]))
    assert len(items) == 1 and isinstance(items[0], SkippedRecord)


def test_bad_json_values_and_sidecars_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    lines = ['{"text": 1' + "0" * 5000 + "}", "[" * 100_000, json.dumps({"text": BODY})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = list(read_jsonl(path))
    assert [type(i).__name__ for i in items] == ["SkippedRecord", "SkippedRecord", "Article"]
    assert [i.line for i in items[:2]] == [1, 2]
    (tmp_path / "a.txt").write_text(f"Tiêu đề\n{BODY}\n", encoding="utf-8")
    (tmp_path / "a.json").write_text("[" * 100_000, encoding="utf-8")
    out = list(read_txt(tmp_path / "a.txt"))
    assert any(isinstance(i, Article) for i in out)
    assert any(isinstance(i, SkippedRecord) and "sidecar ignored" in i.reason for i in out)


def test_tcvn3_message_says_how_to_fix_it(tmp_path: Path) -> None:
    data = _tcvn3(TCVN3_TEXT)
    assert decode_bytes(data) == (None, LEGACY_REASON)
    assert LEGACY_REASON.startswith("not UTF-8 or Windows-1258")
    assert "TCVN3/VNI" in LEGACY_REASON and "UniKey" in LEGACY_REASON
    path = tmp_path / "tcvn3.txt"
    path.write_bytes(_tcvn3("Tin Đà Lạt\n") + data)
    (skipped,) = list(read_txt(path))
    assert isinstance(skipped, SkippedRecord) and skipped.reason == LEGACY_REASON


def test_tcvn3_jsonl_is_named_once_but_one_bad_line_is_just_a_line(tmp_path: Path) -> None:
    legacy = tmp_path / "tcvn3.jsonl"
    records = [json.dumps({"title": f"Tin {i}", "text": TCVN3_TEXT}, ensure_ascii=False)
               for i in range(40)]
    legacy.write_bytes(b"".join(_tcvn3(r) + b"\n" for r in records))
    assert list(read_jsonl(legacy)) == [SkippedRecord(str(legacy), None, LEGACY_REASON)]
    mixed = tmp_path / "mixed.jsonl"
    good = json.dumps({"title": "Tốt", "text": BODY}, ensure_ascii=False).encode("utf-8")
    mixed.write_bytes(good + b"\n" + _tcvn3(records[0]) + b"\n" + good + b"\n")
    items = list(read_jsonl(mixed))
    assert [type(i).__name__ for i in items] == ["Article", "SkippedRecord", "Article"]
    assert items[1].line == 2 and items[1].reason == LEGACY_REASON


# --- the real command line ------------------------------------------------------


@pytest.mark.model  # `index` embeds with the real model (the session's, in-process)
@pytest.mark.parametrize("quiet", [True, False], ids=["quiet", "progress-bar"])
def test_cli_index_reports_bad_files_and_goes_on(tmp_path: Path, cli, quiet: bool) -> None:
    # In-process (the root click group, stderr captured with tqdm's bar writing to it): the
    # messages and exit code are the command's, not the interpreter's. No HTML here.
    bad = make_folder(tmp_path / "in", html=False)
    index = tmp_path / "idx"
    proc = cli("index", tmp_path / "in", "--index", index, *(["--quiet"] if quiet else []))
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    for path in bad.values():
        assert proc.stderr.count(f"skipped {path}") == 1, (path, proc.stderr)
    stats = cli("stats", "--index", index, "--json")
    assert stats.returncode == 0, stats.stderr
    n_cut = sum(isinstance(i, Article) for i in read_jsonl(bad["truncated"]))
    assert json.loads(stats.stdout)["articles"] == 4 + n_cut  # jsonl x2, csv, txt, gz head


# --- first-run notice and third-party quieting -------------------------------


def test_quiet_third_party_hides_and_restores() -> None:
    from indexer.models.quiet import quiet_third_party

    logger = logging.getLogger("transformers")
    before = (logger.level, logging.getLogger().level, list(logging.getLogger().handlers))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_third_party(False):
            warnings.warn("TracerWarning-like noise", UserWarning)
            assert not logger.isEnabledFor(logging.WARNING)
            logging.warning("root noise from onnxruntime's quantiser")
        assert not caught
        with quiet_third_party(True):
            warnings.warn("shown when verbose", UserWarning)
            assert logger.getEffectiveLevel() == logging.getLogger("transformers").getEffectiveLevel()
        assert [str(w.message) for w in caught] == ["shown when verbose"]
    after = (logger.level, logging.getLogger().level, list(logging.getLogger().handlers))
    assert after == before


def test_quiet_third_party_nested_inherits_verbose() -> None:
    from indexer.models.quiet import quiet_third_party

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_third_party(True), quiet_third_party():
            warnings.warn("verbose outer wins", UserWarning)
        with quiet_third_party(False), quiet_third_party():
            warnings.warn("hidden", UserWarning)
    assert [str(w.message) for w in caught] == ["verbose outer wins"]


def test_hf_progress_bars_restored() -> None:
    from huggingface_hub import utils as hub_utils

    from indexer.models.quiet import quiet_third_party

    was_disabled = hub_utils.are_progress_bars_disabled()
    with quiet_third_party(False):
        assert hub_utils.are_progress_bars_disabled()
    assert hub_utils.are_progress_bars_disabled() == was_disabled


def test_first_build_is_announced_once(tmp_path: Path, monkeypatch, capsys) -> None:
    from indexer.models import default_model, onnx_export
    from indexer.models.quiet import model_setup

    def fake_convert(src: Path, sha: str, out: Path) -> None:
        warnings.warn("noise while building", UserWarning)
        (out / default_model.MANIFEST).write_text("{}")

    def fake_export(model_dir: Path, out: Path) -> None:
        (out / "export.json").write_text("{}")

    monkeypatch.setattr(default_model, "_convert", fake_convert)
    monkeypatch.setattr(onnx_export, "_export", fake_export)
    models = tmp_path / "models"
    with model_setup(models, verbose=False):
        built = default_model.ensure_default_model(models)
        onnx_export.ensure_onnx_int8(built.path)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("vnsearch:")]
    assert lines[0] == (f"vnsearch: building the default model once (about a minute; "
                        f"cached in {models})")
    assert lines[1].startswith("vnsearch: model ready")
    assert len(lines) == 2 and "noise while building" not in err
    # Built already: nothing is said the second time.
    with model_setup(models, verbose=False):
        default_model.ensure_default_model(models)
    assert capsys.readouterr().err == ""
    # On its own (no model_setup scope) a build still says both lines.
    onnx_export.ensure_onnx_int8(tmp_path / "other")
    own = capsys.readouterr().err.splitlines()
    assert own[0].startswith("vnsearch: building the ONNX int8 model once") and len(own) == 2
