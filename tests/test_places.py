"""Province tagging (indexer.places): names, the 2025 merger, weighting, real articles.

Fast (no model): the gazetteer loads once (~0.2–0.5 s) from the installed
``vietnamadminunits`` data; real articles are read from ``../shared`` (skipped when absent).
"""

from __future__ import annotations

import gzip
import json
import sys

import pytest
from support import REPO, SHARED, needs_shared

from indexer.places import (
    PlaceTags,
    ProvinceMatch,
    current_provinces,
    province_key,
    resolve_province,
    tag_places,
)

NEWS = SHARED / "data" / "news"


def _article(file: str, line: int) -> dict:
    """One record of a ../shared news file by 1-based line number."""
    path = NEWS / file
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for number, raw in enumerate(fh, start=1):
            if number == line:
                return json.loads(raw)
    raise LookupError(f"{file}:{line}")


def _tag(record: dict) -> PlaceTags:
    """Tag a record as the indexer does: its cleaned text."""
    from indexer.cleaning import clean_text

    title = record.get("title")
    return tag_places(title, clean_text(record["text"], title=title), record.get("source"))


# --- names -------------------------------------------------------------------


def test_current_provinces_are_the_34() -> None:
    names = current_provinces()
    assert len(names) == 34 and len(set(names)) == 34
    assert {"Gia Lai", "Hà Nội", "TP Hồ Chí Minh", "Huế", "Đắk Lắk"} <= set(names)
    assert "Bình Định" not in names and "Quảng Nam" not in names


@pytest.mark.parametrize("typed", ["Bình Định", "binh dinh", "BÌNH ĐỊNH", "tỉnh Bình Định",
                                   "Binh-Dinh"])
def test_resolve_a_former_province_any_spelling(typed: str) -> None:
    assert resolve_province(typed) == ProvinceMatch("Bình Định", "Gia Lai", True)


@pytest.mark.parametrize("typed", ["TP.HCM", "tp hcm", "TPHCM", "Hồ Chí Minh", "ho chi minh",
                                   "Thành phố Hồ Chí Minh", "Sài Gòn", "TP Hồ Chí Minh"])
def test_resolve_ho_chi_minh_city_variants(typed: str) -> None:
    assert resolve_province(typed) == ProvinceMatch("TP Hồ Chí Minh", "TP Hồ Chí Minh", False)


def test_resolve_current_names_and_mergers() -> None:
    # A name that is both current and former counts as current.
    assert resolve_province("gia lai") == ProvinceMatch("Gia Lai", "Gia Lai", False)
    assert resolve_province("Hà Nội") == ProvinceMatch("Hà Nội", "Hà Nội", False)
    assert resolve_province("quang nam") == ProvinceMatch("Quảng Nam", "Đà Nẵng", True)
    assert resolve_province("Bà Rịa - Vũng Tàu").current == "TP Hồ Chí Minh"
    assert resolve_province("Thừa Thiên Huế").current == "Huế"
    assert resolve_province("Đắc Lắc") == ProvinceMatch("Đắk Lắk", "Đắk Lắk", False)
    assert resolve_province("hoa binh") == ProvinceMatch("Hòa Bình", "Phú Thọ", True)


@pytest.mark.parametrize("typed", ["", "   ", "Atlantis", "Paris", "Quy Nhơn", "xyz"])
def test_resolve_unknown_is_none(typed: str) -> None:
    # Districts and cities are not provinces: a filter names a province.
    assert resolve_province(typed) is None


def test_province_key_is_shared_by_all_spellings() -> None:
    assert province_key("TP.HCM") == province_key("Hồ Chí Minh") == province_key("TP Hồ Chí Minh")
    assert province_key("binh dinh") == province_key("Bình Định") == "binhdinh"
    assert province_key("Atlantis") == "atlantis"


# --- tagging: hand-written -------------------------------------------------------


def test_quy_nhon_story_is_new_gia_lai_and_names_former_binh_dinh() -> None:
    tags = tag_places("Quy Nhơn đón 2.000 khách dịp lễ",
                      "Sáng 1/5, UBND TP Quy Nhơn (Bình Định) cho biết thành phố đón hơn 2.000 "
                      "khách. Các bãi biển Quy Nhơn kín người.")
    assert tags == PlaceTags(("Gia Lai",), ("Bình Định",))


def test_post_merger_wording_has_no_former_province() -> None:
    tags = tag_places("Gia Lai: mưa lớn gây ngập", "Mưa lớn ở phường Quy Nhơn Nam, tỉnh Gia Lai.")
    assert tags == PlaceTags(("Gia Lai",), ())


def test_a_passing_mention_is_not_tagged() -> None:
    text = ("Giá vàng SJC hôm nay tăng 200.000 đồng mỗi lượng. Theo các doanh nghiệp, sức mua "
            "vẫn yếu. " * 3 + "Tại Hà Nội, một số cửa hàng đông khách hơn.")
    assert tag_places("Giá vàng tăng nhẹ", text).provinces == ()


def test_the_main_province_wins_over_places_in_passing() -> None:
    text = ("UBND tỉnh Cà Mau cho biết sân bay Cà Mau sẽ đón đường bay từ Hà Nội, TP.HCM. "
            "Tỉnh Cà Mau đề nghị hãng bay sớm khai thác. Cảng hàng không Cà Mau sẽ gia cố "
            "đường băng. Tuyến Cà Mau - Hà Nội được kỳ vọng đông khách.")
    assert tag_places("Cà Mau sắp có đường bay mới", text).provinces == ("Cà Mau",)


