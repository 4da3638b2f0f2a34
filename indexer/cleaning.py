"""Article text cleaning: Unicode hygiene plus removal of news-scrape boilerplate.

Readers hand over raw text; :func:`clean_text` turns it into the text that is chunked,
embedded and shown: NFC, one tone-placement convention, no control or invisible
characters, one paragraph per line of the input, paragraphs separated by ``"\\n\\n"``,
and without the boilerplate that Vietnamese news scrapers typically capture (Google
News follow links, image file names, photo captions, "related articles" blocks,
dateline tags such as "(GLO)-").

Every rule works on a whole line/paragraph and is anchored, so real sentences that
merely mention "Ảnh" or "Xem thêm" are kept (tested on real Dân trí articles).
"""

from __future__ import annotations

import re
import sys
import unicodedata

from indexer.cleaning_credits import strip_inline_credits
from indexer.vietnamese import nfc, normalize_tone_placement

__all__ = [
    "OUTLET_TAGS",
    "clean_text",
    "normalize_unicode",
    "split_paragraphs",
    "is_boilerplate_line",
    "is_caption",
    "is_date_line",
    "strip_inline_credits",
    "strip_caption_credit",
    "detect_outlet_tag",
    "outlet_for_tag",
    "google_news_outlet",
    "strip_dateline_tag",
]

# ---------------------------------------------------------------------------
# Character-level normalisation
# ---------------------------------------------------------------------------


def _build_char_table() -> dict[int, str | None]:
    """translate() table: controls/invisibles removed, odd spaces and breaks mapped."""
    table: dict[int, str | None] = {}
    for cp in range(sys.maxunicode + 1):
        cat = unicodedata.category(chr(cp))
        if cat == "Cc" or cat == "Cf" or cat == "Cs":
            # Cc: C0/C1 controls (NUL, ESC, ...); Cf: zero-width chars, BOM, bidi
            # marks, soft hyphen - all invisible and they split words for the
            # tokenizer; Cs: lone surrogates, which cannot even be encoded.
            table[cp] = None
        elif cat == "Zs":
            table[cp] = " "  # NBSP, thin space, ideographic space, ...
        elif cat in ("Zl", "Zp"):
            table[cp] = "\n"
    table[ord("\t")] = " "
    # Line-ish controls become line breaks rather than vanishing, so the words on
    # both sides do not get glued together.
    for ch in "\n\v\f\x1c\x1d\x1e\x85":
        table[ord(ch)] = "\n"
    table[ord("\r")] = "\n"
    # U+FFFD marks bytes a decoder could not read (readers use it for lone
    # surrogates); it carries no content.
    table[0xFFFD] = None
    table[ord(" ")] = " "
    return table


_CHAR_TABLE: dict[int, str | None] | None = None
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_SPACES_RE = re.compile(r"[ ]{2,}")


def normalize_unicode(text: str) -> str:
    """NFC + tone placement, without controls, invisibles or surrogates; odd spaces → " ".

    Line breaks (including ``\\r\\n``, ``\\r``, U+2028/U+2029) become ``"\\n"``; tabs
    and Unicode spaces become a plain space; runs of spaces are collapsed.
    """
    global _CHAR_TABLE
    if _CHAR_TABLE is None:
        # Built lazily (~0.3 s) so importing the module stays cheap.
        _CHAR_TABLE = _build_char_table()
    # Surrogates first: unicodedata.normalize and re would carry them along and
    # any later encode("utf-8") would fail.
    text = _SURROGATE_RE.sub("", text.replace("\r\n", "\n"))
    text = text.translate(_CHAR_TABLE)
    text = normalize_tone_placement(nfc(text))
    # NFC can in principle recombine into new characters, never into controls, so
    # a second translate is unnecessary; collapsing spaces is done last.
    return _SPACES_RE.sub(" ", text)


def split_paragraphs(text: str) -> list[str]:
    """Non-empty, stripped lines of ``text``; each line is one paragraph.

    Scraped news puts one paragraph per line (blank lines between are optional), so
    a line break is treated as a paragraph break.
    """
    return [line.strip() for line in text.split("\n") if line.strip()]


