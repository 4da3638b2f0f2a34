"""The sentences a search says to a person, in Vietnamese: the note on a former province,
the hints when nothing matched and the line on hits cut by ``min_relevance``.

They live here, once, so that the API returns them and the web page and the CLI show the
same words (the page displays what the API returns). Error messages are not here: they stay
English, next to the check that raises them.
"""

from __future__ import annotations

from indexer.vietnamese import has_tones

HINT_FILTERS = "Bộ lọc đang thu hẹp kết quả — thử bỏ bớt bộ lọc."
HINT_TYPE_TONES = ("Câu tìm không có dấu — thử gõ có dấu, ví dụ “thi hành án” thay vì "
                   "“thi hanh an”, để khớp chính xác hơn.")
HINT_DROP_TONES = ("Thử bớt vài từ, hoặc gõ không dấu (ví dụ “thi hanh an”) để khớp cả những "
                   "cách viết dấu khác.")
HINT_OPERATORS = ("Cụm từ trong ngoặc kép phải có nguyên văn, từ có dấu trừ (-) bị loại — "
                  "thử bỏ bớt các điều kiện này.")
HINT_LEXICAL = "Chế độ “Từ khóa” chỉ tìm đúng chữ — thử chế độ “Kết hợp”."
HINT_OTHER_WORDS = "Thử dùng từ khác, từ đồng nghĩa hoặc câu hỏi ngắn gọn hơn."


def province_note(former: str, current: str) -> str:
    """What a search filtered by a former province says: which articles it shows."""
    return (f"{former} đã nhập vào {current} từ ngày 1/7/2025: đang hiện các bài viết về "
            f"{former} cũ.")


def cut_note(cut: int) -> str:
    """What a search says when ``min_relevance`` left ``cut`` matches out (``cut`` > 0);
    the page adds a link that shows them, the CLI the option that does."""
    return f"Đã ẩn {cut} kết quả ít liên quan (dưới ngưỡng phù hợp)"


#: How ``vnsearch query`` tells to show the matches a cut left out (the page has a link).
SHOW_CUT_CLI = "Thêm --min-relevance 0 để xem cả các kết quả này."


def relevance_hint(min_relevance: float) -> str:
    """The hint for a cut-off the client chose itself (0-1)."""
    return (f"Chỉ hiện kết quả có độ liên quan từ {min_relevance:.0%} trở lên — thử hạ ngưỡng "
            "này (min_relevance).")


def no_result_hints(text: str, *, mode: str, filtered: bool, operators: bool,
                    asked_min_relevance: float | None = None) -> list[str]:
    """What to try when a search found nothing, most specific first.

    ``text``: the ranked query (operators removed); ``filtered``: a source, category,
    province or date filter is set; ``operators``: phrases or exclusions constrain the hits.
    A toned query may be spelled with other tones than the articles (or be too long), so it
    is told to try fewer words or no tones; a toneless one is told to type the tones, which
    ranks better. ``asked_min_relevance``: the cut-off the client set itself (None: the
    server's default, which a page user cannot change, so it is not mentioned).
    """
    hints: list[str] = []
    if filtered:
        hints.append(HINT_FILTERS)
    if any(ch.isalpha() for ch in text):
        hints.append(HINT_DROP_TONES if has_tones(text) else HINT_TYPE_TONES)
    if operators:
        hints.append(HINT_OPERATORS)
    if mode == "lexical":
        hints.append(HINT_LEXICAL)
    if asked_min_relevance:
        hints.append(relevance_hint(asked_min_relevance))
    hints.append(HINT_OTHER_WORDS)
    return hints
