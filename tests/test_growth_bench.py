"""The growth benchmark's table code (bench/growth_fit.py, bench/growth.py helpers): the
power-law fit, extrapolation, the Markdown table, JSON and plot, start-up-to-full-speed and
disk-by-kind. The size runs themselves are benchmarks, not tests."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))  # bench/ is a folder of scripts, not a package

import growth  # noqa: E402
import growth_build  # noqa: E402
import growth_fit  # noqa: E402


def _rows() -> list[dict]:
    # build time linear, bytes per passage constant, latency ∝ n^0.5
    return [{"passages": n, "build_s": 0.003 * n, "disk_bpp": 14_000.0,
             "hybrid_c1_p50": 0.5 * n ** 0.5, "write_visible_ms": None}
            for n in (10_000, 100_000, 300_000)]


def test_fit_recovers_exponents_and_extrapolates():
    fits = growth_fit.fits(_rows())
    assert fits["build_s"][1] == pytest.approx(1.0)
    assert fits["disk_bpp"][1] == pytest.approx(0.0, abs=1e-9)
    assert fits["hybrid_c1_p50"][1] == pytest.approx(0.5)
    assert growth_fit.predict(fits["build_s"], 10_000_000) == pytest.approx(30_000)
    assert fits["write_visible_ms"] is None  # no points, no fit
    # one usable point, or non-positive costs: no fit rather than a made-up exponent
    assert growth_fit.fit_power([1, 2], [5.0, None]) is None
    assert growth_fit.fit_power([1, 2], [0.0, -1.0]) is None


def test_table_has_exponents_and_labelled_extrapolation(tmp_path: Path):
    text = growth_fit.table(_rows(), [10_000_000])
    lines = text.splitlines()
    assert "10,000,000 (extrapolated)" in lines[0] and "| b |" in lines[0]
    build = next(line for line in lines if line.startswith("| build |"))
    assert "| 1.00 | 300 |" in build and "30,000" in build  # b, then + per 100k passages
    assert not any("write→searchable" in line for line in lines)  # never measured: no row
    growth_fit.write_json(tmp_path / "g.json", _rows(), {"command": "x"})
    doc = json.loads((tmp_path / "g.json").read_text())
    assert doc["fits"]["hybrid_c1_p50"]["b"] == pytest.approx(0.5)
    growth_fit.plot(tmp_path / "g.png", _rows(), "test")
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"


def test_steady_time_and_sizes():
    probes = [(1.0, 900.0), (1.1, 40.0), (1.2, 300.0), (1.5, 30.0), (1.6, 31.0), (1.7, 29.0)]
    assert growth.steady_time(probes, 25.0) == 1.5
    assert growth.steady_time(probes[:3], 25.0) is None
    assert [growth_build.parse_size(s) for s in ("10k", "1m", "2500", "1.5m")] == \
        [10_000, 1_000_000, 2_500, 1_500_000]
    assert growth_build.size_label(300_000) == "300k" and growth_build.size_label(10**6) == "1m"


def test_disk_by_kind(tmp_path: Path):
    (tmp_path / "lexical.3").mkdir()
    for name, size in (("store.sqlite", 100), ("store.sqlite-wal", 10), ("vectors.3.faiss", 50),
                       ("lexical.3/s1.tf.npy", 7), ("manifest.json", 3), ("write.lock", 5)):
        (tmp_path / name).write_bytes(b"x" * size)
    (tmp_path / "lexical.4").mkdir()
    (tmp_path / "lexical.4" / "s1.tf.npy").hardlink_to(tmp_path / "lexical.3" / "s1.tf.npy")
    assert growth.disk_by_kind(tmp_path) == {"store": 110, "vectors": 50, "lexical": 7,
                                             "other": 3}  # the hard link counted once


def test_sizing_labels_measured_and_extrapolated():
    rows = [{**row, "rss_load_mib": 500 + row["passages"] / 1000} for row in _rows()]
    at_measured = growth_fit.sizing(rows, 10_000_000, 300_000, ray_overhead_ms=5.0)
    assert at_measured["shards"] == 34 and at_measured["disk_bpp_how"] == "measured"
    assert at_measured["disk_total_gb"] == pytest.approx(140.0)
    assert at_measured["rss_mib"] == pytest.approx(800) and at_measured[
        "rss_total_gib"] == pytest.approx(800 * 34 / 1024)
    assert at_measured["shards_per_node"] == 61 and at_measured["nodes"] == 1  # 48 GiB / 800 MiB
    assert at_measured["cluster_p50_ms"] == pytest.approx(0.5 * 300_000 ** 0.5 + 5.0)
    beyond = growth_fit.sizing(rows, 50_000_000, 1_000_000)
    assert beyond["shards"] == 50 and beyond["hybrid_p50_ms_how"] == "extrapolated"
    assert beyond["hybrid_p50_ms"] == pytest.approx(500.0)
    # memory: fixed + per passage, not a power law (which would bend it down)
    assert beyond["rss_mib"] == pytest.approx(1500) and "straight line" in beyond["rss_mib_how"]
    assert growth_fit.fit_affine([1, 2, 3], [5.0, 7.0, 9.0]) == pytest.approx((3.0, 2.0))


def test_sizing_table_lists_each_deployment():
    rows = [{**row, "rss_load_mib": 500 + row["passages"] / 1000} for row in _rows()]
    plans = [growth_fit.sizing(rows, 10_000_000, 300_000, 5.0),
             growth_fit.sizing(rows, 10_000_000, 1_000_000, 5.0)]
    text = growth_fit.sizing_table(plans)
    assert "10M, shards of 300,000" in text and "10M, shards of 1,000,000" in text
    assert "| shards | 34 | 10 |" in text
    assert "(measured)" in text and "(extrapolated)" in text
