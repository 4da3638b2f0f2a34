"""The Markdown table ``vnsearch eval`` prints, one row per search mode."""

from __future__ import annotations

from .evaluation import EvalRow


def format_table(rows: list[EvalRow]) -> str:
    """The rows as a Markdown table (what ``vnsearch eval`` prints).

    ``cut nDCG@10`` and ``answered`` apply ``min_relevance``; the abstention columns
    appear with ``--leave-out``.
    """
    leave_out = any(r.abstain_rate is not None for r in rows)
    head = ("| mode | toneless | nDCG@10 | MRR@10 | R@1 | R@10 | R@100 | passage R@10 | queries "
            "| q/s | min_rel | cut nDCG@10 | answered |")
    if leave_out:
        head += " abstain left-out | abstain nonsense | abstain off-topic |"
    lines = [head, "|" + "---|" * head.count(" |")]

    def pct(x: float | None) -> str:
        return "–" if x is None else f"{100 * x:.1f}%"

    for r in rows:
        p = "–" if r.passage_recall10 is None else f"{r.passage_recall10:.3f}"
        cut = "–" if r.ndcg10_cut is None else f"{r.ndcg10_cut:.3f}"
        line = (f"| {r.mode} | {'yes' if r.toneless else 'no'} | {r.ndcg10:.3f} | {r.mrr10:.3f} | "
                f"{r.recall1:.3f} | {r.recall10:.3f} | {r.recall100:.3f} | {p} | {r.queries} | "
                f"{r.qps:.1f} | {r.min_relevance:.3f} | {cut} | {pct(r.answered_rate)} |")
        if leave_out:
            line += (f" {pct(r.abstain_rate)} ({r.left_out_queries} q) | "
                     f"{pct(r.nonsense_abstain_rate)} | {pct(r.offtopic_abstain_rate)} |")
        lines.append(line)
    return "\n".join(lines)
