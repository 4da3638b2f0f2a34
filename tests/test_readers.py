"""Tests of indexer.readers (and property tests of the cleaner on hostile text)."""

from __future__ import annotations

import gzip
import json
import tempfile
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import SHARED

from indexer.article import Article, SkippedRecord
from indexer.cleaning import clean_text
from indexer.errors import InputError
from indexer.readers import (
    MAX_TEXT_CHARS,
    decode_bytes,
    iter_inputs,
    read_csv,
    read_html,
    read_jsonl,
    read_txt,
)

FIXTURE = Path(__file__).parent / "fixtures" / "000_6861bb89fb9d8f05.txt"
TITLE = (
    "Phó Chủ tịch UBND tỉnh Nguyễn Hữu Quế: Thi hành án dân sự tỉnh phải bứt phá "
    "vào tốp 10 toàn quốc năm 2025"
)
LEAD = "Sáng 18-7, Phó Chủ tịch UBND tỉnh Gia Lai Nguyễn Hữu Quế đã có buổi làm việc."
_TONES = "\u0300\u0301\u0303\u0309\u0323"


def _articles(items: list) -> list[Article]:
    return [i for i in items if isinstance(i, Article)]


def _skipped(items: list) -> list[SkippedRecord]:
    return [i for i in items if isinstance(i, SkippedRecord)]


