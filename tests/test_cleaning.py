"""Tests of indexer.cleaning on the real Báo Gia Lai fixture and real Dân trí articles."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from indexer.cleaning import (
    clean_text,
    detect_outlet_tag,
    google_news_outlet,
    is_boilerplate_line,
    normalize_unicode,
    outlet_for_tag,
    split_paragraphs,
    strip_caption_credit,
    strip_dateline_tag,
)

FIXTURE = Path(__file__).parent / "fixtures" / "000_6861bb89fb9d8f05.txt"
SHARED = Path(__file__).resolve().parents[2] / "shared"
DANTRI = SHARED / "data" / "news" / "dantri-unc.jsonl"


@pytest.fixture(scope="module")
def cleaned_fixture() -> str:
    raw = FIXTURE.read_text(encoding="utf-8")
    title = raw.split("\n", 1)[0]
    return clean_text(raw, title=title)


@pytest.mark.parametrize(
    "junk",
    [
        "Theo dõi Báo Gia Lai",
        ".jpg",
        "Ảnh: Bảo Long",
        "Quang cảnh buổi làm việc",
        "Có thể bạn quan tâm",
        "Kiểm soát an ninh hàng không",
        "Tuyên truyền pháp luật",
        "null",
        "(GLO)",
        "\xa0",
    ],
)
def test_fixture_boilerplate_removed(cleaned_fixture: str, junk: str) -> None:
    assert junk not in cleaned_fixture


@pytest.mark.parametrize(
    "content",
    [
        "12.368/27.745 việc",
        "hết việc chứ không hết giờ",
        "Sáng 18-7, Phó Chủ tịch UBND tỉnh Gia Lai",
        "quyết định trong thời gian tới.",
    ],
)
def test_fixture_content_kept(cleaned_fixture: str, content: str) -> None:
    assert content in cleaned_fixture


def test_fixture_shape(cleaned_fixture: str) -> None:
    paragraphs = cleaned_fixture.split("\n\n")
    assert len(paragraphs) == 5
    assert paragraphs[0].startswith("Sáng 18-7")  # title dropped, lead tag dropped
    assert all(p == p.strip() and p for p in paragraphs)
    assert "\n\n\n" not in cleaned_fixture


def test_detect_outlet_tag_fixture() -> None:
    raw = FIXTURE.read_text(encoding="utf-8")
    assert detect_outlet_tag(raw) == "GLO"
    assert outlet_for_tag("GLO") == "Báo Gia Lai"


@pytest.mark.parametrize(
    ("lead", "tag", "outlet"),
    [
        ("(GLO)- Sáng 18-7, tỉnh họp.", "GLO", "Báo Gia Lai"),
        ("(GLO) - Sáng 18-7, tỉnh họp.", "GLO", "Báo Gia Lai"),
        ("(Dân trí) - Sáng 18-7, tỉnh họp.", "Dân trí", "Dân trí"),
        ("(NLĐO) - Sáng 18-7, tỉnh họp.", "NLĐO", "Người Lao Động"),
        ("(PLO)- Sáng 18-7, tỉnh họp.", "PLO", "Pháp Luật TP.HCM"),
        ("TPO - Sáng 18-7, tỉnh họp.", "TPO", "Tiền Phong"),
        ("VOV.VN - Sáng 18-7, tỉnh họp.", "VOV.VN", "VOV"),
    ],
)
def test_dateline_tags(lead: str, tag: str, outlet: str) -> None:
    assert strip_dateline_tag(lead) == "Sáng 18-7, tỉnh họp."
    assert detect_outlet_tag("Tiêu đề\n\n" + lead) == tag
    assert outlet_for_tag(tag) == outlet
    assert clean_text(lead) == "Sáng 18-7, tỉnh họp."


def test_unknown_or_absent_tag() -> None:
    assert detect_outlet_tag("Sáng 18-7, tỉnh họp.") is None
    assert outlet_for_tag("Hà Nội") is None
    # A bare word followed by a dash is not a tag unless it is a known one.
    assert strip_dateline_tag("Hà Nội - Hải Phòng là tuyến đường quan trọng.") == (
        "Hà Nội - Hải Phòng là tuyến đường quan trọng."
    )


def test_google_news_line() -> None:
    assert google_news_outlet("Theo dõi Báo Gia Lai trên Google News") == "Báo Gia Lai"
    assert google_news_outlet("Theo dõi Dân trí trên Google News.") == "Dân trí"
    assert google_news_outlet("Theo dõi diễn biến vụ án trên báo chí") is None


def test_captions() -> None:
    assert is_boilerplate_line("Quang cảnh buổi làm việc. Ảnh: Bảo Long")
    assert is_boilerplate_line("Thủ tướng Chính phủ Phạm Minh Chính (Ảnh: VGP).")
    assert is_boilerplate_line("(Ảnh minh họa).")
    assert is_boilerplate_line("Ảnh: NVCC")
    assert is_boilerplate_line("z6817113995916-4a5a2dda7ff0396db524e61291500d69.jpg")
    assert is_boilerplate_line("IMG_2024.JPEG")
    assert is_boilerplate_line("null")
    # Prose that merely mentions pictures is kept.
    assert not is_boilerplate_line("Nhiều hình ảnh: cánh đồng, dòng sông và bầu trời.")
    assert not is_boilerplate_line("Anh ấy đã chụp một bức Ảnh.")
    assert not is_boilerplate_line("Trong năm 2025, tỉnh đạt tăng trưởng 8%.")
    long = "Ông Trần Đình Long phát biểu tại đại hội. " * 6 + "(Ảnh: Tiến Tuấn)."
    assert not is_boilerplate_line(long)
    assert strip_caption_credit(long) == long[: long.index(" (Ảnh")]


def test_cutoff_blocks() -> None:
    for header in ("Có thể bạn quan tâm", "Tin liên quan", "Xem thêm:", "Đọc thêm", "TIN LIÊN QUAN"):
        text = f"Đoạn một của bài.\n\nĐoạn hai của bài.\n\n{header}\n\nBài khác\n\nBài khác nữa"
        assert clean_text(text) == "Đoạn một của bài.\n\nĐoạn hai của bài."
    # Only a whole line counts.
    text = "Xem thêm thông tin tại website của Sở.\n\nĐoạn hai."
    assert clean_text(text) == text


def test_trailing_junk_and_title_repeat() -> None:
    text = "Tiêu đề bài\n\nĐoạn một.\n\nnull"
    assert clean_text(text, title="Tiêu đề bài") == "Đoạn một."
    assert clean_text("Đoạn một.\nNone\nundefined") == "Đoạn một."
    # A record whose only paragraph is the title keeps it.
    assert clean_text("Tiêu đề bài", title="Tiêu đề bài") == "Tiêu đề bài"


def test_unicode_hygiene() -> None:
    raw = "Hoà\u00a0bình\u200b  và\tthuý\r\nkhoẻ\x00\x07 mạnh\ufeff\u2028dòng\ud800 mới\u202e"
    out = clean_text(raw)
    assert out == "Hòa bình và thúy\n\nkhỏe mạnh\n\ndòng mới"
    nfd = unicodedata.normalize("NFD", "Đắk Lắk")
    assert clean_text(nfd) == "Đắk Lắk"


def test_helpers() -> None:
    assert split_paragraphs("  a \n\n\n b\n") == ["a", "b"]
    assert normalize_unicode("a\u3000\u2009b") == "a b"
    assert clean_text("") == ""
    assert clean_text("\n\n \x00 \n") == ""


def _body_chars(text: str) -> int:
    return sum(len(p) for p in split_paragraphs(normalize_unicode(text)))


@pytest.mark.skipif(not DANTRI.is_file(), reason=f"real corpus not available at {DANTRI}")
def test_cleaning_keeps_real_content() -> None:
    """On 200 real Dân trí articles cleaning removes captions only, not content."""
    ratios = []
    with DANTRI.open(encoding="utf-8") as f:
        for line, _ in zip(f, range(200)):
            record = json.loads(line)
            cleaned = clean_text(record["text"], title=record.get("title"))
            kept = sum(len(p) for p in cleaned.split("\n\n"))
            ratios.append(kept / max(_body_chars(record["text"]), 1))
    assert len(ratios) == 200
    assert sum(ratios) / len(ratios) >= 0.95
    assert sum(r >= 0.9 for r in ratios) >= 0.95 * len(ratios)
    assert min(ratios) >= 0.5
