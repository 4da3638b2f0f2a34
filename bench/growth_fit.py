"""The growth benchmark's table: power-law fits (cost ≈ a·n^b), extrapolation, plot, JSON.

Pure functions over the rows ``bench/growth.py`` measures (one dict per index size, keys
are the cost names of :data:`COSTS`), so the table code is tested without building
indexes (tests/test_growth_bench.py).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

#: (key, column header, unit) of every cost in the table, in order.
COSTS: list[tuple[str, str, str]] = [
    ("build_s", "build", "s"),
    ("build_pps", "build rate", "passages/s"),
    ("disk_bpp", "disk", "B/passage"),
    ("disk_store_bpp", "store", "B/passage"),
    ("disk_vectors_bpp", "vectors", "B/passage"),
    ("disk_lexical_bpp", "lexical", "B/passage"),
    ("rss_idle_mib", "RSS idle 1w", "MiB"),
    ("rss_load_mib", "RSS loaded 1w", "MiB"),
    ("pss2_idle_mib", "PSS idle 2w", "MiB"),
    ("pss2_load_mib", "PSS loaded 2w", "MiB"),
    ("health_s", "/health ready", "s"),
    ("full_speed_s", "full speed", "s"),
    *[(f"{mode}_c{c}_{q}", f"{mode} c={c} {q}", "ms")
      for mode in ("hybrid", "lexical", "dense") for c in (1, 8) for q in ("p50", "p99")],
    ("write_ack_ms", "write ack", "ms"),
    ("write_visible_ms", "write→searchable", "ms"),
]


def fit_power(sizes: list[float], costs: list[float | None]) -> tuple[float, float] | None:
    """Least squares on logs: ``(a, b)`` with cost ≈ a·n^b, or None with fewer than two
    usable (positive, finite) points."""
    import numpy as np

    points = [(n, c) for n, c in zip(sizes, costs, strict=True)
              if c is not None and n > 0 and c > 0 and math.isfinite(c)]
    if len(points) < 2 or len({n for n, _ in points}) < 2:
        return None
    x = np.log([n for n, _ in points])
    y = np.log([c for _, c in points])
    b, log_a = np.polyfit(x, y, 1)
    return float(math.exp(log_a)), float(b)


def fit_affine(sizes: list[float], costs: list[float | None]) -> tuple[float, float] | None:
    """Least squares ``(fixed, per_passage)`` with cost ≈ fixed + per_passage·n: the model
    for memory, whose fixed part (the encoder, the interpreter) hides the per-passage part
    from a power law at small sizes. None with fewer than two usable points."""
    import numpy as np

    points = [(n, c) for n, c in zip(sizes, costs, strict=True)
              if c is not None and math.isfinite(c)]
    if len(points) < 2 or len({n for n, _ in points}) < 2:
        return None
    slope, fixed = np.polyfit([n for n, _ in points], [c for _, c in points], 1)
    return float(fixed), float(slope)


def predict(fit: tuple[float, float] | None, n: float) -> float | None:
    """a·n^b, or None without a fit."""
    return None if fit is None else fit[0] * n ** fit[1]


def fits(rows: list[dict]) -> dict[str, tuple[float, float] | None]:
    """The fit of every cost of :data:`COSTS` over ``rows`` (keyed by ``passages``)."""
    sizes = [float(r["passages"]) for r in rows]
    return {key: fit_power(sizes, [r.get(key) for r in rows]) for key, _, _ in COSTS}


def _cell(value: float | None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def table(rows: list[dict], extrapolate: list[int] = ()) -> str:
    """A Markdown table: one row per cost, one column per measured size, the exponent b,
    the slope of a straight-line fit (the cost of 100k more passages), then one column per
    size in ``extrapolate`` (a·n^b, labelled "extrapolated")."""
    got = fits(rows)
    head = ["cost", "unit", *[f"{r['passages']:,}" for r in rows], "b", "+ per 100k",
            *[f"{n:,} (extrapolated)" for n in extrapolate]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, name, unit in COSTS:
        if all(r.get(key) is None for r in rows):
            continue
        fit = got[key]
        line = fit_affine([float(r["passages"]) for r in rows], [r.get(key) for r in rows])
        cells = [name, unit, *[_cell(r.get(key)) for r in rows],
                 "–" if fit is None else f"{fit[1]:.2f}",
                 "–" if line is None else _cell(line[1] * 100_000),
                 *[_cell(predict(fit, n)) for n in extrapolate]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_json(path: Path, rows: list[dict], meta: dict) -> None:
    """Rows, fits (a, b) and how they were measured, as one JSON document."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fitted = {k: None if f is None else {"a": f[0], "b": f[1]} for k, f in fits(rows).items()}
    doc = {"meta": meta, "rows": rows, "fits": fitted}
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


PLOTTED = [("build_s", "build s"), ("disk_bpp", "disk B/passage ÷100"),
           ("rss_idle_mib", "RSS idle MiB (1 worker)"),
           ("full_speed_s", "start-up to full speed s"),
           ("hybrid_c1_p50", "hybrid p50 ms (1 client)"), ("lexical_c1_p50", "lexical p50 ms"),
           ("dense_c1_p50", "dense p50 ms"), ("write_visible_ms", "write→searchable ms")]


