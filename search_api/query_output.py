"""What ``vnsearch query`` prints for a person: the result page as Vietnamese text.

The words match the web page's; the province note and the no-result hints come with the
result (:mod:`search_api.retrieval.messages`), so both show the same lines. Mode names and
option values stay as they are typed (``hybrid``, ``--min-relevance``).
"""

from __future__ import annotations

from .retrieval import Hit, SearchResult
from .retrieval.messages import SHOW_CUT_CLI, cut_note

NO_TITLE = "(không có tiêu đề)"
NO_URL = "(không có liên kết)"
SNIPPET_CHARS = 300


def format_result(result: SearchResult) -> str:
    """The whole answer: a count line, how many matches ``min_relevance`` hid, the province
    note, then the hits or the hints."""
    timing = f"({result.mode}, {result.took_ms:.0f} ms)"
    if result.total == 0:
        lines = [f"Không tìm thấy kết quả phù hợp {timing}"]
    else:
        lines = [f"Tìm thấy {result.total} kết quả {timing}"]
    if result.cut:
        lines.append(f"{cut_note(result.cut)}. {SHOW_CUT_CLI}")
    if result.province_note:
        lines.append(result.province_note)
    if result.total == 0:
        lines.extend(f"  • {hint}" for hint in result.hints)
    for hit in result.results:
        lines.append("\n" + format_hit(hit))
    return "\n".join(lines)


def format_hit(hit: Hit) -> str:
    """One hit: rank, title, relevance in words and as a number, and score; outlet, date,
    link, provinces; the other outlets of its story; the passage (cut at 300 characters,
    later paragraphs indented)."""
    meta = " · ".join(x for x in (hit.source, hit.published, hit.url or NO_URL,
                                  ", ".join(hit.provinces)) if x)
    lines = [f"{hit.rank}. {hit.title or NO_TITLE}  [{hit.relevance_label} · độ liên quan "
             f"{hit.relevance:.2f} · điểm {hit.score:.4f}]", f"   {meta}"]
    if hit.also_in:
        lines.append("   Cũng đăng trên: " + ", ".join(a.source or a.url or a.article_id
                                                        for a in hit.also_in))
    snippet = hit.text if len(hit.text) <= SNIPPET_CHARS else hit.text[:SNIPPET_CHARS] + "…"
    lines.append("   " + snippet.replace("\n", "\n   "))
    return "\n".join(lines)
