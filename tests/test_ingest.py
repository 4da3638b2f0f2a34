"""Ingestion a newsroom can rely on: Vietnamese dates, one name per outlet,
multi-valued tone-insensitive categories, tombstones, folder sync, exit codes, upgrade.

The corpus is a handful of small real-looking articles written by the test, indexed with
the real default model (the session encoder) and searched with the real searcher; the
CLI contracts (exit codes, summary lines, one-line errors) run in-process on the root click
group with the session's model (one real subprocess checks the stdio of an early error).
"""

from __future__ import annotations

import csv
import json
import sqlite3
import time
from pathlib import Path

import pytest
from pydantic import SecretStr
from support import messages, run_cli_process

from indexer.readers import iter_inputs
from indexer.upgrade import upgrade_index
from indexer.writer import IndexWriter, index_articles
from search_api.retrieval import Searcher
from search_api.schemas import search_request

BODY = ("Sáng nay, Ủy ban nhân dân tỉnh tổ chức hội nghị tổng kết công tác năm, đánh giá kết "
        "quả thực hiện các nhiệm vụ kinh tế, xã hội và đề ra phương hướng cho năm tới. Các đại "
        "biểu đã thảo luận về {topic}, đồng thời kiến nghị nhiều giải pháp cụ thể để tháo gỡ "
        "khó khăn cho người dân và doanh nghiệp trên địa bàn trong thời gian tới.")

CSV_ROWS = [  # a CMS export: Vietnamese column names, dd/mm/yyyy dates
    {"ma": "c1", "tieu_de": "Thi hành án dân sự Gia Lai đạt kết quả cao",
     "noi_dung": BODY.format(topic="công tác thi hành án dân sự"),
     "nguon": "vnexpress.net", "ngay_dang": "10/03/2025", "chuyen_muc": "Pháp luật; Xã hội"},
    {"ma": "c2", "tieu_de": "Lễ hội cà phê Buôn Ma Thuột thu hút du khách",
     "noi_dung": BODY.format(topic="lễ hội cà phê và du lịch văn hóa"),
     "nguon": "VnExpress", "ngay_dang": "Thứ Hai, 17/3/2025 08:30", "chuyen_muc": "Văn hoá"},
    {"ma": "c3", "tieu_de": "Nông dân trồng sầu riêng trúng mùa",
     "noi_dung": BODY.format(topic="giá sầu riêng và xuất khẩu nông sản"),
     "nguon": "Dân trí (dantri.com.vn)", "ngay_dang": "05/04/2025",
     "chuyen_muc": "kinh-doanh"},
    {"ma": "c4", "tieu_de": "Học sinh vùng cao đến trường an toàn",
     "noi_dung": BODY.format(topic="việc đưa đón học sinh vùng cao"),
     "nguon": "Dân trí", "ngay_dang": "hôm qua", "chuyen_muc": "Giáo dục"},
]
CSV_MAP = ["id=ma", "title=tieu_de", "text=noi_dung", "source=nguon", "published=ngay_dang",
           "category=chuyen_muc"]


def write_csv(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(CSV_ROWS[0]))
        writer.writeheader()
        writer.writerows(CSV_ROWS)
    return path


def write_txt(folder: Path, name: str, title: str, topic: str) -> Path:
    path = folder / f"{name}.txt"
    path.write_text(f"{title}\n\n{BODY.format(topic=topic)}\n", encoding="utf-8")
    (folder / f"{name}.json").write_text(json.dumps(
        {"url": f"https://baogialai.com.vn/{name}", "source": "Báo Gia Lai",
         "published": "02/09/2025 08:30"}, ensure_ascii=False), encoding="utf-8")
    return path


def one_article_index(tmp_path: Path, settings, encoder) -> tuple[Path, Path]:
    """A folder with one scraped article (.txt + sidecar) and its index."""
    folder = tmp_path / "articles"
    folder.mkdir()
    write_txt(folder, "a", "Gia Lai khởi công cao tốc Quy Nhơn Pleiku", "dự án cao tốc")
    directory = tmp_path / "index"
    index_articles(directory, iter_inputs([folder]), settings, encoder)
    return folder, directory


def search(searcher: Searcher, q: str, **kw) -> list:
    # One hit per article: the synthetic articles share a body template, so they are
    # near-duplicates, one story (group=story, the default, would show one of them).
    return searcher.search(search_request(q=q, min_relevance=0, **{"group": "article", **kw})
                           ).results


