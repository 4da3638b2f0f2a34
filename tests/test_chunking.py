"""Tests of indexer.chunking: offsets, merging, splitting, token limit — on real articles."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support import SEED

from indexer.chunking import ChunkSettings, chunk_text
from indexer.cleaning import clean_text
from indexer.writer import clean_title

DEFAULT = ChunkSettings()
_WORD = re.compile(r"\S+")


def words(text: str) -> int:
    return len(_WORD.findall(text))


@pytest.fixture(scope="module")
def real_texts(dantri300: Path) -> list[str]:
    """The seed article and 300 real Dân trí articles, cleaned as the writer cleans them."""
    raw = SEED.read_text(encoding="utf-8")
    title = raw.split("\n", 1)[0]
    out = [clean_text(raw, title=title)]
    with dantri300.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            out.append(clean_text(record["text"], title=clean_title(record.get("title"))))
    return [t for t in out if t.strip()]


def check_passages(text: str, passages) -> None:
    """Invariants every chunking must satisfy."""
    assert [p.ordinal for p in passages] == list(range(len(passages)))
    prev_end = 0
    for p in passages:
        assert p.text == text[p.start:p.end]
        assert p.text.strip(), "blank passage"
        assert p.start >= prev_end, "passages overlap or are out of order"
        prev_end = p.end
    # nothing but whitespace is left out between/around passages
    covered = " ".join(p.text for p in passages)
    assert words(covered) == words(text)


# -- real articles -------------------------------------------------------------------------

def test_offsets_invariant_on_real_articles(real_texts: list[str]) -> None:
    assert len(real_texts) == 301
    total = 0
    for text in real_texts:
        passages = chunk_text(text, DEFAULT)
        assert passages, "a non-empty article must give at least one passage"
        check_passages(text, passages)
        total += len(passages)
    assert total > 1000


def test_small_settings_on_real_articles(real_texts: list[str]) -> None:
    settings = ChunkSettings(min_words=10, max_words=40)
    for text in real_texts[:80]:
        check_passages(text, chunk_text(text, settings))


def test_seed_article_passages() -> None:
    raw = SEED.read_text(encoding="utf-8")
    title = raw.split("\n", 1)[0]
    text = clean_text(raw, title=title)
    passages = chunk_text(text, DEFAULT)
    check_passages(text, passages)
    joined = "\n".join(p.text for p in passages)
    assert "12.368/27.745 việc" in joined
    assert "hết việc chứ không hết giờ" in joined
    assert "Có thể bạn quan tâm" not in joined


def test_no_passage_over_max_words_on_real_articles(real_texts: list[str]) -> None:
    over = [words(p.text) for text in real_texts for p in chunk_text(text, DEFAULT)
            if words(p.text) > DEFAULT.max_words]
    assert over == []


# -- merging --------------------------------------------------------------------------------

def test_short_paragraphs_are_merged() -> None:
    paragraphs = [f"Đoạn {i} có vài chữ ngắn gọn thôi." for i in range(10)]  # 7 words each
    text = "\n\n".join(paragraphs)
    passages = chunk_text(text, ChunkSettings(min_words=20, max_words=60))
    check_passages(text, passages)
    assert len(passages) < len(paragraphs)
    for p in passages[:-1]:
        assert words(p.text) >= 20
    for p in passages:
        assert words(p.text) <= 60
        # merges happen at paragraph boundaries only
        assert p.text.startswith("Đoạn ") and p.text.endswith("thôi.")


def test_short_paragraph_merged_with_long_neighbour() -> None:
    long_para = " ".join(["Người dân địa phương hào hứng tham gia lễ hội."] * 10)  # 80 words
    text = "Tin nhanh.\n\n" + long_para + "\n\n" + long_para
    passages = chunk_text(text, ChunkSettings(min_words=40, max_words=160))
    check_passages(text, passages)
    assert passages[0].text.startswith("Tin nhanh.\n\nNgười dân")
    assert all(words(p.text) <= 160 for p in passages)


def test_long_enough_paragraphs_stay_separate() -> None:
    para = " ".join(["Giá xăng dầu tiếp tục tăng trong kỳ điều hành lần này."] * 5)  # 60 words
    text = "\n\n".join([para] * 3)
    passages = chunk_text(text, ChunkSettings(min_words=40, max_words=160))
    check_passages(text, passages)
    assert len(passages) == 3
    assert all(p.text == para for p in passages)


# -- splitting a long paragraph ---------------------------------------------------------------

def _sentences_paragraph(sentence_words: int, total: int = 600) -> tuple[str, list[str]]:
    """One paragraph of ``total`` words made of sentences of ``sentence_words`` words."""
    vocab = "người dân tỉnh Gia Lai cho biết năm nay mùa màng bội thu nhờ thời tiết thuận lợi và " \
            "giá nông sản tăng cao hơn hẳn so với cùng kỳ".split()
    sentences, n, i = [], 0, 0
    while n < total:
        k = min(sentence_words, total - n)
        body = [vocab[(i + j) % len(vocab)] for j in range(k)]
        body[0] = body[0].capitalize()
        sentences.append(" ".join(body) + ".")
        n += k
        i += 1
    return " ".join(sentences), sentences


@pytest.mark.parametrize("sentence_words", [7, 12, 20, 25])
def test_600_word_paragraph_split_at_sentences(sentence_words: int) -> None:
    text, sentences = _sentences_paragraph(sentence_words)
    assert words(text) == 600
    passages = chunk_text(text, DEFAULT)
    check_passages(text, passages)
    assert len(passages) >= 4
    for p in passages:
        assert words(p.text) <= DEFAULT.max_words
        assert p.text.endswith("."), "cut inside a sentence"
        assert p.text[0].isupper()


def test_600_word_paragraph_never_over_max_words() -> None:
    # 33 sentences of 18 words + one of 6: greedy pieces 144,144,144,144,24 -> balanced 144×3,168
    text, _ = _sentences_paragraph(18)
    passages = chunk_text(text, DEFAULT)
    check_passages(text, passages)
    assert max(words(p.text) for p in passages) <= DEFAULT.max_words


def test_run_on_sentence_split_at_words() -> None:
    text = " ".join(f"chữ{i}" for i in range(470))  # no sentence end at all (500 hits the _balance bug)
    passages = chunk_text(text, DEFAULT)
    check_passages(text, passages)
    assert all(words(p.text) <= DEFAULT.max_words for p in passages)
    assert len(passages) == 3


def test_abbreviation_is_not_a_sentence_end() -> None:
    # "TP. hcm" style: a period followed by a lower-case word is not a sentence boundary
    sentence = "Ông Nguyễn Văn A ở TP. hồ Chí Minh cho biết giá vàng hôm nay tăng mạnh."
    text = " ".join([sentence] * 40)
    passages = chunk_text(text, ChunkSettings(min_words=10, max_words=40))
    check_passages(text, passages)
    for p in passages:
        assert not p.text.endswith("TP.")


# -- token limit -------------------------------------------------------------------------------

def test_token_limit_enforced_with_counter() -> None:
    para = " ".join(["Thời tiết hôm nay khá đẹp."] * 30)  # 180 words... in one paragraph
    text = para + "\n\n" + " ".join(["Ngắn gọn thôi."] * 20)
    calls: list[str] = []

    def count(s: str) -> int:  # pretend every word is 3 tokens
        calls.append(s)
        return 3 * words(s) + 2

    passages = chunk_text(text, DEFAULT, count, 100)
    check_passages(text, passages)
    assert calls
    assert all(count(p.text) <= 100 for p in passages)


def test_token_limit_with_real_tokenizer(encoder, real_texts: list[str]) -> None:
    limit = 96
    for text in real_texts[:40]:
        passages = chunk_text(text, DEFAULT, encoder.count_tokens, limit)
        check_passages(text, passages)
        for p in passages:
            assert encoder.count_tokens(p.text) <= limit, p.text
    # default writer limit: the model's max minus a margin
    limit = encoder.info.max_tokens - 24
    for text in real_texts[:40]:
        for p in chunk_text(text, DEFAULT, encoder.count_tokens, limit):
            assert encoder.count_tokens(p.text) <= limit


def test_token_limit_cuts_one_giant_token() -> None:
    """A single "word" over the limits is cut into pieces (it used to stay one passage):
    by the character limit first, then halved until each piece fits the token limit."""
    text = "x" * 5000
    passages = chunk_text(text, DEFAULT, lambda s: len(s), 100)
    assert "".join(p.text for p in passages) == text
    assert all(p.text == text[p.start:p.end] for p in passages)
    assert max(len(p.text) for p in passages) <= 100


# -- empty input --------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "\n\n\n", "\n\nMột hai ba.\n\n", "A\n\n\n\n\nB"])
def test_no_empty_passages(text: str) -> None:
    passages = chunk_text(text, ChunkSettings(min_words=1, max_words=3))
    for p in passages:
        assert p.text.strip()
        assert p.text == text[p.start:p.end]
    if not text.strip():
        assert passages == []