# ---------------------------------------------------------------------------
# Outlets and dateline tags
# ---------------------------------------------------------------------------

#: Dateline tags used by Vietnamese outlets at the start of a lead, mapped to the
#: outlet's name. Keys are compared case-insensitively.
OUTLET_TAGS: dict[str, str] = {
    "GLO": "Báo Gia Lai",
    "Dân trí": "Dân trí",
    "NLĐO": "Người Lao Động",
    "PLO": "Pháp Luật TP.HCM",
    "TPO": "Tiền Phong",
    "VOV": "VOV",
    "VOV.VN": "VOV",
    "VTV": "VTV",
    "VTV.vn": "VTV",
    "VTC News": "VTC News",
    "ANTĐ": "An ninh Thủ đô",
    "HNM": "Hà Nội Mới",
    "HNMO": "Hà Nội Mới",
    "CAO": "Công an TP.HCM",
    "CAND": "Công an Nhân dân",
    "QĐND": "Quân đội Nhân dân",
    "NDO": "Nhân Dân",
    "SGGP": "Sài Gòn Giải Phóng",
    "SGGPO": "Sài Gòn Giải Phóng",
    "TTXVN": "Thông tấn xã Việt Nam",
    "LĐO": "Lao Động",
    "ĐCSVN": "Đảng Cộng sản Việt Nam",
    "Baonghean.vn": "Báo Nghệ An",
    "BNA": "Báo Nghệ An",
    "Dân Việt": "Dân Việt",
    "GD&TĐ": "Giáo dục và Thời đại",
    "ĐBP": "Báo Điện Biên Phủ",
    "BLC": "Báo Lào Cai",
    "QNO": "Báo Quảng Nam",  # seen on baoquangnam.vn (DANeS)
    "BĐT": "Báo Đấu thầu",
    "Tổ Quốc": "Tổ Quốc",
}
_TAGS_FOLDED = {k.casefold(): v for k, v in OUTLET_TAGS.items()}

_DASH = r"[-–—:]"
# "(GLO)-", "(Dân trí) -", "(NLĐO) -": any short parenthesised tag that starts
# with a capital letter and is followed by a dash.
_PAREN_TAG_RE = re.compile(rf"^\(\s*([^\W\d_][^()\n]{{0,24}}?)\s*\)\s*{_DASH}\s*")
# "TPO - ", "VOV.VN - ": bare tags only when known, since "Hà Nội - " could be text.
_BARE_TAG_RE = re.compile(
    r"^("
    + "|".join(re.escape(k) for k in sorted(OUTLET_TAGS, key=len, reverse=True))
    + rf")\s*{_DASH}\s+",
)


def _match_dateline(paragraph: str) -> re.Match[str] | None:
    m = _PAREN_TAG_RE.match(paragraph)
    if m and m.group(1)[0].isupper():
        return m
    return _BARE_TAG_RE.match(paragraph)


def strip_dateline_tag(paragraph: str) -> str:
    """Drop a leading dateline tag ("(GLO)-", "TPO - ") from a lead paragraph."""
    m = _match_dateline(paragraph)
    return paragraph[m.end():].lstrip() if m else paragraph


def detect_outlet_tag(text: str) -> str | None:
    """The raw dateline tag ("GLO", "Dân trí", "TPO") at the start of the lead, if any.

    Looks at the first few paragraphs (a title and a "follow us" line may come
    first). Map the tag to a name with :func:`outlet_for_tag`.
    """
    for paragraph in split_paragraphs(normalize_unicode(text[:5000]))[:5]:
        m = _match_dateline(paragraph)
        if m:
            return m.group(1).strip()
    return None


def outlet_for_tag(tag: str | None) -> str | None:
    """Outlet name for a known dateline tag, else None (unknown tags name nobody)."""
    if not tag:
        return None
    return _TAGS_FOLDED.get(tag.casefold())


_GOOGLE_NEWS_RE = re.compile(r"^Theo dõi\s+(.{1,80}?)\s+trên\s+Google News\s*[.!]?$", re.IGNORECASE)


