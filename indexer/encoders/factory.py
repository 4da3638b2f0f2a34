"""Build the encoder a ``Settings`` selects; each backend is imported only when chosen."""

from __future__ import annotations

from ..errors import ModelError
from ..settings import Settings
from .base import Encoder


def create_encoder(settings: Settings) -> Encoder:
    """Build the encoder selected by ``settings.encoder_backend`` (torch or onnx-int8)."""
    if settings.encoder_backend == "torch":
        from .torch_backend import SentenceTransformerEncoder

        return SentenceTransformerEncoder(settings)
    if settings.encoder_backend == "onnx-int8":
        from .onnx_int8 import OnnxInt8Encoder

        return OnnxInt8Encoder(settings)
    raise ModelError(f"unknown encoder backend {settings.encoder_backend!r}")
