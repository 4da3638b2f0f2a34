"""Text encoders: one interface (:mod:`.base`), one module per backend, one lazy factory.

* :mod:`.base`: ``ModelInfo``, the ``QueryEncoder`` / ``PassageEncoder`` protocols and the
  ``Encoder`` base class of the backends;
* :mod:`.torch_backend` (sentence-transformers fp32) and :mod:`.onnx_int8` (onnxruntime
  dynamic int8), each importing its heavy libraries only when constructed;
* :mod:`.factory`: ``create_encoder(settings)``.

Model files themselves are materialised by :mod:`indexer.models`.
"""

from ..models.resolve import resolve_model
from .base import Encoder, ModelInfo, PassageEncoder, QueryEncoder, model_info_json
from .factory import create_encoder

__all__ = ["Encoder", "ModelInfo", "PassageEncoder", "QueryEncoder", "create_encoder",
           "model_info_json", "resolve_model"]