def google_news_outlet(line: str) -> str | None:
    """Outlet X of a "Theo dõi X trên Google News" line, else None."""
    m = _GOOGLE_NEWS_RE.match(line.strip())
    return m.group(1) if m else None


# ---------------------------------------------------------------------------
# Boilerplate lines
# ---------------------------------------------------------------------------

# A line that is nothing but an image file name (or URL path) as left by scrapers.
_IMAGE_FILE_RE = re.compile(r"^\S{1,400}\.(?:jpe?g|png|gif|webp|bmp|avif|svg|heic)(?:\?\S*)?$",
                            re.IGNORECASE)
# Photo credit as the last sentence: "... làm việc. Ảnh: Bảo Long", "(ảnh: TTXVN)",
# "Ảnh minh họa", "- Ảnh: X". The name is short and contains no sentence break.
# Bare credits must start with a capital "Ảnh" ("hình ảnh: ..." is prose); inside
# parentheses any case is accepted.
_CREDIT_NAME = r"(?:[^.!?()\n]|\.(?!\s)){1,60}?"
_CREDIT_WORDS = r"(?:Ảnh minh họa|Ảnh tư liệu|Nguồn ảnh|Ảnh)"
_CREDIT = (
    rf"(?:{_CREDIT_WORDS}(?:\s*:\s*{_CREDIT_NAME})?"
    rf"|\(\s*(?i:{_CREDIT_WORDS})(?:\s*:\s*{_CREDIT_NAME})?\s*\))\s*\.?"
)
_CAPTION_RE = re.compile(rf"(?:^|(?<=[.!?…)\]])\s*|\s+[-–—|]\s*|\s+){_CREDIT}$")
_CAPTION_MAX_LEN = 200
# Headers of "related articles" blocks: the block and everything after it is not
# part of the article.
_CUTOFF_RE = re.compile(
    r"^(?:Có thể bạn quan tâm|Tin liên quan|Xem thêm|Đọc thêm|Tin cùng chuyên mục"
    r"|Bài viết liên quan|Tin bài liên quan|Tin khác|Bài liên quan)\s*[:.…]*$",
    re.IGNORECASE,
)
# Page date/time stamps that HTML extraction keeps as a line of their own
# ("02/09/2025 08:30", "Thứ Ba, 02/09/2025 - 08:30 (GMT+7)", "Cập nhật: 08:30 02/09/2025").
# A line is a date line when nothing but these pieces and separators is left.
_DATE_RE = re.compile(r"\b(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{4}|\d{4}-\d{2}-\d{2})\b")
_DATE_PIECE_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:T[\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?|\d{1,2}[/.-]\d{1,2}[/.-]\d{4}"
    r"|\d{1,2}[:h]\d{2}(?::\d{2})?(?:\s*[AaPp][Mm])?|GMT\s*[+-]\s*\d{1,2}(?::?\d{2})?"
    r"|(?i:thứ\s+(?:hai|ba|tư|năm|sáu|bảy|[2-7])|chủ\s+nhật|cập\s+nhật|ngày\s+đăng|đăng\s+lúc"
    r"|ngày|lúc|đăng|giờ|published|updated)"
)
_DATE_LINE_MAX = 80
# Serialisation leftovers of the scraper ("null" printed for a missing field).
_JUNK_RE = re.compile(r"^(?:null|none|undefined|nan)$", re.IGNORECASE)


def strip_caption_credit(paragraph: str) -> str:
    """Remove a trailing photo credit ("Ảnh: X", "(Ảnh: X)") from a paragraph.

    Requires a credit with a colon or one of the fixed phrases; the remaining text is
    returned stripped ("" when the whole paragraph was the credit).
    """
    m = _CAPTION_RE.search(paragraph)
    if not m:
        return paragraph
    credit = m.group(0).strip()
    # A bare "Ảnh" ending a sentence is a word, not a credit.
    if credit.strip("(). ") == "Ảnh":
        return paragraph
    return paragraph[: m.start()].rstrip()