# -- the CLI on a CSV with Vietnamese dates and messy metadata ---------------------------------

@pytest.fixture(scope="module")
def csv_index(tmp_path_factory, cli, encoder) -> dict:
    """The CSV indexed by the real CLI, plus the summary it printed."""
    root = tmp_path_factory.mktemp("ingest-csv")
    write_csv(root / "cms.csv")
    directory = root / "index"
    args = ["index", root / "cms.csv", "--index", directory, "--quiet"]
    for pair in CSV_MAP:
        args += ["--map", pair]
    proc = cli(*args)
    return {"dir": directory, "proc": proc}


@pytest.fixture(scope="module")
def csv_searcher(csv_index, settings, encoder):
    s = Searcher(csv_index["dir"], settings, encoder)
    yield s
    s.close()


def test_csv_summary_reports_unparsed_dates(csv_index) -> None:
    proc = csv_index["proc"]
    assert proc.returncode == 0, proc.stderr
    assert "4 added" in proc.stdout
    dates = [line for line in proc.stdout.splitlines() if line.startswith("dates:")]
    assert len(dates) == 1 and "1 not understood" in dates[0] and "hôm qua" in dates[0]


def test_vietnamese_dates_are_filterable(csv_index, cli) -> None:
    proc = cli("query", "thi hành án dân sự", "--index", csv_index["dir"],
               "--date-from", "2025-03-01", "--date-to", "2025-03-31", "--json",
               "--min-relevance", "0")
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)["results"]
    titles = {h["title"] for h in hits}
    assert "Thi hành án dân sự Gia Lai đạt kết quả cao" in titles
    assert titles <= {CSV_ROWS[0]["tieu_de"], CSV_ROWS[1]["tieu_de"]}  # only March
    by_title = {h["title"]: h for h in hits}
    assert by_title[CSV_ROWS[0]["tieu_de"]]["published"] == "2025-03-10"
    if CSV_ROWS[1]["tieu_de"] in by_title:
        assert by_title[CSV_ROWS[1]["tieu_de"]]["published"] == "2025-03-17T08:30:00+07:00"


def test_unparsed_date_kept_raw(csv_searcher) -> None:
    hit = search(csv_searcher, "học sinh vùng cao đến trường")[0]
    assert hit.title == CSV_ROWS[3]["tieu_de"] and hit.published is None
    article = csv_searcher.article(hit.article_id)
    assert article.published_raw == "hôm qua"


def test_outlet_filter_case_tone_alias_insensitive(csv_searcher) -> None:
    for value in ("vnexpress", "VnExpress", "VNEXPRESS", "vnexpress.net"):
        hits = search(csv_searcher, "kết quả hội nghị", source=value)
        assert {h.title for h in hits} == {CSV_ROWS[0]["tieu_de"], CSV_ROWS[1]["tieu_de"]}, value
        assert {h.source for h in hits} == {"VnExpress"}
    hits = search(csv_searcher, "kết quả hội nghị", source="dan tri")
    assert {h.source for h in hits} == {"Dân trí"} and len(hits) == 2


def test_category_filter_multi_valued_and_tone_insensitive(csv_searcher) -> None:
    hits = search(csv_searcher, "kết quả hội nghị", category="Xã hội")
    assert [h.title for h in hits] == [CSV_ROWS[0]["tieu_de"]]
    assert hits[0].categories == ["Pháp luật", "Xã hội"]
    for value in ("Văn hoá", "Văn hóa", "van hoa"):
        hits = search(csv_searcher, "kết quả hội nghị", category=value)
        assert [h.title for h in hits] == [CSV_ROWS[1]["tieu_de"]], value
    hits = search(csv_searcher, "kết quả hội nghị", category="Kinh doanh")  # from a slug
    assert [h.title for h in hits] == [CSV_ROWS[2]["tieu_de"]]


def test_facets_list_each_outlet_once(csv_searcher) -> None:
    facets = csv_searcher.facets()
    assert sorted(facets["sources"]) == ["Dân trí", "VnExpress"]
    assert "Văn hóa" in facets["categories"] and "Xã hội" in facets["categories"]
    result = csv_searcher.search(search_request(q="kết quả hội nghị", min_relevance=0,
                                                group="article",
                                                facets=True))
    counts = {f["value"]: f["count"] for f in result.facets["source"]}
    assert counts == {"VnExpress": 2, "Dân trí": 2}