def test_common_words_and_person_names_do_not_match() -> None:
    text = ("Ông Nguyễn Hòa Bình phát biểu. Anh Bình Dương và chị Nguyễn Thị Hà Nam đến dự. "
            "Tàu đi qua Thái Bình Dương. Cửa hàng trên đường Hai Bà Trưng bán đồ hòa bình.")
    assert tag_places("Thái Bình Dương và hòa bình", text) == PlaceTags()


def test_place_dateline_counts() -> None:
    assert tag_places("Mưa lớn", "QUẢNG NGÃI - Mưa lớn kéo dài gây ngập nhiều nơi.").provinces \
        == ("Quảng Ngãi",)
    assert tag_places("Mưa lớn", "TP.HCM - Mưa lớn gây ngập nhiều tuyến đường.").provinces \
        == ("TP Hồ Chí Minh",)


def test_outlet_home_province_is_weak_evidence() -> None:
    text = "Mưa lớn kéo dài ở huyện Chư Sê làm ngập nhiều nhà dân."
    # A regional paper + one lead mention: tagged; a national one: not.
    assert tag_places("Mưa lớn", text, "Báo Gia Lai").provinces == ("Gia Lai",)
    assert tag_places("Mưa lớn", text, "Dân trí").provinces == ()
    assert tag_places("Mưa lớn", "(GLO)- " + text, None).provinces == ("Gia Lai",)
    # The outlet alone does not make national news local.
    assert tag_places("Chính phủ họp phiên thường kỳ", "Thủ tướng chủ trì phiên họp.",
                      "Báo Gia Lai") == PlaceTags()


def test_empty_input() -> None:
    assert tag_places(None, "") == PlaceTags()


# --- tagging: real articles ----------------------------------------------------


@needs_shared
def test_real_quy_nhon_story_2021() -> None:
    # Dân trí 2021: "Nhơn Hải (TP Quy Nhơn, Bình Định) …"
    assert _tag(_article("dantri-unc.jsonl", 2285)) == PlaceTags(("Gia Lai",), ("Bình Định",))


@needs_shared
def test_real_story_after_the_merger() -> None:
    # 24h 2026: "phường Quy Nhơn Nam, tỉnh Gia Lai" — the new names only.
    assert _tag(_article("crawlnews-2026.jsonl", 335)) == PlaceTags(("Gia Lai",), ())


@needs_shared
def test_real_syndicated_story_with_former_province_in_title() -> None:
    # Báo Mới 2017: "Vụ tàu vỏ thép bị hư hỏng tại Bình Định", "tại thành phố Quy Nhơn".
    assert _tag(_article("baomoi.jsonl.gz", 9635)) == PlaceTags(("Gia Lai",), ("Bình Định",))


@needs_shared
def test_real_list_of_destinations_is_passing() -> None:
    # DANeS: "mở lại các đường bay từ TP.HCM đi Hải Phòng, Đà Nẵng, Quy Nhơn (Bình Định), …"
    assert _tag(_article("danes-headlines.jsonl", 815)).provinces == ()


@needs_shared
def test_real_former_yen_bai_is_new_lao_cai() -> None:
    # Báo Mới 2017: a crash on the Nội Bài - Lào Cai expressway "đoạn qua địa phận tỉnh Yên Bái".
    tags = _tag(_article("baomoi.jsonl.gz", 2678))
    assert tags.provinces == ("Lào Cai",) and tags.provinces_former == ("Yên Bái",)


# --- the labelled sample ---------------------------------------------------------


@needs_shared
def test_labelled_sample_precision_and_recall() -> None:
    """bench/places.py's scoring on data/eval/places-sample.jsonl (216 real articles).

    Measured (current provinces): all P=0.898 R=0.863; first-draw test half P=0.955
    R=0.875; former provinces all P=0.846 R=0.846. Floors a little below.
    """
    sys.path.insert(0, str(REPO))
    from bench.places import halves, load_sample, score

    sample = load_sample()
    assert len(sample) >= 150
    everything = score(sample)
    assert everything.precision >= 0.85 and everything.recall >= 0.82
    held_out = score(halves(sample)["test"])
    assert held_out.precision >= 0.88 and held_out.recall >= 0.80
    assert score(sample, former=True).recall >= 0.75


def test_sample_file_does_not_carry_article_text() -> None:
    # Licences of the corpora (see data/eval/places-sample.md): ids, urls, titles only.
    rows = [json.loads(line) for line in (REPO / "data" / "eval" / "places-sample.jsonl")
            .read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 150
    assert len({(row["file"], row["line"]) for row in rows}) == len(rows)
    assert all("text" not in row for row in rows)
    assert {row["file"] for row in rows} == {"dantri-unc.jsonl", "crawlnews-2026.jsonl",
                                             "baomoi.jsonl.gz"}
    for row in rows:
        for name in row["provinces"]:
            assert name in current_provinces()
        for name in row["provinces_former"]:
            match = resolve_province(name)
            assert match is not None and match.is_former and match.current in row["provinces"]
