"""Materialise the default model with a LoRA delta merged in (:mod:`indexer.adapt.delta`).

The adapted model is its own directory, ``<base model id>-a<adapter sha256[:12]>``, built
atomically from the base directory (tokenizer and module files copied, weights merged in
float32), so the ONNX int8 export, both encoders and the embedding cache (keyed by model
id) treat it as a different model, and an index built with one refuses the other.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from .atomic_dir import build_atomically
from .default_model import MANIFEST, MaterialisedModel
from .quiet import building

if TYPE_CHECKING:
    from ..adapt.delta import Delta

WEIGHTS = "model.safetensors"


def adapted_model_id(base_id: str, adapter_sha256: str) -> str:
    """The model id of ``base_id`` with the adapter whose weights hash to ``adapter_sha256``."""
    return f"{base_id}-a{adapter_sha256[:12]}"


def ensure_adapted_model(base: MaterialisedModel, delta: Delta,
                         models_dir: Path) -> MaterialisedModel:
    """The base model with ``delta`` (an :class:`indexer.adapt.delta.Delta`) merged,
    built once per machine next to the base model."""
    from ..adapt.delta import merge_into

    model_id = adapted_model_id(base.model_id, delta.sha256)

    def build(tmp: Path) -> None:
        with building(f"the default model with adapter {delta.name}", Path(models_dir)):
            for item in base.path.iterdir():
                # Exports (onnx-int8-*) belong to the base weights: the adapted ones get their own.
                if item.name in (WEIGHTS, MANIFEST) or item.name.startswith((".", "onnx")):
                    continue
                if item.is_dir():
                    shutil.copytree(item, tmp / item.name)
                else:
                    shutil.copy2(item, tmp / item.name)
            merge_into(base.path / WEIGHTS, delta, tmp / WEIGHTS)
            manifest = json.loads((base.path / MANIFEST).read_text())
            manifest.update(base_model_id=base.model_id,
                            adapter={"name": delta.name, "sha256": delta.sha256})
            (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2))

    target = build_atomically(Path(models_dir) / model_id, build, marker=MANIFEST)
    return MaterialisedModel(target, model_id, base.source_sha256)


def model_adapter(model_dir: str) -> dict | None:
    """``{"name", "sha256"}`` of the adapter merged into a materialised model, or None."""
    manifest = Path(model_dir) / MANIFEST if model_dir else None
    if manifest is None or not manifest.is_file():
        return None
    try:
        return json.loads(manifest.read_text()).get("adapter")
    except (OSError, ValueError):
        return None