def plot(path: Path, rows: list[dict], title: str) -> None:
    """Log-log plot of the main costs against passages, with each fitted line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    got = fits(rows)
    sizes = [float(r["passages"]) for r in rows]
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
    for key, label in PLOTTED:
        scale = 0.01 if key == "disk_bpp" else 1.0
        points = [(n, r[key] * scale) for n, r in zip(sizes, rows, strict=True)
                  if r.get(key) is not None and r[key] > 0]
        if not points:
            continue
        fit = got[key]
        line = ax.plot(*zip(*points, strict=True), "o", label=label if fit is None else
                       f"{label}  (b={fit[1]:.2f})")[0]
        if fit is not None:
            xs = [min(sizes), max(sizes)]
            ax.plot(xs, [predict(fit, x) * scale for x in xs], "-", color=line.get_color(),
                    alpha=0.6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("passages in the index")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def _at(rows: list[dict], got: dict, key: str, n: int) -> tuple[float | None, str]:
    """A cost at ``n`` passages: the measured value when ``n`` was measured, else a·n^b."""
    for row in rows:
        if row["passages"] == n and row.get(key) is not None:
            return float(row[key]), "measured"
    return predict(got.get(key), n), "extrapolated"


def sizing(rows: list[dict], total: int, shard: int, ray_overhead_ms: float | None = None,
           node_gib: float = 64.0) -> dict:
    """A deployment of ``total`` passages in shards of ``shard``: shard count, disk and
    memory per shard and in all, per-shard latency (+ the Ray overhead per request), each
    figure labelled measured or extrapolated (measured only when ``shard`` is a measured
    size). Memory is one ``vnsearch serve`` worker's loaded RSS (encoder included) from the
    straight-line fit (fixed + per passage); nodes: shards that fit in ``node_gib`` each,
    keeping a quarter free for the page cache."""
    got = fits(rows)
    sizes = [float(r["passages"]) for r in rows]
    shards = math.ceil(total / shard)
    measured = any(r["passages"] == shard for r in rows)
    out: dict = {"passages": total, "shard_passages": shard, "shards": shards}
    for key, name in (("disk_bpp", "disk_bpp"), ("hybrid_c1_p50", "hybrid_p50_ms"),
                      ("hybrid_c1_p99", "hybrid_p99_ms"), ("full_speed_s", "start_s")):
        value, how = _at(rows, got, key, shard)
        out[name], out[f"{name}_how"] = value, how
    for key, name in (("rss_load_mib", "rss_mib"), ("pss2_load_mib", "pss2_mib")):
        line = fit_affine(sizes, [r.get(key) for r in rows])
        out[name] = None if line is None else line[0] + line[1] * shard
        out[f"{name}_how"] = "measured" if measured else "extrapolated (straight line)"
    if out["disk_bpp"] is not None:
        out["disk_per_shard_gb"] = out["disk_bpp"] * shard / 1e9
        out["disk_total_gb"] = out["disk_bpp"] * total / 1e9
    if out["rss_mib"] is not None:
        out["rss_total_gib"] = out["rss_mib"] * shards / 1024
        per_node = max(1, int(node_gib * 0.75 * 1024 // out["rss_mib"]))
        out["node_gib"], out["shards_per_node"] = node_gib, per_node
        out["nodes"] = math.ceil(shards / per_node)
    if ray_overhead_ms is not None and out["hybrid_p50_ms"] is not None:
        out["cluster_p50_ms"] = out["hybrid_p50_ms"] + ray_overhead_ms
    return out


def _how(plan: dict, key: str) -> str:
    how = plan.get(f"{key}_how", "")
    return f" ({how.split(' ')[0]})" if how else ""


def sizing_table(plans: list[dict]) -> str:
    """The deployments of :func:`sizing` side by side, as Markdown."""
    head = ["", *[f"{p['passages'] / 1e6:g}M, shards of {p['shard_passages']:,}" for p in plans]]
    rows = [
        ("shards", lambda p: f"{p['shards']}"),
        ("disk per shard", lambda p: f"{p['disk_per_shard_gb']:.1f} GB{_how(p, 'disk_bpp')}"),
        ("disk in all", lambda p: f"{p['disk_total_gb']:,.0f} GB"),
        ("memory per shard (RSS loaded)", lambda p: f"{p['rss_mib'] / 1024:.1f} GiB"
                                                    f"{_how(p, 'rss_mib')}"),
        ("memory in all", lambda p: f"{p['rss_total_gib']:,.0f} GiB"),
        (f"nodes of {plans[0].get('node_gib', 64):g} GiB", lambda p: f"{p['nodes']}"),
        ("shard hybrid p50, 1 client", lambda p: f"{p['hybrid_p50_ms']:.0f} ms"
                                                 f"{_how(p, 'hybrid_p50_ms')}"),
        ("+ Ray overhead (cluster p50)", lambda p: f"{p['cluster_p50_ms']:.0f} ms"
                                                   if p.get("cluster_p50_ms") else "–"),
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, cell in rows:
        lines.append("| " + " | ".join([name, *[cell(p) for p in plans]]) + " |")
    return "\n".join(lines)
