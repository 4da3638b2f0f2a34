"""The default encoder backend: onnx-int8, built offline from the materialised model.

Its retrieval quality is measured with `vnsearch eval` (README: within 0.002 nDCG@10 of
fp32 on vinewsqa-dev); here: it builds, agrees with fp32, and finds the right article.
"""

from __future__ import annotations

import numpy as np
import pytest
from support import SEED


@pytest.fixture(scope="module")
def int8_encoder(settings):
    from indexer.encoders import create_encoder

    return create_encoder(settings.model_copy(update={"encoder_backend": "onnx-int8"}))


def _paragraphs() -> list[str]:
    text = SEED.read_text(encoding="utf-8")
    return [p.strip() for p in text.split("\n\n") if len(p.split()) > 5]


def test_int8_agrees_with_fp32(int8_encoder, encoder):
    assert int8_encoder.info.backend == "onnx-int8"
    assert int8_encoder.info.model_id == encoder.info.model_id  # same model, same indexes
    texts = _paragraphs()
    cos_p = (int8_encoder.encode_passages(texts) * encoder.encode_passages(texts)).sum(axis=1)
    queries = ["kết quả thi hành án dân sự tỉnh Gia Lai", "thi hanh an dan su gia lai",
               "phòng cháy chữa cháy", "an ninh hàng không"]
    cos_q = (int8_encoder.encode_queries(queries) * encoder.encode_queries(queries)).sum(axis=1)
    assert cos_p.mean() >= 0.99 and cos_p.min() >= 0.98, cos_p
    assert cos_q.mean() >= 0.99 and cos_q.min() >= 0.98, cos_q
    assert np.allclose(np.linalg.norm(int8_encoder.encode_passages(texts[:2]), axis=1), 1.0, atol=1e-4)
    assert int8_encoder.count_tokens(texts[0]) == encoder.count_tokens(texts[0])


def test_int8_ranks_the_answer_above_the_teasers(int8_encoder):
    paragraphs = _paragraphs()
    lead = next(p for p in paragraphs if "Sáng 18-7" in p)
    teasers = [p for p in paragraphs if any(k in p for k in (
        "phòng cháy, chữa cháy", "an ninh, an toàn hàng không", "Cảnh sát giao thông (CSGT)"))]
    assert len(teasers) >= 3
    for query in ("kết quả thi hành án dân sự tỉnh Gia Lai", "thi hanh an dan su tinh gia lai"):
        q = int8_encoder.encode_queries([query])[0]
        lead_score = float(int8_encoder.encode_passages([lead])[0] @ q)
        teaser_scores = int8_encoder.encode_passages(teasers) @ q
        assert lead_score > float(teaser_scores.max()), (query, lead_score, teaser_scores)


def test_bulk_passages_are_data_parallel_and_bit_identical(int8_encoder):
    """Many passages run as one-thread micro-batches side by side (see OnnxInt8Encoder); the
    batches are the ones the sequential path makes, so the vectors are identical."""
    texts = _paragraphs() * 3
    assert len(texts) > 2 * int8_encoder.default_batch_size
    workers = int8_encoder.bulk_workers
    try:
        int8_encoder.bulk_workers = 1
        sequential = int8_encoder.encode_passages(texts)
        int8_encoder.bulk_workers = 2
        parallel = int8_encoder.encode_passages(texts)
    finally:
        int8_encoder.bulk_workers = workers
    assert int8_encoder._bulk_session is not None  # the parallel path ran
    assert np.array_equal(sequential, parallel)
    # One batch runs on the query-side session; alone in its batch, its int8 scales differ.
    one = int8_encoder.encode_passages(texts[:1])
    assert float(one[0] @ sequential[0]) > 0.99
