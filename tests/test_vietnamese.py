"""Tests of indexer.vietnamese on real Vietnamese words."""

from __future__ import annotations

import unicodedata

import pytest

from indexer.vietnamese import (
    fold,
    has_tones,
    nfc,
    normalize_tone_placement,
    strip_tones_query,
    token_spans,
    tokenize,
)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("hoà", "hòa"),
        ("Hoà Bình", "Hòa Bình"),
        ("HOÀ", "HÒA"),
        ("thuý", "thúy"),
        ("Thuý", "Thúy"),
        ("khoẻ", "khỏe"),
        ("huỷ", "hủy"),
        ("toà án", "tòa án"),
        ("uỷ ban", "ủy ban"),
        ("Uỷ ban", "Ủy ban"),
        ("hoạ sĩ", "họa sĩ"),
        ("loã", "lõa"),
        ("xoè", "xòe"),
        ("tuỵ", "tụy"),
    ],
)
def test_tone_moves_to_first_vowel_of_open_oa_oe_uy(old: str, new: str) -> None:
    assert normalize_tone_placement(old) == new
    assert normalize_tone_placement(new) == new


@pytest.mark.parametrize(
    "word",
    ["hoàng", "toán", "thuyền", "quý", "Quý", "quỳ", "quà", "ngoái", "khuya", "hoa", "tuy", "khuỷu", "Nguyễn"],
)
def test_tone_placement_leaves_other_syllables(word: str) -> None:
    assert normalize_tone_placement(word) == word


def test_tone_placement_keeps_length_and_nfd_input() -> None:
    text = "Toà án tỉnh Hoà Bình thụ lý vụ án huỷ hợp đồng; ông Thuý khoẻ."
    out = normalize_tone_placement(text)
    assert len(out) == len(text)
    assert out == "Tòa án tỉnh Hòa Bình thụ lý vụ án hủy hợp đồng; ông Thúy khỏe."
    assert normalize_tone_placement(unicodedata.normalize("NFD", text)) == out


def test_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Đắk Lắk")
    assert nfd != "Đắk Lắk"
    assert nfc(nfd) == "Đắk Lắk"


def test_fold() -> None:
    assert fold("Đà Nẵng") == "da nang"
    assert fold("Đắk Lắk") == "dak lak"
    assert fold("thi hành án") == fold("thi hanh an") == "thi hanh an"
    assert fold("thể") == fold("thế") == "the"
    assert fold(unicodedata.normalize("NFD", "Nguyễn Hữu Quế")) == "nguyen huu que"
    assert strip_tones_query("Thi Hành Án") == "thi hanh an"


def test_has_tones() -> None:
    assert has_tones("thi hành án")
    assert has_tones("Đ")
    assert has_tones("dân")
    assert not has_tones("thi hanh an")
    assert not has_tones("Da Nang 2025")
    assert not has_tones("")


def test_tokenize_keeps_tones() -> None:
    assert tokenize("Thi hành án dân sự") == ["thi", "hành", "án", "dân", "sự"]
    assert tokenize("thể") != tokenize("thế")
    assert tokenize("Đắk Lắk") == ["đắk", "lắk"]


def test_tokenize_unifies_tone_placement() -> None:
    assert tokenize("Hoà Bình") == tokenize("hòa bình") == ["hòa", "bình"]
    assert tokenize("thuý") == tokenize("thúy")


def test_tokenize_nfd_equals_nfc() -> None:
    text = "Phó Chủ tịch UBND tỉnh Gia Lai Nguyễn Hữu Quế, Đắk Lắk, hoà"
    assert tokenize(unicodedata.normalize("NFD", text)) == tokenize(text)


def test_number_tokens() -> None:
    text = "giải quyết xong 12.368/27.745 việc, đạt tỷ lệ 63,57%; năm 2025."
    tokens = tokenize(text)
    assert "12.368" in tokens and "27.745" in tokens and "63,57" in tokens
    assert "2025" in tokens
    assert tokenize("12.368") == ["12.368"]
    assert tokenize("ngày 1-10-2024") == ["ngày", "1", "10", "2024"]


def test_splits_on_underscore_and_punctuation() -> None:
    assert tokenize("snake_case, Covid-19!") == ["snake", "case", "covid", "19"]
    assert tokenize("") == []
    assert tokenize(" \n\t…") == []


def test_token_spans_match_tokens() -> None:
    text = "(GLO)- Sáng 18-7, Đắk Lắk đạt 63,57%."
    spans = token_spans(text)
    assert [text[s:e].lower() for s, e in spans] == tokenize(text)
    nfd = unicodedata.normalize("NFD", text)
    nfd_spans = token_spans(nfd)
    assert [nfc(nfd[s:e]).lower() for s, e in nfd_spans] == tokenize(text)
