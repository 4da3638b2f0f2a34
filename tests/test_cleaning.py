"""Tests of indexer.cleaning on the real Báo Gia Lai fixture, real Dân trí articles and real
sentences quoted from crawlnews-2026 / Báo Mới (page date lines, glued photo credits)."""

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
    is_date_line,
    normalize_unicode,
    outlet_for_tag,
    split_paragraphs,
    strip_caption_credit,
    strip_dateline_tag,
    strip_inline_credits,
)

FIXTURE = Path(__file__).parent / "fixtures" / "000_6861bb89fb9d8f05.txt"
from support import SHARED  # noqa: E402 - ../shared or VNSEARCH_TEST_SHARED

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


# ---------------------------------------------------------------------------
# Page date lines and photo credits glued inside paragraphs (issue: leftovers)
# ---------------------------------------------------------------------------

HTML_PAGE = Path(__file__).parent / "fixtures" / "page_dateline_credit.html"


@pytest.mark.parametrize(
    "line",
    [
        "02/09/2025 08:30",
        "Thứ Ba, 02/09/2025 - 08:30 (GMT+7)",
        "Cập nhật: 03/02/2026 10:15",
        "Thứ hai, 02/02/2026 16:00",
        "08:30 | 02-09-2025",
        "2025-09-02 08:30",
        "Chủ nhật, ngày 01/02/2026, 07:00 GMT+7",
    ],
)
def test_date_lines_are_boilerplate(line: str) -> None:
    assert is_date_line(line)
    assert is_boilerplate_line(line)
    assert clean_text(f"Đoạn một của bài.\n\n{line}\n\nĐoạn hai.") == "Đoạn một của bài.\n\nĐoạn hai."


@pytest.mark.parametrize(
    "line",
    [
        # Real dantri-unc paragraphs: a date inside running text is content.
        "Ngày 22/4/2021, đi ăn uống với ca dương tính tại tỉnh Hà Nam.",
        "- Thời gian: : 08:30 - 11:30, ngày 25/04/2021",
        "Thời gian cách ly: Tối thiểu 14 ngày, kể từ 17h ngày 01/5/2021.",
        "23h45 ngày 15/6, sân Zabeel: Việt Nam - UAE",
        "08:30",  # a time alone is no page date (match schedules list times)
    ],
)
def test_sentences_with_dates_are_kept(line: str) -> None:
    assert not is_date_line(line)
    assert clean_text(line) == line


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        # The examples, as they occur in crawlnews-2026.
        (
            "8 đối tượng liên quan đường dây xăng giả ở TP.HCM bị khởi tố. Ảnh: CACC Ngày 3/2, Nguyễn Văn Yên "
            "(46 tuổi) cùng 5 đồng phạm bị khởi tố.",
            "8 đối tượng liên quan đường dây xăng giả ở TP.HCM bị khởi tố. Ngày 3/2, Nguyễn Văn Yên "
            "(46 tuổi) cùng 5 đồng phạm bị khởi tố.",
        ),
        (
            "Ngày 3/2, giá lợn hơi khu vực này từ 76.000 – 78.000 đồng/kg. Ảnh: Bình Minh Ở miền Nam, sáng nay, "
            "ngày 3/2, bất ngờ đảo chiều giảm mạnh.",
            "Ngày 3/2, giá lợn hơi khu vực này từ 76.000 – 78.000 đồng/kg. Ở miền Nam, sáng nay, "
            "ngày 3/2, bất ngờ đảo chiều giảm mạnh.",
        ),
        # The next sentence starts with a name the article uses elsewhere.
        (
            "Lương Vân Phi sau ca phẫu thuật cắt bỏ tử cung. Ảnh: Weibo Lương Vân Phi cho biết nhiều năm qua "
            "cô bị đau bụng kinh dữ dội.",
            "Lương Vân Phi sau ca phẫu thuật cắt bỏ tử cung. Lương Vân Phi cho biết nhiều năm qua "
            "cô bị đau bụng kinh dữ dội.",
        ),
        # A digit starts the next sentence; a lowercase credit phrase; no space before the label.
        (
            "Nghệ sĩ Tả Đại Bân tuổi ngoài 80. Ảnh: Red Note 6 năm sau, Tả Đại Bân ngạc nhiên.",
            "Nghệ sĩ Tả Đại Bân tuổi ngoài 80. 6 năm sau, Tả Đại Bân ngạc nhiên.",
        ),
        (
            'Phòng vé mùng 1 Tết "nóng" bởi 4 dự án điện ảnh lớn. Ảnh: Tư liệu Phim Báu vật trời cho đánh dấu '
            "sự trở lại của Lê Thanh Sơn.",
            'Phòng vé mùng 1 Tết "nóng" bởi 4 dự án điện ảnh lớn. Phim Báu vật trời cho đánh dấu '
            "sự trở lại của Lê Thanh Sơn.",
        ),
        (
            "Họ đăng ký kết hôn năm 2025 sau gần hai năm gắn bó. Ảnh:Kiệt Kiệt Hơn 50 năm theo nghề, "
            "nghệ sĩ luôn giữ nhiệt huyết.",
            "Họ đăng ký kết hôn năm 2025 sau gần hai năm gắn bó. Hơn 50 năm theo nghề, "
            "nghệ sĩ luôn giữ nhiệt huyết.",
        ),
        (
            "Trần Anh Tú ở sân trường THPT Hưng Nhân, chiều 3/2. Ảnh: An Chi Thầy Trần Quang Tiềm, "
            "giáo viên chủ nhiệm lớp 12A1, tự hào.",
            "Trần Anh Tú ở sân trường THPT Hưng Nhân, chiều 3/2. Thầy Trần Quang Tiềm, "
            "giáo viên chủ nhiệm lớp 12A1, tự hào.",
        ),
        # Bracketed credits ending a caption sentence.
        (
            "Bà Trương Mỹ Lan (Ảnh: Hải Long). Ngày 28/1, Cục Thi hành án dân sự TPHCM hoàn tất việc kê biên.",
            "Bà Trương Mỹ Lan. Ngày 28/1, Cục Thi hành án dân sự TPHCM hoàn tất việc kê biên.",
        ),
        (
            "Thủ tướng Anh hội đàm cùng Chủ tịch Trung Quốc (Nguồn: AP) Ông Starmer đã thực thi một chính sách mới.",
            "Thủ tướng Anh hội đàm cùng Chủ tịch Trung Quốc. Ông Starmer đã thực thi một chính sách mới.",
        ),
        # Báo Mới: "Tối", "Ông" start the next sentence.
        (
            "Khung cảnh hỗ loạn sau vụ việc. Ảnh: EPA Tối 3/6 (theo giờ địa phương), một tiếng nổ lớn vang lên.",
            "Khung cảnh hỗ loạn sau vụ việc. Tối 3/6 (theo giờ địa phương), một tiếng nổ lớn vang lên.",
        ),
        (
            "Tàu vỏ thép của ông Lý không thể ra khơi. Ảnh: VĐT Ông Tân cho hay UBND huyện sẽ mời các ngư dân.",
            "Tàu vỏ thép của ông Lý không thể ra khơi. Ông Tân cho hay UBND huyện sẽ mời các ngư dân.",
        ),
    ],
)
def test_inline_credits_removed(raw: str, cleaned: str) -> None:
    assert clean_text(raw) == cleaned


