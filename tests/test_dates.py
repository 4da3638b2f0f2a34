"""Tests of indexer.metadata.dates: every accepted form, refusals, zones, timestamps, real data."""

from __future__ import annotations

import gzip
import json
import time
from collections import Counter

import pytest
from support import SHARED  # noqa: E402 - ../shared or VNSEARCH_TEST_SHARED

from indexer.metadata.dates import ParsedDate, is_iso_day, parse_published

NEWS_DIR = SHARED / "data" / "news"
DAY = "2025-03-10"
AT_0830 = "2025-03-10T08:30:00+07:00"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-03-10", DAY),
        ("2025-03-10T08:30", AT_0830),
        ("2025-03-10T01:30:00Z", AT_0830),
        ("2025-03-10 08:30:00+07:00", AT_0830),
        ("2025-03-10T08:30:00.123+0700", AT_0830),
        ("2025-03-10T08:30:00+07", AT_0830),
        ("  2025-03-10  ", "2025-03-10"),
        ("2017-5-10", "2017-05-10"),
    ],
)
def test_iso_forms(value: str, expected: str) -> None:
    assert parse_published(value) == ParsedDate(expected, None, None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10/03/2025", DAY),
        ("10/3/2025", DAY),
        ("10-03-2025", DAY),
        ("10.03.2025", DAY),
        ("2025/03/10", DAY),
        ("ngày 10/03/2025", DAY),
        ("ngày13/11/2015", "2015-11-13"),
        ("ngày 10 tháng 3 năm 2025", DAY),
        ("Ngày 10 tháng 03 năm 2025", DAY),
        ("10 tháng 3, 2025", DAY),
        ("ngay 10 thang 3 nam 2025", DAY),
        ("Thứ Năm, ngày 13 tháng 3 năm 2025", "2025-03-13"),
        ("29/02/2024", "2024-02-29"),
    ],
)
def test_date_only_forms(value: str, expected: str) -> None:
    assert parse_published(value) == ParsedDate(expected, None, None)


@pytest.mark.parametrize(
    "value",
    [
        "10/3/2025 08:30",
        "10/03/2025 8:30",
        "Thứ Hai, 10/3/2025 08:30",
        "thứ hai, 10/3/2025 08:30",
        "Thu Hai, 10/3/2025 08:30",
        "Thứ 2, 10/3/2025 08:30",
        "T2, 10/3/2025 08:30",
        "10/3/2025 - 08:30 (GMT+7)",
        "08:30 10/03/2025",
        "10/03/2025 | 08:30",
        "Cập nhật: 10/03/2025 08:30",
        "Đăng lúc 08:30 ngày 10/03/2025",
        "10/3/2025 08h30",
        "10/3/2025 8:30 AM",
        "10/3/2025 8:30 SA",
        "2025-03-10 8:30",
    ],
)
def test_forms_with_time(value: str) -> None:
    assert parse_published(value) == ParsedDate(AT_0830, None, None)


def test_seconds_are_kept() -> None:
    assert parse_published("10/3/2025 8:30:15").published == "2025-03-10T08:30:15+07:00"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Chủ nhật, 9/3/2025 08:30", "2025-03-09T08:30:00+07:00"),
        ("Chủ Nhật, 9/3/2025", "2025-03-09"),
        ("CN 9/3/2025", "2025-03-09"),
        ("chu nhat 9/3/2025", "2025-03-09"),
        ("Thứ Bảy 8/3/2025", "2025-03-08"),
        ("Thứ 7 23/10/2021", "2021-10-23"),
        ("10/3/2025 8:30 PM", "2025-03-10T20:30:00+07:00"),
        ("10/3/2025 8:30 CH", "2025-03-10T20:30:00+07:00"),
        ("10/3/2025 12:05 AM", "2025-03-10T00:05:00+07:00"),
    ],
)
def test_weekdays_and_meridiem(value: str, expected: str) -> None:
    assert parse_published(value).published == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-03-10T01:30:00Z", AT_0830),
        ("2025-03-10T01:30:00+0000", AT_0830),
        ("2025-03-10T10:30:00+09:00", AT_0830),
        ("2025-03-09T20:30:00-05:00", AT_0830),
        ("2025-03-10T20:00:00Z", "2025-03-11T03:00:00+07:00"),  # the Vietnamese day is the next one
        ("2026-01-21T07:23:00+00:00", "2026-01-21T14:23:00+07:00"),
        ("10/3/2025 01:30 GMT", AT_0830),
        ("10/3/2025 01:30 (GMT+0)", AT_0830),
        ("10/3/2025 02:30 (GMT+8)", "2025-03-10T01:30:00+07:00"),
        ("10/3/2025 01:30 UTC", AT_0830),
        ("10/3/2025 08:30 GMT+7", AT_0830),
        ("31/12/2024 18:00 GMT", "2025-01-01T01:00:00+07:00"),
    ],
)
def test_zones_are_converted_to_vietnam_time(value: str, expected: str) -> None:
    assert parse_published(value).published == expected


@pytest.mark.parametrize(
    "value",
    [1741570200, "1741570200", 1741570200.0, "1741570200.5", 1741570200000, "1741570200000", 1741570200123.0],
)
def test_unix_timestamps(value: int | float | str) -> None:
    assert parse_published(value) == ParsedDate(AT_0830, None, None)


def test_nine_digit_timestamp() -> None:
    assert parse_published(999999999).published == "2001-09-09T08:46:39+07:00"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (9999999999, "out of range"),  # year 2286
        (12345, "unparsable"),
        ("12345678901", "unparsable"),  # 11 digits: neither seconds nor milliseconds
        (float("nan"), "unparsable"),
        (True, "unparsable"),
    ],
)
def test_numbers_that_are_not_timestamps(value: int | float | str, reason: str) -> None:
    assert parse_published(value) == ParsedDate(None, str(value), reason)


