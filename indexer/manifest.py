"""``manifest.json``: what an index directory is (format, model, chunking, counts)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import IndexFormatError, IndexNotFoundError, ModelMismatchError
from .layout import FORMAT_NAME, FORMAT_VERSION, MANIFEST, SCHEMA_VERSION, atomic_write, utc_now


@dataclass
class Manifest:
    """What an index directory is: checked on every open."""

    model_name: str
    model_id: str
    dimension: int
    max_tokens: int
    chunking: dict
    vector_index: str = "flat"
    format: str = FORMAT_NAME
    format_version: int = FORMAT_VERSION
    schema_version: int = SCHEMA_VERSION
    generation: int = 0
    counts: dict = field(default_factory=lambda: {"articles": 0, "passages": 0})
    #: The lexical matrix files last written (:mod:`indexer.lexical.files`): directory,
    #: generation, segments, masked rows. Lags ``generation`` between a writer's batches.
    lexical: dict = field(default_factory=dict)
    created: str = field(default_factory=utc_now)
    updated: str = field(default_factory=utc_now)

    @classmethod
    def load(cls, directory: Path) -> Manifest:
        """Read and check ``directory/manifest.json``; one-line errors for every problem."""
        path = directory / MANIFEST
        if not path.exists():
            if not directory.exists():
                raise IndexNotFoundError(f"{directory}: no such index directory")
            raise IndexNotFoundError(f"{path}: missing; {directory} is not a vnsearch index "
                                     "(create one with `vnsearch index PATH --index DIR`)")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexFormatError(f"{path}: unreadable manifest ({exc}); restore it from a "
                                   "backup or rebuild the index") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
            raise IndexFormatError(f"{path}: not a vnsearch manifest")
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            newer = isinstance(version, int) and version > FORMAT_VERSION
            raise IndexFormatError(
                f"{path}: index format {version}, this vnsearch reads format {FORMAT_VERSION}; "
                + ("upgrade vnsearch to open it" if newer else "rebuild it with `vnsearch index`"))
        try:
            return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        except TypeError as exc:
            raise IndexFormatError(f"{path}: malformed manifest ({exc})") from None

    def save(self, directory: Path) -> None:
        """Write atomically (temporary file, fsync, rename)."""
        atomic_write(directory / MANIFEST, json.dumps(asdict(self), ensure_ascii=False, indent=2))

    def check_model(self, model_id: str, directory: Path) -> None:
        """Refuse to use the index with another embedding model."""
        if model_id == self.model_id:
            return
        built, wanted = _adapter_of(self.model_name, self.model_id), _adapter_of("", model_id)
        if built != wanted and _base_of(self.model_id) == _base_of(model_id):
            # Same base model, another LoRA delta (or none): say which one the index needs.
            hint = f"--adapter {built}" if built else "--adapter none"
            raise ModelMismatchError(
                f"{directory / MANIFEST}: index built with model adapter {built or 'none'}, "
                f"but the configured adapter is {wanted or 'none'}; use {hint} "
                f"(VNSEARCH_MODEL_ADAPTER) or rebuild")
        raise ModelMismatchError(
            f"{directory / MANIFEST}: index built with model {self.model_id!r}, but the "
            f"configured model is {model_id!r}; use --model {self.model_name!r} or rebuild")


def _adapter_suffix(model_id: str) -> str | None:
    """``a<sha12>`` when ``model_id`` is ``<base id>-a<sha12>`` (an adapted model)."""
    tail = model_id.rsplit("-", 1)[-1]
    if len(tail) == 13 and tail[0] == "a" and all(c in "0123456789abcdef" for c in tail[1:]):
        return tail
    return None


def _base_of(model_id: str) -> str:
    """The base model's id of a possibly adapted model id."""
    suffix = _adapter_suffix(model_id)
    return model_id[:-len(suffix) - 1] if suffix else model_id


def _adapter_of(model_name: str, model_id: str) -> str | None:
    """The adapter an index's model carries: its name (from the display name "… + adapter
    NAME"), else ``a<sha12>`` from the model id ``<base id>-a<sha12>``; None without one."""
    if " + adapter " in model_name:
        return model_name.rsplit(" + adapter ", 1)[1]
    return _adapter_suffix(model_id)