def test_demo_index_facets_one_name_per_outlet(settings, demo_index, searcher) -> None:
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    with TestClient(create_app(settings, demo_index, searcher=searcher)) as client:
        data = client.get("/facets").json()
        hits = client.get("/search", params={"q": "Vinamilk", "source": "dantri.com.vn"}).json()
    assert len(data["sources"]) == len(set(data["sources"]))
    assert "Dân trí" in data["sources"]
    assert hits["results"] and {h["source"] for h in hits["results"]} == {"Dân trí"}


# -- exit codes and one-line errors ------------------------------------------------------------

def test_exit_codes_and_one_line_errors(tmp_path, cli, settings, encoder) -> None:
    unsupported = tmp_path / "unsupported"
    unsupported.mkdir()
    (unsupported / "notes.docx").write_bytes(b"PK\x03\x04")
    good = write_csv(tmp_path / "good.csv")
    mapped = [a for pair in CSV_MAP for a in ("--map", pair)]
    missing = cli("index", good, tmp_path / "typo", "--index", tmp_path / "i1", "--quiet", *mapped)
    allowed = cli("index", tmp_path / "typo", good, "--index", tmp_path / "i2", "--quiet",
                  "--allow-skips", *mapped)
    nothing = cli("index", unsupported, "--index", tmp_path / "i3", "--quiet")
    # A path that does not exist has its own status (3), which --allow-skips leaves alone.
    assert missing.returncode == 3 and "4 added" in missing.stdout, missing.stderr
    assert any("typo" in m and "not found" in m for m in messages(missing.stderr))
    assert "Traceback" not in missing.stderr
    assert allowed.returncode == 3 and "4 added" in allowed.stdout, allowed.stderr
    assert nothing.returncode == 2 and "no input files" in nothing.stderr, nothing.stderr
    for command in (("serve",), ("query", "x"), ("stats",), ("mcp",), ("export",)):
        started = time.perf_counter()
        requested = cli.models_requested
        proc = cli(*command, "--index", tmp_path / "nonexistent")
        took = time.perf_counter() - started
        assert proc.returncode == 1, (command, proc.stderr)
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "no such index directory" in lines[0], (command, lines)
        # before the model loads: no model asked for at all (in-process the session's model
        # would come back at once, so this is checked directly, not only by the time)
        assert cli.models_requested == requested, command
        assert took < 30, command
    # the real process: nothing else on its stderr either (import-time warnings, progress bars)
    proc = run_cli_process(settings, "query", "x", "--index", tmp_path / "nonexistent")
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 1 and len(lines) == 1, lines
    assert "no such index directory" in lines[0], lines


# -- folder sync and tombstones ----------------------------------------------------------------

def test_sync_and_tombstones(tmp_path, cli, settings, encoder) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    write_txt(folder, "a", "Gia Lai khởi công cao tốc Quy Nhơn Pleiku", "dự án cao tốc")
    write_txt(folder, "b", "Pleiku mở rộng công viên trung tâm", "quy hoạch công viên")
    write_txt(folder, "c", "An Khê phát triển vùng mía nguyên liệu", "vùng nguyên liệu mía")
    directory = tmp_path / "index"

    def run(**kw):
        return index_articles(directory, iter_inputs([folder]), settings, encoder, **kw)

    first = run()
    assert first.added == 3 and first.dates_unparsed == 0
    (folder / "b.txt").unlink()
    (folder / "b.json").unlink()
    synced = run(sync_roots=[folder])
    assert synced.synced_removed == 1 and synced.unchanged == 2
    searcher = Searcher(directory, settings, encoder)
    try:
        titles = {h.title for h in search(searcher, "công viên Pleiku")}
        assert "Pleiku mở rộng công viên trung tâm" not in titles
        assert searcher.counts()["articles"] == 2
        hit = search(searcher, "vùng mía An Khê")[0]
        assert hit.published == "2025-09-02T08:30:00+07:00" and hit.source == "Báo Gia Lai"
    finally:
        searcher.close()
    # a user deletes an article (CLI/API): a re-index of the folder does not bring it back
    with IndexWriter(directory, settings) as writer:
        assert writer.delete([hit.url]).deleted == 1
    again = run(sync_roots=[folder])
    assert again.tombstoned == 1 and again.added == 0 and again.synced_removed == 0
    proc = cli("stats", "--index", directory, "--json")
    assert json.loads(proc.stdout)["tombstones"] == 1
    forced = run(force=True)
    assert forced.added == 1 and forced.tombstoned == 0
    proc = cli("stats", "--index", directory, "--json")
    assert json.loads(proc.stdout)["tombstones"] == 0