def test_mdy_order_swaps_day_and_month() -> None:
    assert parse_published("03/10/2025", order="mdy").published == DAY
    assert parse_published("3-10-2025 08:30", order="mdy").published == AT_0830
    assert parse_published("03/10/2025").published == "2025-10-03"
    # year-first and written forms do not depend on the order
    assert parse_published("2025/03/10", order="mdy").published == DAY
    assert parse_published("ngày 10 tháng 3 năm 2025", order="mdy").published == DAY


@pytest.mark.parametrize(
    ("value", "order"),
    [("03/25/2025", "dmy"), ("25/03/2025", "mdy"), ("03/25/2025 08:30", "dmy"), ("2025/25/03", "dmy")],
)
def test_value_contradicting_the_order_is_ambiguous(value: str, order: str) -> None:
    assert parse_published(value, order=order) == ParsedDate(None, value, "ambiguous")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("31/02/2025", "invalid date"),
        ("29/02/2025", "invalid date"),
        ("32/01/2025", "invalid date"),
        ("13/13/2025", "invalid date"),
        ("00/01/2025", "invalid date"),
        ("2025-02-30", "invalid date"),
        ("2025-03-10T24:00", "invalid time"),
        ("10/3/2025 08:61", "invalid time"),
        ("10/3/2025 13:30 PM", "invalid time"),
        ("10/3/2025 08:30 GMT+15", "invalid time"),
        ("1899-12-31", "out of range"),
        ("10/03/2101", "out of range"),
        ("0001-01-01", "out of range"),
        ("10/3/25", "ambiguous"),
        ("10-03-25 08:30", "ambiguous"),
        ("10/3/2025 - 11/3/2025", "ambiguous"),
        ("10/3/2025 08:30 09:30", "ambiguous"),
        ("hôm qua", "relative"),
        ("Hôm nay 08:30", "relative"),
        ("2 giờ trước", "relative"),
        ("5 phút trước", "relative"),
        ("vừa xong", "relative"),
        ("10/3", "partial"),
        ("03/2025", "partial"),
        ("tháng 3/2025", "partial"),
        ("08:30", "partial"),
        ("Thứ Ba, 10/3/2025", "weekday mismatch"),
        ("T7 10/3/2025 08:30", "weekday mismatch"),
        ("không rõ", "unparsable"),
        ("abc 10/3/2025", "unparsable"),
        ("10/3/2025 tại Hà Nội", "unparsable"),
        ("x" * 500, "unparsable"),
    ],
)
def test_refused_values_keep_raw_and_reason(value: str, reason: str) -> None:
    assert parse_published(value) == ParsedDate(None, value, reason)


def test_raw_is_stripped() -> None:
    assert parse_published("  hôm qua ") == ParsedDate(None, "hôm qua", "relative")


@pytest.mark.parametrize("value", [None, "", "   ", "\t\n"])
def test_no_date_is_not_an_error(value: str | None) -> None:
    assert parse_published(value) == ParsedDate(None, None, None)


def test_decomposed_unicode_is_read() -> None:
    import unicodedata

    value = unicodedata.normalize("NFD", "Thứ Hai, 10/3/2025 08:30")
    assert parse_published(value).published == AT_0830


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-03-10", True),
        ("2025-03-10T08:30:00+07:00", True),
        ("10/03/2025", False),
        ("2025-3-10", False),
        ("2025-03-101", False),
        ("", False),
        (None, False),
    ],
)
def test_is_iso_day(value: str | None, expected: bool) -> None:
    assert is_iso_day(value) is expected


def test_every_parsed_value_is_an_iso_day() -> None:
    values = ["10/3/2025", "Thứ Hai, 10/3/2025 08:30", "1741570200", "2025-03-10T01:30:00Z"]
    assert all(is_iso_day(parse_published(v).published) for v in values)


def test_common_forms_are_fast() -> None:
    """Guards against a pathological slowdown; the real figure is ~2-20 µs per call."""
    values = ["2025-03-10", "10/03/2025", "2026-01-21T07:23:00+00:00", "Thứ Hai, 10/3/2025 08:30"] * 500
    start = time.perf_counter()
    for value in values:
        parse_published(value)
    per_call = (time.perf_counter() - start) / len(values)
    assert per_call < 200e-6  # 10x the target, so a busy shared machine does not fail it


def _real_published_values() -> list[str]:
    """Every non-empty ``published`` value in the shared news files."""
    values: list[str] = []
    for path in sorted(NEWS_DIR.glob("*.jsonl*")):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                value = json.loads(line).get("published")
                if value is not None and str(value).strip():
                    values.append(value)
    return values


@pytest.mark.skipif(not NEWS_DIR.is_dir(), reason=f"real news data not available at {NEWS_DIR}")
def test_real_published_values_parse() -> None:
    values = _real_published_values()
    if not values:
        pytest.skip(f"no non-empty published values under {NEWS_DIR}")
    results = [parse_published(v) for v in values]
    failed = Counter((r.raw, r.reason) for r in results if r.published is None)
    assert all(is_iso_day(r.published) for r in results if r.published is not None)
    rate = 1 - sum(failed.values()) / len(values)
    report = ", ".join(f"{raw!r}: {reason} x{n}" for (raw, reason), n in failed.most_common(20))
    assert rate >= 0.99, f"only {rate:.2%} of {len(values)} parsed; refused: {report}"
    if failed:
        print(f"{len(values)} values, {rate:.2%} parsed; refused: {report}")