def _cp1258(text: str) -> bytes:
    """Encode like Windows-1258 software does: base letters precomposed, tones combining."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        parts = unicodedata.normalize("NFD", ch)
        tones = "".join(c for c in parts if c in _TONES)
        out.append(unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONES)) + tones)
    return "".join(out).encode("cp1258")


# --- txt --------------------------------------------------------------------


def test_read_txt_fixture() -> None:
    items = list(read_txt(FIXTURE))
    assert len(items) == 1
    article = items[0]
    assert isinstance(article, Article)
    assert article.title == TITLE
    assert article.source == "Báo Gia Lai"
    assert article.url is None and article.published is None and article.category is None
    assert article.id == ""
    # Raw: the reader does not clean.
    assert "Theo dõi Báo Gia Lai trên Google News" in article.text
    assert article.text.rstrip().endswith("null")
    assert "12.368/27.745 việc" in clean_text(article.text, title=article.title)


def test_read_txt_sidecar_and_folder(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(f"Tiêu đề A\n\n(GLO)- {LEAD}\n", encoding="utf-8")
    (tmp_path / "a.json").write_text(
        json.dumps({"url": "https://baogialai.com.vn/a.html", "published": "2025-07-18", "id": "a1"}),
        encoding="utf-8",
    )
    (tmp_path / "b.txt").write_text(f"\n\nTiêu đề B\nTPO - {LEAD}\n", encoding="utf-8")
    (tmp_path / "c.txt").write_text(f"Tiêu đề C\n{LEAD}\n", encoding="utf-8")
    items = list(read_txt(tmp_path))
    a, b, c = _articles(items)
    assert (a.id, a.title, a.url, a.published, a.source) == (
        "a1", "Tiêu đề A", "https://baogialai.com.vn/a.html", "2025-07-18", "Báo Gia Lai"
    )
    assert (b.title, b.source, b.url) == ("Tiêu đề B", "Tiền Phong", None)
    assert (c.title, c.source) == ("Tiêu đề C", None)
    # iter_inputs on the folder does not read a.json as a JSONL input.
    assert [x.title for x in _articles(list(iter_inputs([tmp_path])))] == ["Tiêu đề A", "Tiêu đề B", "Tiêu đề C"]


def test_read_txt_bad_sidecar_and_empty(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(f"Tiêu đề\n{LEAD}", encoding="utf-8")
    (tmp_path / "a.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("\n \n", encoding="utf-8")
    (tmp_path / "title_only.txt").write_text("Chỉ có tiêu đề\n", encoding="utf-8")
    items = list(read_txt(tmp_path))
    assert len(_articles(items)) == 1
    reasons = [s.reason for s in _skipped(items)]
    assert any("sidecar" in r for r in reasons)
    assert any("empty" in r for r in reasons)
    assert any("title only" in r for r in reasons)


def test_read_txt_cp1258(tmp_path: Path) -> None:
    body = (
        "Sáng 18-7, Phó Chủ tịch UBND tỉnh Gia Lai Nguyễn Hữu Quế đã có buổi làm việc với "
        "lãnh đạo chủ chốt Thi hành án dân sự tỉnh nhằm đánh giá kết quả công tác năm."
    )
    (tmp_path / "legacy.txt").write_bytes(_cp1258("Thi hành án dân sự\n" + body))
    (article,) = list(read_txt(tmp_path / "legacy.txt"))
    assert isinstance(article, Article)
    assert article.title == "Thi hành án dân sự"
    assert article.text == body  # decoded and NFC, no mojibake


def test_not_utf8_is_skipped_not_mojibake(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes("Título\nEl café está en la ciudad, señor. Ça coûte très cher.".encode("cp1252"))
    (skipped,) = list(read_txt(path))
    assert isinstance(skipped, SkippedRecord)
    assert skipped.reason.startswith("not UTF-8 or Windows-1258")
    assert decode_bytes("Hòa".encode()) == ("Hòa", None)
    assert decode_bytes(b"\xef\xbb\xbfH\xc3\xb2a") == ("Hòa", None)
    assert decode_bytes("Hòa bình".encode("utf-16")) == ("Hòa bình", None)


def test_nul_byte(tmp_path: Path) -> None:
    path = tmp_path / "nul.txt"
    path.write_bytes(f"Tiêu đề\n{LEAD}\x00 tiếp".encode())
    (article,) = list(read_txt(path))
    assert isinstance(article, Article)
    assert "\x00" not in clean_text(article.text)
    jsonl = tmp_path / "nul.jsonl"
    jsonl.write_bytes(b'{"text": "a\x00b \\u0000 c"}\n')
    (article,) = list(read_jsonl(jsonl))
    assert isinstance(article, Article)
    assert clean_text(article.text) == "ab c"


# --- jsonl ------------------------------------------------------------------


def _write_jsonl(path: Path, lines: list[str]) -> None:
    data = ("\n".join(lines) + "\n").encode("utf-8")
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)


@pytest.mark.parametrize("name", ["news.jsonl", "news.jsonl.gz"])
def test_read_jsonl_good_and_bad_lines(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    good = {"id": "x1", "title": "Tiêu đề", "text": LEAD, "url": "https://dantri.com.vn/x.htm",
            "source": "Dân trí", "published": "2021-04-20", "category": "Xã hội"}
    _write_jsonl(path, [
        json.dumps(good, ensure_ascii=False),
        '{"id": "broken", "text": ',
        json.dumps({"id": "x2", "title": "Không có nội dung"}),
        "",
        "[1, 2, 3]",
        json.dumps({"id": 7, "text": "Nội dung", "title": None, "url": None}),
        json.dumps({"id": "x3", "text": "   "}),
    ])
    items = list(read_jsonl(path))
    articles = _articles(items)
    assert articles[0] == Article(**good)
    assert articles[1] == Article(id="7", title=None, text="Nội dung")
    skipped = {(s.line, s.reason.split(":")[0].split(" (")[0]) for s in _skipped(items)}
    assert skipped == {(2, "malformed JSON"), (3, "no text"), (5, "not an object"), (7, "no text")}
    assert all(s.path == str(path) for s in _skipped(items))


def test_read_jsonl_mapping(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    _write_jsonl(path, [json.dumps({"content": LEAD, "headline": "Tiêu đề", "link": "https://x.vn/a", "title": "sai"})])
    (article,) = list(read_jsonl(path, {"text": "content", "title": "headline", "url": "link"}))
    assert isinstance(article, Article)
    assert (article.text, article.title, article.url, article.source) == (LEAD, "Tiêu đề", "https://x.vn/a", None)
    (skipped,) = list(read_jsonl(path))  # without the mapping there is no "text"
    assert isinstance(skipped, SkippedRecord) and skipped.reason.startswith("no text")


def test_read_jsonl_surrogates_and_size(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    _write_jsonl(path, [
        '{"text": "Hòa \\ud800 bình", "title": "\\udfff"}',
        '{"text": "emoji \\ud83d\\ude00 ok"}',
        json.dumps({"text": "a" * (MAX_TEXT_CHARS + 1)}),
    ])
    first, second, third = list(read_jsonl(path))
    assert isinstance(first, Article)
    first.text.encode("utf-8")  # encodable
    assert first.title == "\ufffd"
    assert clean_text(first.text) == "Hòa bình"
    assert isinstance(second, Article) and second.text == "emoji \U0001F600 ok"
    assert isinstance(third, SkippedRecord) and third.reason.startswith("too large")


def test_read_jsonl_corrupt_gzip_and_missing(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"text": "a"}\n' * 1000)[:60])
    items = list(read_jsonl(path))
    assert items and isinstance(items[-1], SkippedRecord)
    (missing,) = list(read_jsonl(tmp_path / "nope.jsonl"))
    assert isinstance(missing, SkippedRecord) and missing.line is None


def test_real_corpus_line_if_present() -> None:
    corpus = SHARED / "data" / "news" / "baomoi.jsonl.gz"
    if not corpus.is_file():
        pytest.skip(f"real corpus not available at {corpus}")
    items = []
    for item in read_jsonl(corpus):
        items.append(item)
        if len(items) == 50:
            break
    assert all(isinstance(i, Article) and i.id and i.text for i in items)


# --- csv --------------------------------------------------------------------


def test_read_csv(tmp_path: Path) -> None:
    path = tmp_path / "news.csv"
    content = (
        "id,title,content,url\n"
        f'1,Tiêu đề một,"{LEAD}\n\nĐoạn hai, có dấu phẩy.",https://x.vn/1\n'
        "2,Không nội dung,,\n"
        f'3,"Tiêu đề ba",{"x" * 200_000},\n'
    )
    path.write_bytes(b"\xef\xbb\xbf" + content.encode("utf-8"))  # Excel-style BOM
    items = list(read_csv(path, {"text": "content"}))
    a1, a3 = _articles(items)
    assert (a1.id, a1.title, a1.url) == ("1", "Tiêu đề một", "https://x.vn/1")
    assert a1.text == f"{LEAD}\n\nĐoạn hai, có dấu phẩy."
    assert a3.url is None and len(a3.text) == 200_000
    (skipped,) = _skipped(items)
    assert skipped.reason.startswith("no text")


def test_read_csv_cp1258(tmp_path: Path) -> None:
    path = tmp_path / "legacy.csv"
    text = (
        "title,text\nThi hành án dân sự,"
        "Phó Chủ tịch UBND tỉnh Gia Lai Nguyễn Hữu Quế đã có buổi làm việc với lãnh đạo "
        "chủ chốt Thi hành án dân sự tỉnh nhằm đánh giá kết quả công tác.\n"
    )
    path.write_bytes(_cp1258(text))
    (article,) = list(read_csv(path))
    assert isinstance(article, Article)
    assert article.title == "Thi hành án dân sự"
    assert "Nguyễn Hữu Quế" in article.text


# --- html -------------------------------------------------------------------

HTML = """<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8">
<title>Gia Lai đẩy mạnh thi hành án dân sự - Báo Gia Lai</title>
<link rel="canonical" href="https://baogialai.com.vn/gia-lai-thi-hanh-an-post123.html">
<meta property="og:site_name" content="Báo Gia Lai">
<meta property="article:published_time" content="2025-07-18T10:30:00+07:00">
</head><body>
<nav><a href="/">Trang chủ</a> <a href="/thoi-su">Thời sự</a></nav>
<article><h1>Gia Lai đẩy mạnh thi hành án dân sự</h1>
<p>Sáng 18-7, Phó Chủ tịch UBND tỉnh Gia Lai Nguyễn Hữu Quế đã có buổi làm việc với lãnh đạo
chủ chốt Thi hành án dân sự tỉnh nhằm đánh giá kết quả công tác.</p>
<p>Theo báo cáo, từ ngày 1-10-2024 đến 30-6-2025, ngành Thi hành án dân sự tỉnh đã giải quyết
xong 12.368/27.745 việc, đạt tỷ lệ 63,57%.</p>
<p>Phó Chủ tịch UBND tỉnh yêu cầu ngành phải xây dựng kế hoạch hành động cụ thể, phân công rõ
người, rõ việc, làm việc với tinh thần hết việc chứ không hết giờ.</p>
</article>
<footer>Bản quyền thuộc về Báo Gia Lai</footer>
</body></html>
"""


def test_read_html(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(HTML, encoding="utf-8")
    (article,) = list(read_html(path))
    assert isinstance(article, Article)
    assert article.title == "Gia Lai đẩy mạnh thi hành án dân sự"
    assert article.url == "https://baogialai.com.vn/gia-lai-thi-hanh-an-post123.html"
    assert article.published == "2025-07-18T10:30:00+07:00"
    assert article.source == "Báo Gia Lai"
    assert "12.368/27.745 việc" in article.text
    assert "hết việc chứ không hết giờ" in article.text
    assert "\n\n" in article.text
    assert "Trang chủ" not in article.text


def test_read_html_without_metadata_invents_nothing(tmp_path: Path) -> None:
    html = HTML
    for line in ('<link rel="canonical"', '<meta property="og:site_name"', '<meta property="article:published_time"'):
        html = "\n".join(x for x in html.splitlines() if not x.startswith(line))
    path = tmp_path / "bare.htm"
    path.write_text(html, encoding="utf-8")
    (article,) = list(iter_inputs([tmp_path]))
    assert isinstance(article, Article)
    assert article.url is None
    assert article.published is None


def test_read_html_empty_page(tmp_path: Path) -> None:
    path = tmp_path / "empty.html"
    path.write_text("<html><body></body></html>", encoding="utf-8")
    (skipped,) = list(read_html(path))
    assert isinstance(skipped, SkippedRecord)


# --- dispatch ---------------------------------------------------------------


def test_iter_inputs_dispatch(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    _write_jsonl(tmp_path / "sub" / "a.jsonl.gz", [json.dumps({"text": "một"})])
    _write_jsonl(tmp_path / "b.json", [json.dumps({"text": "hai"})])
    (tmp_path / "c.csv").write_text("text\nba\n", encoding="utf-8")
    (tmp_path / "d.txt").write_text("Tiêu đề\nbốn\n", encoding="utf-8")
    (tmp_path / "notes.md").write_text("bỏ qua", encoding="utf-8")
    texts = sorted(a.text for a in _articles(list(iter_inputs([tmp_path]))))
    assert texts == sorted(["một", "hai", "ba", "bốn"])
    assert [a.text for a in _articles(list(iter_inputs([tmp_path], fmt="csv")))] == ["ba"]
    # A forced format applies to an explicitly named file whatever its ending.
    (tmp_path / "data.dat").write_text('{"text": "năm"}\n', encoding="utf-8")
    assert [a.text for a in _articles(list(iter_inputs([tmp_path / "data.dat"], fmt="jsonl")))] == ["năm"]
    (unsupported,) = list(iter_inputs([tmp_path / "data.dat"]))
    assert isinstance(unsupported, SkippedRecord)
    (missing,) = list(iter_inputs([tmp_path / "missing.jsonl"]))
    assert isinstance(missing, SkippedRecord) and missing.line is None
    with pytest.raises(InputError):
        list(iter_inputs([tmp_path], fmt="xml"))


def test_readers_are_lazy(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    _write_jsonl(path, [json.dumps({"text": f"bài {i}"}) for i in range(1000)])
    gen = read_jsonl(path)
    assert next(gen).text == "bài 0"  # type: ignore[union-attr]
    gen.close()


# --- property tests ---------------------------------------------------------

_hostile_text = st.one_of(
    st.text(max_size=300),
    # Every code point, lone surrogates included (st.text leaves them out by default).
    st.text(alphabet=st.characters(exclude_categories=()), max_size=300),
    st.lists(
        st.sampled_from(list("aăâeêoôơuưy đĐ\n\t\r \x00\x1b\u200b\u200e\u200f\u202e\ufeff\xa0\u2028")
                        + ["\ud800", "\udfff", "\u0301", "\u0309", "Ảnh: X", "(GLO)- ", "null", "Xem thêm"]),
        max_size=120,
    ).map("".join),
    st.builds(lambda s: s * 2000, st.text(min_size=50, max_size=50)),  # ~100k-char line
)


def _assert_clean(out: str) -> None:
    assert all(ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs") for ch in out)
    assert unicodedata.is_normalized("NFC", out)
    assert out == out.strip()
    assert "\n\n\n" not in out
    out.encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(text=_hostile_text, title=st.one_of(st.none(), st.text(max_size=30)))
def test_clean_text_never_raises(text: str, title: str | None) -> None:
    _assert_clean(clean_text(text, title=title))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(_hostile_text, min_size=1, max_size=3))
def test_read_jsonl_never_raises(texts: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "h.jsonl"
        # ensure_ascii escapes lone surrogates as \udXXX, as a buggy producer would.
        path.write_text("\n".join(json.dumps({"text": t, "title": t[:20]}) for t in texts) + "\n", encoding="utf-8")
        items = list(read_jsonl(path))
    assert len(items) == len(texts)
    for item, text in zip(items, texts):
        if isinstance(item, Article):
            item.text.encode("utf-8")
            _assert_clean(clean_text(item.text, title=item.title))
        else:
            assert not text.strip()