def test_api_delete_is_remembered(tmp_path, settings, encoder) -> None:
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    folder, directory = one_article_index(tmp_path, settings, encoder)
    admin = settings.model_copy(update={"admin_token": SecretStr("t0ken")})
    searcher = Searcher(directory, admin, encoder)
    try:
        with TestClient(create_app(admin, directory, searcher=searcher)) as client:
            hit = client.get("/search", params={"q": "cao tốc", "min_relevance": 0}).json()
            article_id = hit["results"][0]["article_id"]
            r = client.delete(f"/articles/{article_id}",
                              headers={"Authorization": "Bearer t0ken"})
            assert r.status_code == 200, r.text
    finally:
        searcher.close()
    summary = index_articles(directory, iter_inputs([folder]), settings, encoder)
    assert summary.tombstoned == 1 and summary.added == 0


def test_cli_sync_flag(tmp_path, cli, settings, encoder) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    write_txt(folder, "a", "Gia Lai khởi công cao tốc Quy Nhơn Pleiku", "dự án cao tốc")
    write_txt(folder, "b", "Pleiku mở rộng công viên trung tâm", "quy hoạch công viên")
    directory = tmp_path / "index"
    index_articles(directory, iter_inputs([folder]), settings, encoder)
    (folder / "a.txt").unlink()
    (folder / "a.json").unlink()  # its sidecar goes with it (alone it would read as JSONL)
    proc = cli("index", folder, "--index", directory, "--sync", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "sync: 1 articles removed" in proc.stdout


# -- an index written by the previous vnsearch -------------------------------------------------

def _downgrade_to_schema_1(directory: Path) -> None:
    """Make a schema-2 store look like a schema-1 one (raw metadata)."""
    conn = sqlite3.connect(directory / "store.sqlite")
    conn.executescript("""
        DROP INDEX articles_source_key; DROP INDEX articles_origin;
        DROP TABLE article_categories; DROP TABLE tombstones;
        ALTER TABLE articles DROP COLUMN published_raw;
        ALTER TABLE articles DROP COLUMN source_key;
        ALTER TABLE articles DROP COLUMN origin;
        UPDATE meta SET value='1' WHERE key='schema_version';
        UPDATE articles SET source='vnexpress.net', published='10/03/2025',
                            category='Đời sống; Văn hoá';
    """)
    conn.commit()
    conn.close()


def test_upgrade_from_schema_1(tmp_path, cli, settings, encoder) -> None:
    folder, directory = one_article_index(tmp_path, settings, encoder)
    _downgrade_to_schema_1(directory)
    proc = cli("query", "cao tốc", "--index", directory)
    assert proc.returncode == 1 and "vnsearch check --upgrade" in proc.stderr, proc.stderr
    report = upgrade_index(directory, settings)
    assert report.upgraded and report.articles == 1 and report.changed == 1
    assert report.backup is not None and report.backup.exists()
    assert upgrade_index(directory, settings).upgraded is False
    searcher = Searcher(directory, settings, encoder)
    try:
        hits = search(searcher, "cao tốc", source="vnexpress", category="van hoa",
                      date_from="2025-03-01", date_to="2025-03-31")
        assert len(hits) == 1
        assert hits[0].source == "VnExpress" and hits[0].published == "2025-03-10"
        assert hits[0].categories == ["Đời sống", "Văn hóa"]
    finally:
        searcher.close()
    proc = cli("check", "--index", directory)
    assert proc.returncode == 0, proc.stderr


def test_writer_upgrades_an_old_index_it_opens(tmp_path, cli, settings, encoder) -> None:
    folder, directory = one_article_index(tmp_path, settings, encoder)
    _downgrade_to_schema_1(directory)
    summary = index_articles(directory, iter_inputs([folder]), settings, encoder)
    assert summary.added == 0 and summary.embedded == 0  # nothing re-embedded
    assert (directory / "store.sqlite.schema1.bak").exists()
    proc = cli("stats", "--index", directory, "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["articles"] == 1, proc.stderr
