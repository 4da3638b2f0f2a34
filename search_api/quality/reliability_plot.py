"""Reliability diagrams (PNG) of ``vnsearch rank-fit --plots``: per query kind, the share
of hits that are relevant against the relevance shown, bin by bin (matplotlib, imported
here only: it is part of the dev extra, not of the service)."""

from __future__ import annotations

from pathlib import Path


def plot_reliability(calibration: dict[str, dict], out: Path, title: str) -> Path:
    """One line per kind (``calibration``: kind → {"ece", "bins"}), the diagonal for
    reference; written to ``out``."""
    import matplotlib

    matplotlib.use("Agg")  # no screen
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 5.2), dpi=110)
    ax.plot([0, 1], [0, 1], color="#999", linestyle="--", linewidth=1, label="perfect")
    for kind, data in calibration.items():
        pts = [b for b in data["bins"] if b["count"] >= 5]
        if pts:
            ax.plot([b["predicted"] for b in pts], [b["observed"] for b in pts], marker="o",
                    markersize=3, linewidth=1.2, label=f"{kind} (ECE {data['ece']:.3f})")
    ax.set_xlabel("relevance shown (mean of the bin)")
    ax.set_ylabel("share of hits that are relevant")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out
