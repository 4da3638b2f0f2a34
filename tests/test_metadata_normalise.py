"""Outlet and category normalisation (indexer.metadata.outlets / .categories)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import SHARED  # noqa: E402 - ../shared or VNSEARCH_TEST_SHARED

from indexer.cleaning import OUTLET_TAGS
from indexer.metadata.categories import CategoryTable, category_key, split_categories
from indexer.metadata.outlets import OutletTable, OutletTableError, outlet_key

SHARED_NEWS = SHARED / "data" / "news"
DEMO = Path(__file__).resolve().parents[1] / "data" / "demo" / "demo.jsonl"


@pytest.fixture(scope="module")
def table() -> OutletTable:
    return OutletTable.load()


# ---------------------------------------------------------------------------
# Outlets
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["Dân trí", "Dân trí (dantri.com.vn)", "dantri.com.vn", "DAN TRI", "https://dantri.com.vn/x", "Báo Dân trí"]
)
def test_dan_tri_variants_are_one_outlet(table: OutletTable, raw: str) -> None:
    assert table.canonical(raw) == "Dân trí"


@pytest.mark.parametrize("raw", ["VnExpress", "vnexpress.net", "VNEXPRESS", "https://vnexpress.net/a-1.html"])
def test_vnexpress_variants_are_one_outlet(table: OutletTable, raw: str) -> None:
    assert table.canonical(raw) == "VnExpress"


@pytest.mark.parametrize("value", ["vnexpress", "VnExpress", "vnexpress.net", "VNEXPRESS"])
def test_filter_key_finds_canonical_name(table: OutletTable, value: str) -> None:
    assert table.filter_key(value) == outlet_key("VnExpress") == "vnexpress"


def test_outlet_key_is_case_tone_and_punctuation_insensitive() -> None:
    assert outlet_key("Dân trí") == outlet_key("DAN TRI") == outlet_key("dan-tri") == "dantri"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("www.24h.com.vn", "24h"),
        ("Báo Mới (baomoi.com)", "Báo Mới"),
        ("\ufeffbaothaibinh.com.vn", "Báo Thái Bình"),  # BOM seen in the data
        ("ttvn.toquoc.vn", "Tổ Quốc"),  # sub-domain → parent's outlet
        ("Giáo dục & Thời đại", "Giáo dục và Thời đại"),
        ("Vietnam+", "VietnamPlus"),
        ("GLO", "Báo Gia Lai"),
    ],
)
def test_other_known_forms(table: OutletTable, raw: str, expected: str) -> None:
    assert table.canonical(raw) == expected


def test_unknown_names_are_cleaned_not_dropped(table: OutletTable) -> None:
    assert table.canonical("  Báo  Ví dụ\u200b ") == "Báo Ví dụ"
    assert table.canonical("Tạp chí Hoà Bình") == "Tạp chí Hòa Bình"  # one tone convention
    assert table.canonical("www.Example-News.vn") == "example-news.vn"
    # "Báo " is not stripped by rule: the province alone is not the paper.
    assert table.canonical("Gia Lai") == "Gia Lai"


def test_url_fallback_only_for_known_domains(table: OutletTable) -> None:
    assert table.canonical(None, "https://vnexpress.net/x.html") == "VnExpress"
    assert table.canonical("", "https://tv.tuoitre.vn/x") == "Tuổi Trẻ"
    assert table.canonical(None, "https://unknown-site.vn/x") is None
    assert table.canonical(None, None) is None
    # A stored source wins over the URL.
    assert table.canonical("Tin247", "https://dantri.com.vn/x") == "Tin247"


def test_builtin_table_has_no_conflicting_names(table: OutletTable) -> None:
    """Every name, alias and domain of an outlet resolves to that outlet, keys are unique."""
    for name, outlet in table.outlets.items():
        for form in (name, *outlet.aliases, *outlet.domains):
            assert table.canonical(form) == name, form
    keys = [outlet_key(name) for name in table.outlets]
    assert len(keys) == len(set(keys))


def test_dateline_tag_outlets_are_canonical(table: OutletTable) -> None:
    """cleaning.OUTLET_TAGS names outlets with the same display names as the table."""
    for tag, name in OUTLET_TAGS.items():
        assert table.canonical(name) == name, name
        assert table.canonical(tag) == name, tag


def test_user_file_extends_and_overrides(tmp_path: Path) -> None:
    user = tmp_path / "outlets.json"
    user.write_text(
        json.dumps(
            {
                "Báo Ví Dụ": {"domains": ["baovidu.vn"], "aliases": ["BVD"]},
                "VNEXPRESS": {"domains": ["vnexpress.example"], "aliases": ["VNE"]},
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    table = OutletTable.load(user)
    assert table.canonical("https://www.baovidu.vn/a") == "Báo Ví Dụ"
    assert table.canonical("bvd") == "Báo Ví Dụ"
    # Same key as the built-in outlet: extended, and the user's spelling is displayed.
    assert table.canonical("vnexpress.net") == "VNEXPRESS"
    assert table.canonical("VNE") == "VNEXPRESS"
    assert table.canonical("vnexpress.example") == "VNEXPRESS"
    assert table.canonical("Dân trí (dantri.com.vn)") == "Dân trí"


@pytest.mark.parametrize(
    "content", ["[]", '{"X": []}', '{"X": {"domains": "x.vn"}}', '{"X": {"site": []}}', "{not json"]
)
def test_bad_user_file_is_a_clear_error(tmp_path: Path, content: str) -> None:
    user = tmp_path / "bad.json"
    user.write_text(content, encoding="utf-8")
    with pytest.raises(OutletTableError):
        OutletTable.load(user)


# ---------------------------------------------------------------------------
# Categories
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Đời sống; Xã hội", ("Đời sống", "Xã hội")),
        ("tin-tuc-trong-ngay", ("Tin tức trong ngày",)),
        ("bong-da", ("Bóng đá",)),
        ("Văn hoá; Đời sống; Xã hội", ("Văn hóa", "Đời sống", "Xã hội")),
        ("VĂN HÓA", ("Văn hóa",)),
        ("Sức khoẻ", ("Sức khỏe",)),
        ("Khoa học - Công nghệ", ("Khoa học - Công nghệ",)),  # " - " is part of the name
        ("Xã hội, xã hội | XA HOI", ("Xã hội",)),
        ("Thời sự > Giao thông", ("Thời sự", "Giao thông")),
        ("the-thao/bong-da", ("Thể thao", "Bóng đá")),
        ("Kinh tế; Không xác định", ("Kinh tế",)),
        ("N/A", ()),
        ("Chuyên mục lạ", ("Chuyên mục lạ",)),
        ("slug-la", ("slug-la",)),
        (None, ()),
        (" ; ", ()),
    ],
)
def test_split_categories(raw: str | None, expected: tuple[str, ...]) -> None:
    assert split_categories(raw) == expected


def test_category_key_is_tone_insensitive() -> None:
    assert category_key("Văn hóa") == category_key("Văn hoá") == category_key("VAN HOA") == "vanhoa"


def test_builtin_category_names_have_unique_keys() -> None:
    table = CategoryTable.load()
    names = set(table.by_key.values())
    assert len({category_key(n) for n in names}) == len(names)


# ---------------------------------------------------------------------------
# Real corpora
# ---------------------------------------------------------------------------


def _records(path: Path) -> Iterator[dict[str, object]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _corpus_paths() -> list[Path]:
    return sorted(SHARED_NEWS.glob("*.jsonl")) + sorted(SHARED_NEWS.glob("*.jsonl.gz"))


@pytest.mark.parametrize("which", ["shared", "demo"])
def test_real_data_outlets_and_categories_collapse(table: OutletTable, which: str) -> None:
    if which == "shared":
        if not SHARED_NEWS.is_dir():
            pytest.skip(f"real corpora not available at {SHARED_NEWS}")
        paths = _corpus_paths()
    else:
        paths = [DEMO]
    raw_sources: set[str] = set()
    outlets: set[str] = set()
    raw_categories: set[str] = set()
    categories: set[str] = set()
    for path in paths:
        for rec in _records(path):
            source, url, category = rec.get("source"), rec.get("url"), rec.get("category")
            raw_sources.add(str(source))
            name = table.canonical(source if isinstance(source, str) else None, url if isinstance(url, str) else None)
            if name:
                outlets.add(name)
                # Idempotent: stored rows may be normalised again (schema upgrade).
                assert table.canonical(name) == name
            if isinstance(category, str):
                raw_categories.add(category)
                split = split_categories(category)
                assert split_categories("; ".join(split)) == split
                categories.update(split)
    print(
        f"\n{which}: outlets {len(raw_sources)} raw → {len(outlets)} canonical; "
        f"categories {len(raw_categories)} raw → {len(categories)} canonical"
    )
    assert len(outlets) < len(raw_sources)
    assert len(categories) < len(raw_categories)
    # No two canonical names may share a filter key (they would be one outlet twice).
    assert len({outlet_key(o) for o in outlets}) == len(outlets)
    assert len({category_key(c) for c in categories}) == len(categories)
    assert all(";" not in c for c in categories)
