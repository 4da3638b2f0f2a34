"""Photo/video credits inside a paragraph ("... Ảnh: CACC Khoảng 5 giờ sau, ...").

Scrapers that flatten a page (24h, VnExpress, Báo Mới) glue the caption credit of a
photo to the sentence that follows it, so the credit sits in the middle of a
paragraph. :func:`strip_inline_credits` removes the credit (label and name) and keeps
the caption sentence before it and the article sentence after it.

The hard part is where the credit name ends: "Ảnh: Bình Minh Khoảng 5 giờ sau" - the
name is capitalised and so is the next sentence's first word. Evidence used, in order
(measured on the real corpora with ``bench/cleaning_keep.py``):

1. a fixed credit phrase with lowercase words ("Tư liệu", "Đoàn phim cung cấp");
2. a name word ending in "." ends the credit ("Ảnh: Thái Hiền. Đối với ..."); a
   comma, a bracket or an opening quote belongs to the next sentence;
3. where the next sentence starts, by the earliest of: the same credit elsewhere in
   the article going on differently ("Ảnh: Phạm Công Trong ..."); a switch from
   all-caps to normal case ("Ảnh: TẤN THẠNH Bà Thảo ..."); a word that in the
   corpora nearly only starts sentences ("Khoảng", "Theo", "Ở"); the rest of the
   capitalised run occurring elsewhere in the article (the next sentence starts
   with its subject: "Ảnh: Weibo Lương Vân Phi cho biết ...");
4. before a lowercase word: the last capitalised word starts the sentence if it
   forms a compound with that word used elsewhere in the article ("Diễn viên");
   before a digit or quote: the whole run of at most 4 words is the name;
5. otherwise the shortest credit (one word), so that at worst a credit word is left
   over - a sentence word is never eaten.

Measured with ``bench/cleaning_keep.py``: 0 body sentences lost on 200 and on 1,000
sampled articles; 97% of credit labels removed.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

__all__ = ["SENTENCE_OPENERS", "strip_inline_credits"]

#: Capitalised words that, in dantri-unc + 4,000 Báo Mới articles, start a sentence at
#: least 30 times and are capitalised mid-sentence (as part of a name) in at most 12%
#: of cases, plus "Năm", "Ngày", "Hôm" (14-18%), times of day ("Tối 3/6, ..."),
#: forms of address ("Thầy Trần Quang Tiềm, ...", "Anh" although it is also a name:
#: cutting a name short only leaves a credit word behind), "Ở", "Đúng" and
#: administrative units ("Tỉnh An Huy ..."), found misread on a 1,000-article sample.
#: A credit name that runs into one of them ends before it.
SENTENCE_OPENERS = frozenset(
    """Theo Trong Tuy Sau Các Ông Một Trước Đây Khi Những Hiện Ngoài Nếu Với Nhưng Tại
    Nhiều Có Do Bên Để Vì Việc Đến Dù Họ Đó Ngay Về Cũng Đặc Còn Cụ Và Trên Sự Được Như
    Mặc Kết Mỗi Vào Cùng Bởi Tất Qua Lúc Mới Phút Thậm Số Chiều Nó Chị Cả Hơn Chiếc Cuối
    Vậy Nói Đáng Phần Tàu Tính Gần Riêng Tháng Xe Khoảng Cặp Trao Rất Chưa Nhờ Ví Nhìn
    Lần Thay Dưới Mức Kể Trận Hầu Tương Phía Rồi Thấy Trả Chẳng Phiên Giờ Giới Vấn Thêm
    Đoạn Cựu Xem Bị Tới Cứ Nạn Loại Sức Hay Ngược Giống Nơi Tác Màn Bây Khả Gió Ghi Cú
    Lượng Rõ Giữa Nghe Dựa Vẻ Ít Mà Chàng Đứng Từng Trải Điển Suốt Vài Dẫu Dòng Tùy Nằm
    Biết Mấy Chuyến Giai Phản Hoặc Lấy Ước Trưa Mô Vốn Bữa Niềm Mong Ra Nguy Đám Dịp
    Đang Nổi Chọn Loài Năm Ngày Hôm Sáng Tối Đêm Rạng Thầy Cô Cháu Bé Anh Ở Đúng Tỉnh
    Huyện Xã Phường Quận""".split()
)

# The label must follow a sentence end ("... Tư liệu. Ảnh: X"), also without a space
# ("(TP HCM).Ảnh: X"), a dash ("... - Ảnh: X") or start the paragraph: a label glued
# to a word ("Duy AnTheo Daily MailẢnh: X") or after lowercase prose ("hình ảnh: ...",
# "Trong ảnh: ...") is not a credit. Only capitalised labels count outside brackets.
_LABEL_RE = re.compile(
    r"(?:(?<=[.!?…\"”')\]])\s*|(?:^|\s+[-–—|])\s*)"
    r"(?:Ảnh minh họa|Nguồn ảnh|Ảnh|Video|Clip|Nguồn)\s*:\s*"
    # A capitalised "Ảnh:" also after a caption without a full stop ("tỉnh An Giang
    # Ảnh: HOA NẮNG Theo ..."): mid-sentence prose writes "ảnh" in lowercase.
    r"|(?<=\S)\s+(?:Ảnh minh họa|Nguồn ảnh|Ảnh)\s*:\s*",
)
# "(Ảnh: Reuters).", "(ảnh: N.H)", "(Nguồn: AP)", "(Ảnh minh họa)": a bracketed credit
# is unambiguous in length; it is removed only when a sentence ends with it and another
# follows, so a data source cited inside a sentence ("tăng 5% (Nguồn: GSO) so với")
# stays, and a credit ending the paragraph is left to the caption rules of cleaning.py.
_PAREN_CREDIT_RE = re.compile(
    r"\s*\(\s*(?i:ảnh minh họa|nguồn ảnh|ảnh|video|clip|nguồn)(?:\s*:\s*[^()\n]{1,80}?)?\s*\)"
    r"(?P<dot>\s*\.)?(?=\s+[\"“'(]?[^\W\d_a-zđ])",
)
# Credit phrases with lowercase words, matched before the capitalised-run logic.
_FIXED_NAME_RE = re.compile(
    r"(?:(?:\S+\s+){0,2}\S+\s+cung cấp|(?i:tư liệu|chụp màn hình|cắt từ (?:clip|video)"
    r"|internet|tổng hợp|mạng xã hội|minh họa|ban tổ chức"
    r"|camera (?:nhà dân|an ninh|hành trình))|NVCC|Công an)"
    r"(?=[\s.,;)]|$)",
)
_MAX_RUN = 8
_SENTENCE_END = ".!?…"


def strip_inline_credits(paragraph: str, context: str | None = None) -> str:
    """Remove photo/video credits glued into ``paragraph``; keep the text around them.

    ``context`` is the whole article (defaults to the paragraph): a capitalised
    phrase that occurs elsewhere in it is taken as the start of the next sentence,
    not as part of the credit name. Only credits followed by more text are removed;
    a trailing credit is left to :func:`indexer.cleaning.strip_caption_credit`.
    """
    paragraph = _PAREN_CREDIT_RE.sub(_paren_replacement, paragraph)
    context = paragraph if context is None else context
    out: list[str] = []
    pos = 0
    for m in _LABEL_RE.finditer(paragraph):
        if m.start() < pos:
            continue
        end = _credit_name_end(paragraph, m.end(), context)
        if end is None or not paragraph[end:].strip():
            continue
        out.append(paragraph[pos:m.start()])
        pos = end
    if not out:
        return paragraph.strip()
    out.append(paragraph[pos:])
    # Joining the pieces may leave a double or leading space; "A. Ảnh: X B" → "A. B".
    return re.sub(r"\s{2,}", " ", " ".join(p.strip() for p in out if p.strip())).strip()


def _paren_replacement(m: re.Match[str]) -> str:
    # "Bà Trương Mỹ Lan (Ảnh: Hải Long). Ngày 28/1" → "Bà Trương Mỹ Lan. Ngày 28/1": the
    # credit often carries the caption's only full stop, which is kept (or added, as
    # a sentence follows) so that sentence splitting still sees two sentences.
    before = m.string[: m.start()].rstrip()
    return "" if not before or before[-1] in _SENTENCE_END + "\"”'" else "."


def _credit_name_end(text: str, start: int, context: str) -> int | None:
    """End offset of the credit name that starts at ``start``, or None if no name."""
    fixed = _FIXED_NAME_RE.match(text, start)
    if fixed:
        end = fixed.end()
        return end + 1 if text[end:end + 1] == "." else end
    # A bounded window: the run is at most _MAX_RUN words (keeps long texts linear).
    tokens = [(t.start(), t.end(), t.group()) for t in re.finditer(r"\S+", text[start:start + 600])]
    tokens = tokens[: _MAX_RUN + 1]
    run: list[tuple[int, int, str]] = []
    follower = ""
    for tok in tokens:
        if tok[2][0] in "([" and run:
            # "Ảnh: PV Anh Tình (Thái Bình), người ..." - a credit name has no
            # brackets, so the sentence continues here as after a lowercase word.
            follower = "x"
            break
        if tok[2][0] in "\"“‘" or not _is_name_token(tok[2]) or len(run) == _MAX_RUN:
            # An opening quote starts the next sentence (“Đối thủ nói ...").
            follower = tok[2]
            break
        run.append(tok)
        if tok[2][-1] in _SENTENCE_END:
            # "Ảnh: Thái Hiền. Đối với ..." - the full stop closes the credit.
            return start + tok[1]
        if tok[2][-1] in ",;:":
            # A credit name has no comma: "Thầy Trần Quang Tiềm, giáo viên ..." is
            # the next sentence, as if a lowercase word followed.
            follower = "x"
            break
    if not run:
        return None
    n = _name_length(run, follower, context)
    return start + run[n - 1][1] if n else None


def _is_name_token(token: str) -> bool:
    """A token that can belong to a credit name: capitalised, "@handle", "T.L", "A/B"."""
    word = token.strip("\"“”'(),;:")
    if not word:
        return False
    first = word[0]
    return first == "@" or (first.isalpha() and first.isupper())


def _name_length(run: list[tuple[int, int, str]], follower: str, context: str) -> int:
    """How many tokens of the capitalised ``run`` form the credit name (0: none)."""
    words = [_bare(tok[2]) for tok in run]
    n = len(words)
    follower_word = _bare(follower)
    lower_follower = (bool(follower_word) and follower_word[0].isalpha()
                      and follower_word[0].islower())
    index = _article_index(context)
    # 3./4. The same credit before another sentence elsewhere in the article
    # ("Ảnh: Phạm Công Trong ..." vs "Ảnh: Phạm Công Giáp Tết ..."); the next
    # sentence starting with a name the article uses elsewhere or with a
    # sentence-opening word. The earliest start wins (shortest credit).
    starts = [index.shared_credit_prefix(words), _upper_prefix(words)]
    starts += [i for i in range(1, n) if words[i] in SENTENCE_OPENERS]
    starts += [next((i for i in range(1, n) if tuple(words[i:]) in index.phrases), 0)]
    if any(starts):
        return min(i for i in starts if i)
    if lower_follower:
        # The run's last word starts the next sentence; a compound with the
        # lowercase word after it ("Diễn viên") confirms that it is prose.
        # Count >= 2: the spot itself is one occurrence. Credit names without
        # other evidence are short bylines (<= 3 words): for a longer run the
        # compound may end a multi-word start ("Giáp Tết Nguyên đán").
        if 1 < n <= 4 and index.bigrams[(words[-1].lower(), follower_word.lower())] >= 2:
            return n - 1
        # 5. Shortest credit: never eat a sentence word (n == 1: no name at all).
        return 1 if n > 1 else 0
    # Followed by a digit, a quote or nothing: the whole (short) run is the name.
    return n if n <= 4 else 1


def _bare(token: str) -> str:
    return token.strip("\"“”'(),;:.")


def _upper_prefix(words: list[str]) -> int:
    """Length of a leading run of all-caps words ("TẤN THẠNH Bà Thảo" → 2; 0 if all)."""
    p = 0
    while p < len(words) and sum(c.isalpha() for c in words[p]) >= 2 and words[p].isupper():
        p += 1
    return p if p < len(words) else 0


class _ArticleIndex:
    """Word statistics of one article, built once so long articles stay linear.

    ``phrases``: capitalised word sequences (up to _MAX_RUN words) that occur outside
    credits - the words right after a credit label are skipped, as they are the spot
    being classified or another credit. ``bigrams``: lowercased word pairs with
    counts. ``credit_next``: for each prefix of a credit name, the words that follow
    it in the article's credits.
    """

    def __init__(self, context: str) -> None:
        # A space after every label, so that a glued name ("Ảnh:Kiệt Kiệt") is a word.
        context = _ANY_LABEL_RE.sub(r"\g<0> ", context)
        matches = list(re.finditer(r"\S+", context))
        words = [_bare(m.group()) for m in matches]
        label_ends = [m.end() for m in _ANY_LABEL_RE.finditer(context)]
        skip: set[int] = set()
        self.credit_next: dict[tuple[str, ...], set[str | None]] = {}
        for end in label_ends:
            first = _first_token_at(matches, end)
            skip.update(range(first, first + _MAX_RUN))
            run = words[first:first + _MAX_RUN]
            for p in range(1, len(run) + 1):
                self.credit_next.setdefault(tuple(run[:p]), set()).add(
                    run[p] if p < len(run) else None)
        self.phrases: set[tuple[str, ...]] = set()
        for i, word in enumerate(words):
            if i in skip or not word or not word[0].isupper():
                continue
            for n in range(1, _MAX_RUN + 1):
                self.phrases.add(tuple(words[i:i + n]))
        lowered = [w.lower() for w in words]
        self.bigrams: Counter[tuple[str, str]] = Counter(zip(lowered, lowered[1:], strict=False))

    def shared_credit_prefix(self, words: list[str]) -> int:
        """Longest proper prefix of ``words`` after which another credit goes on differently.

        Credits repeat within an article with different sentences after them, so
        the prefix they share is the credit name; 0 when there is none.
        """
        for p in range(len(words) - 1, 0, -1):
            following = self.credit_next.get(tuple(words[:p]), set())
            if any(word != words[p] for word in following):
                return p
        return 0


def _first_token_at(matches: list[re.Match[str]], offset: int) -> int:
    """Index of the first token that starts at or after ``offset``."""
    lo, hi = 0, len(matches)
    while lo < hi:
        mid = (lo + hi) // 2
        if matches[mid].start() < offset:
            lo = mid + 1
        else:
            hi = mid
    return lo


@lru_cache(maxsize=4)
def _article_index(context: str) -> _ArticleIndex:
    # clean_text passes the same article string for each of its paragraphs.
    return _ArticleIndex(context)


# Any credit label, also glued to the name ("Ảnh:Weibo"): used to skip credit names
# when collecting evidence from the rest of the article.
_ANY_LABEL_RE = re.compile(r"(?:Ảnh|Video|Clip|Nguồn)\s*:\s*")