def test_inline_credit_repeated_in_article() -> None:
    # crawlnews-7f2623df67a331f2c07ce22d2976980d: the same credit before other
    # sentences shows where the name ends ("Giáp Tết Nguyên đán" is the sentence).
    raw = (
        "Nghề chạm đá còn vài hộ giữ lửa. Ảnh: Phạm Công Giáp Tết Nguyên đán, nho cảnh sai trĩu quả. "
        "Chậu nho được bày bán. Ảnh: Phạm Công Trong không gian quen thuộc, những chậu nho xếp hàng."
    )
    assert clean_text(raw) == (
        "Nghề chạm đá còn vài hộ giữ lửa. Giáp Tết Nguyên đán, nho cảnh sai trĩu quả. "
        "Chậu nho được bày bán. Trong không gian quen thuộc, những chậu nho xếp hàng."
    )


def test_inline_credit_ambiguous_name_errs_on_keeping_text() -> None:
    # No evidence where "Thành Nguyễn" ends: a credit word may stay, no sentence
    # word is removed.
    out = strip_inline_credits("Chợ Vĩnh Hội (TP HCM).Ảnh: Thành Nguyễn Lộc phát biểu hôm qua.")
    assert out.endswith("Lộc phát biểu hôm qua.")
    assert "Ảnh:" not in out


@pytest.mark.parametrize(
    "text",
    [
        # Real prose around "ảnh"/"Nguồn"/"Video" labels that are not credits.
        "Nhiều hình ảnh: cánh đồng, dòng sông và bầu trời. Trong ảnh: Người dân đợi bơm đầy các bình ôxy.",
        "Chẩn đoán hình ảnh:Các kỹ thuật như chụp X-quang, siêu âm, CT, MRI giúp phát hiện bệnh.",
        "GDP tăng 5% (Nguồn: Tổng cục Thống kê) so với cùng kỳ năm trước.",
        "Anh ấy đã chụp một bức Ảnh. Sau đó anh về nhà.",
        "Video: Người dân xếp hàng đi mua vàng trong ngày vía Thần Tài.",
    ],
)
def test_inline_credit_negatives(text: str) -> None:
    assert strip_inline_credits(text) == text


def test_trailing_caption_still_caption() -> None:
    # A credit that ends a short paragraph still marks it as a caption (dropped).
    text = "Đoạn một của bài viết dài hơn.\n\nQuang cảnh buổi làm việc. Ảnh: Bảo Long\n\nĐoạn hai."
    assert clean_text(text) == "Đoạn một của bài viết dài hơn.\n\nĐoạn hai."


def test_html_page_date_lines_and_credits() -> None:
    """An HTML page through the reader: date lines and glued credits are gone."""
    pytest.importorskip("trafilatura")
    from indexer.readers.html_reader import read_html

    (article,) = list(read_html(HTML_PAGE))
    raw_paragraphs = split_paragraphs(article.text)
    assert "02/09/2025 08:30" in raw_paragraphs  # the reader keeps the date line
    cleaned = clean_text(article.text, title=article.title)
    for junk in ("02/09/2025", "GMT+7", "Cập nhật", "Ảnh:", "CACC", "Bình Minh"):
        assert junk not in cleaned
    assert cleaned.split("\n\n") == [
        "8 đối tượng liên quan đường dây xăng giả ở TP.HCM bị khởi tố. Ngày 3/2, Nguyễn Văn Yên (46 tuổi), "
        "Nguyễn Hồng Hải (51 tuổi), Trần Văn Đức (55 tuổi) cùng 5 đồng phạm bị khởi tố.",
        "Ngày 3/2, giá lợn hơi khu vực này từ 76.000 – 78.000 đồng/kg. Ở miền Nam, sáng nay, ngày 3/2, "
        "bất ngờ đảo chiều giảm mạnh.",
    ]
