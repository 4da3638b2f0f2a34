"""Article identity by file: editing a scraped file updates its article, ``--sync`` removes
what is gone, and an index written before file keys existed is not duplicated.

The CLI runs in-process with the suite's loaded model (the session ``cli`` fixture).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

BODY = ("Sáng 5/3, Cục Thi hành án dân sự tỉnh Gia Lai tổ chức hội nghị tổng kết công tác thi "
        "hành án năm 2024. Trong năm, toàn ngành đã thi hành xong hơn 12 nghìn việc.\n\n"
        "Phát biểu tại hội nghị, lãnh đạo Cục đề nghị các chi cục đẩy mạnh chuyển đổi số.")
MORE = "\n\nNgoài ra, hội nghị đã khen thưởng 15 tập thể và 30 cá nhân có thành tích xuất sắc."


@pytest.fixture
def run(cli, encoder):  # encoder: loaded before the first command asks for it
    """``run(*args)``: ``vnsearch ARGS`` in-process; its stdout, the exit status checked."""
    def invoke(*args: str | Path, code: int = 0) -> str:
        result = cli(*args)
        assert result.returncode == code, result.stdout + result.stderr
        return result.stdout
    return invoke


def counts(output: str) -> dict[str, int]:
    """The numbers of the summary line's ``articles:`` part."""
    part = output.split("articles:", 1)[1].split(";", 1)[0]
    return {name: int(n) for n, name in re.findall(r"(\d+) (\w+)", part)}


def articles(run, index: Path) -> list[dict]:
    return [json.loads(line) for line in run("export", "--index", index).splitlines() if line]


def test_edited_txt_updates_and_sync_removes(run, tmp_path):
    folder, index = tmp_path / "scraped", tmp_path / "index"
    (folder / "gialai").mkdir(parents=True)
    page = folder / "gialai" / "001.txt"
    page.write_text("Tổng kết công tác thi hành án dân sự năm 2024\n" + BODY, encoding="utf-8")
    other = folder / "002.txt"
    other.write_text("Giá cà phê tăng cao\nGiá cà phê hôm nay tăng mạnh ở Gia Lai.",
                     encoding="utf-8")
    assert counts(run("index", folder, "--index", index))["added"] == 2

    page.write_text(page.read_text(encoding="utf-8") + MORE, encoding="utf-8")
    summary = counts(run("index", folder, "--index", index))
    assert summary["updated"] == 1 and summary["added"] == 0 and summary["unchanged"] == 1
    stored = articles(run, index)
    assert len(stored) == 2
    edited = next(a for a in stored if a["title"].startswith("Tổng kết"))
    assert "khen thưởng 15 tập thể" in edited["text"]

    page.unlink()
    out = run("index", folder, "--index", index, "--sync")
    assert "sync: 1 articles removed" in out
    assert [a["title"] for a in articles(run, index)] == ["Giá cà phê tăng cao"]


def test_jsonl_records_without_id_or_url_are_identified_by_record(run, tmp_path):
    folder, index = tmp_path / "export", tmp_path / "index"
    folder.mkdir()
    rows = [{"title": f"Tin số {i}", "text": f"{BODY} Bản tin số {i}."} for i in range(3)]
    feed = folder / "feed.jsonl"
    feed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    assert counts(run("index", folder, "--index", index))["added"] == 3
    rows[1]["text"] += MORE
    feed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    summary = counts(run("index", folder, "--index", index))
    assert summary == {"added": 0, "updated": 1, "unchanged": 2, "duplicates": 0, "skipped": 0}
    assert len(articles(run, index)) == 3


def test_input_id_wins_over_content(run, tmp_path):
    feed, index = tmp_path / "feed.jsonl", tmp_path / "index"
    record = {"id": "gl-1", "title": "Tổng kết thi hành án", "text": BODY}
    feed.write_text(json.dumps(record, ensure_ascii=False) + "\n", "utf-8")
    run("index", feed, "--index", index)
    record["text"] += MORE
    feed.write_text(json.dumps(record, ensure_ascii=False) + "\n", "utf-8")
    assert counts(run("index", feed, "--index", index))["updated"] == 1
    assert len(articles(run, index)) == 1


def test_deleted_file_article_stays_deleted_after_an_edit(run, tmp_path):
    folder, index = tmp_path / "scraped", tmp_path / "index"
    folder.mkdir()
    page = folder / "001.txt"
    page.write_text("Tổng kết thi hành án\n" + BODY, encoding="utf-8")
    run("index", folder, "--index", index)
    (stored,) = articles(run, index)
    run("delete", "--index", index, stored["id"])
    page.write_text(page.read_text(encoding="utf-8") + MORE, encoding="utf-8")
    out = run("index", folder, "--index", index)
    assert "tombstoned: 1" in out and articles(run, index) == []


def test_index_from_before_file_keys_is_not_duplicated(run, tmp_path):
    """An index whose articles carry no file key (as written by earlier versions): unchanged
    files match by content, and an edited single-article file by its stored origin."""
    from indexer.db import IndexDB

    folder, index = tmp_path / "scraped", tmp_path / "index"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i:03}.txt").write_text(f"Bài số {i}\n{BODY} Bài {i}.", encoding="utf-8")
    run("index", folder, "--index", index)
    with IndexDB(index) as db, db.transaction():
        db.conn.execute("DELETE FROM external_ids WHERE external_id LIKE 'file:%'")
    edited = folder / "001.txt"
    edited.write_text(edited.read_text(encoding="utf-8") + MORE, encoding="utf-8")
    summary = counts(run("index", folder, "--index", index))
    assert summary["added"] == 0 and summary["updated"] == 1 and summary["unchanged"] == 2
    assert len(articles(run, index)) == 3
