"""A LoRA delta on disk: ``adapter.safetensors`` + ``adapter.json``; loading and merging.

``adapter.safetensors`` holds, for each adapted linear layer ``M`` of the encoder,
``M.lora_A`` (rank × in) and ``M.lora_B`` (out × rank) in float16; its metadata holds
the scale (alpha / rank). ``adapter.json`` records the name, the training recipe, the
data counts, the file's sha256 and the attribution the training data needs.

Merging is plain numpy: ``W_M += scale · B @ A`` in float32 for every ``M``, so a
materialised adapted model is an ordinary sentence-transformers directory and the ONNX
export and both encoders see the adapted weights; peft is not needed here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError

WEIGHTS = "adapter.safetensors"
CONFIG = "adapter.json"
FORMAT = "vnsearch-lora"
FORMAT_VERSION = 1
#: Shipped deltas: ``indexer/models/adapters/<name>/``.
SHIPPED_DIR = Path(__file__).resolve().parent.parent / "models" / "adapters"


@dataclass(frozen=True)
class Delta:
    """A loaded delta: name, directory, sha256 of its weights file, scale and config."""

    name: str
    path: Path
    sha256: str
    scale: float
    config: dict


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_delta(out: Path, tensors: dict, *, name: str, scale: float, record: dict) -> Delta:
    """Write ``tensors`` (``<module>.lora_A/B`` arrays) as fp16 and ``adapter.json`` into
    ``out`` (created); ``record`` (recipe, data counts, training figures, attribution) is
    stored as it is, with the format, name, scale and the weights' sha256 added."""
    import numpy as np
    from safetensors.numpy import save_file

    if not tensors:
        raise ModelError("the delta has no LoRA tensors")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    arrays = {k: np.ascontiguousarray(v, dtype=np.float16) for k, v in sorted(tensors.items())}
    save_file(arrays, str(out / WEIGHTS), metadata={"format": FORMAT, "scale": repr(float(scale))})
    sha = file_sha256(out / WEIGHTS)
    config = {"format": FORMAT, "format_version": FORMAT_VERSION, "name": name,
              "scale": float(scale), "sha256": sha,
              "parameters": int(sum(a.size for a in arrays.values())), **record}
    (out / CONFIG).write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n",
                              encoding="utf-8")
    return Delta(name, out, sha, float(scale), config)


def load_delta(path: Path) -> Delta:
    """The delta in directory ``path``; one-line errors for a missing or altered one."""
    path = Path(path)
    weights, config_path = path / WEIGHTS, path / CONFIG
    if not weights.is_file() or not config_path.is_file():
        raise ModelError(f"{path}: not a model adapter (needs {WEIGHTS} and {CONFIG}; "
                         "make one with `vnsearch adapt --out DIR`)")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelError(f"{config_path}: unreadable ({exc})") from None
    if config.get("format") != FORMAT or config.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"{config_path}: not a {FORMAT} v{FORMAT_VERSION} adapter")
    sha = file_sha256(weights)
    if config.get("sha256") not in (None, sha):
        raise ModelError(f"{weights}: sha256 {sha[:12]} differs from adapter.json's "
                         f"{str(config['sha256'])[:12]}: the file was changed or damaged")
    return Delta(str(config.get("name") or path.name), path, sha, float(config["scale"]), config)


def find_delta(spec: str) -> Delta | None:
    """``settings.model_adapter`` → a delta: ``none``/empty → None, a shipped name
    (``news-v1``) or a directory path."""
    value = (spec or "").strip()
    if value.lower() in ("", "none"):
        return None
    shipped = SHIPPED_DIR / value
    if "/" not in value and shipped.is_dir():
        return load_delta(shipped)
    path = Path(value).expanduser()
    if path.is_dir():
        return load_delta(path)
    names = (sorted(p.name for p in SHIPPED_DIR.iterdir() if p.is_dir())
             if SHIPPED_DIR.is_dir() else [])
    raise ModelError(f"model adapter {value!r}: no such directory and not a shipped adapter "
                     f"(shipped: {', '.join(names) or 'none'}; 'none' keeps the base model)")


def merge_into(weights_file: Path, delta: Delta, out_file: Path) -> int:
    """Write ``weights_file``'s tensors with the delta merged (float32) to ``out_file``;
    return how many weight matrices changed."""
    import numpy as np
    from safetensors.numpy import load_file, save_file

    tensors = load_file(str(weights_file))
    lora = load_file(str(delta.path / WEIGHTS))
    modules = sorted({key.rsplit(".lora_", 1)[0] for key in lora})
    for module in modules:
        key = f"{module}.weight"
        if key not in tensors or f"{module}.lora_B" not in lora:
            raise ModelError(f"adapter {delta.name!r} does not fit this model (no {key})")
        a = lora[f"{module}.lora_A"].astype(np.float32)
        b = lora[f"{module}.lora_B"].astype(np.float32)
        if (b.shape[0], a.shape[1]) != tensors[key].shape:
            raise ModelError(f"adapter {delta.name!r} does not fit this model ({key} shape)")
        tensors[key] = (tensors[key].astype(np.float32) + delta.scale * (b @ a)).astype(np.float32)
    save_file(tensors, str(out_file), metadata={"format": "pt"})
    return len(modules)