def is_boilerplate_line(line: str) -> bool:
    """True for a whole line that is scrape boilerplate (never article content).

    Google News follow lines, image file names, page date lines
    (:func:`is_date_line`), photo captions (short lines whose last sentence is a
    photo credit) and junk values such as "null".
    """
    line = line.strip()
    if not line:
        return True
    return _is_non_caption_boilerplate(line) or is_caption(line)


def is_caption(line: str) -> bool:
    """True for a photo caption: a short line (< 200 chars) ending in a photo credit.

    Long paragraphs ending in a credit are prose; only the credit is removed from them
    (:func:`strip_caption_credit`).
    """
    line = line.strip()
    return len(line) < _CAPTION_MAX_LEN and strip_caption_credit(line) != line


def is_date_line(line: str) -> bool:
    """True for a line that is only a date/time stamp, e.g. "02/09/2025 08:30".

    Weekday ("Thứ Ba,"), "Cập nhật:", "(GMT+7)" and separators may surround the date;
    a line with any other word ("Ngày 22/4/2021, đi ăn uống ...") is text.
    """
    line = line.strip()
    if len(line) > _DATE_LINE_MAX or not _DATE_RE.search(line):
        return False
    return not _DATE_PIECE_RE.sub("", line).strip(" ,;:|-–—/()[]")


def _is_non_caption_boilerplate(line: str) -> bool:
    return bool(
        _JUNK_RE.match(line) or _IMAGE_FILE_RE.match(line) or _GOOGLE_NEWS_RE.match(line)
        or is_date_line(line)
    )


def _same_text(a: str, b: str) -> bool:
    squash = lambda s: " ".join(s.split()).casefold().rstrip(" .")  # noqa: E731
    return squash(a) == squash(b)


def clean_text(text: str, *, title: str | None = None) -> str:
    """Clean raw article text; return paragraphs separated by ``"\\n\\n"``.

    Steps: Unicode hygiene (:func:`normalize_unicode`); one paragraph per non-empty
    line; cut at a "Có thể bạn quan tâm" / "Tin liên quan" / "Xem thêm" / "Đọc thêm"
    line and everything after it; drop boilerplate lines
    (:func:`is_boilerplate_line`, page date lines included); strip trailing photo
    credits and credits glued inside paragraphs (:func:`strip_inline_credits`); drop a
    first paragraph repeating ``title``; drop the dateline tag
    ("(GLO)-") of the lead while keeping the lead. May return "" when nothing is
    left.
    """
    paragraphs = split_paragraphs(normalize_unicode(text))
    # Names used anywhere in the article tell a credit name from the next sentence.
    context = "\n".join(paragraphs)

    for i, paragraph in enumerate(paragraphs):
        # At index 0 the header cannot introduce anything after an article; just
        # drop it instead of emptying the article.
        if _CUTOFF_RE.match(paragraph):
            paragraphs = paragraphs[:i] + ([] if i else paragraphs[1:])
            break

    paragraphs = [p for p in paragraphs if not _is_non_caption_boilerplate(p)]
    # Credits glued between two sentences go first, so that the caption rules below
    # only see credits that end a paragraph.
    paragraphs = [strip_inline_credits(p, context) for p in paragraphs]
    captions = [is_caption(p) for p in paragraphs]
    credited_chars = sum(len(p) for p in paragraphs if strip_caption_credit(p) != p)
    # Photo stories (Dân trí "ảnh" articles) consist mostly of credited captions;
    # there the captions are the article, so they are kept without their credits.
    drop_captions = credited_chars * 2 <= sum(len(p) for p in paragraphs)

    kept: list[str] = []
    for paragraph, caption in zip(paragraphs, captions, strict=False):
        if caption and drop_captions:
            continue
        paragraph = strip_caption_credit(paragraph)
        if paragraph:
            kept.append(paragraph)

    # A lead that only repeats the title is dropped, unless it is all there is
    # (headline-only records).
    if title and len(kept) > 1 and _same_text(kept[0], normalize_unicode(title)):
        kept.pop(0)
    if kept:
        lead = strip_dateline_tag(kept[0])
        if lead:
            kept[0] = lead
        else:
            kept.pop(0)
    # Joining NFC paragraphs with newlines keeps NFC; nfc() is a cheap guarantee.
    return nfc("\n\n".join(kept))
