"""Keep model loading and the first-run build quiet and say what is happening instead.

Loading or building a model makes torch, transformers, sentence-transformers and
onnxruntime print warnings (TracerWarning, onnxruntime's C++ WARNING lines, the
quantiser's "consider pre-processing"), log lines and progress bars ("Loading weights").
None of it is actionable for a vnsearch user, so :func:`quiet_third_party` hides it for
the duration of a load unless ``verbose`` (``--verbose`` / ``VNSEARCH_VERBOSE``), and
restores every setting it touched afterwards. :func:`model_setup` adds the first-run
notice: the first build inside it prints one line before and one line when done.

Nothing here imports a heavy library: a library is quieted only if it is already
imported, so each builder enters a nested ``quiet_third_party()`` right after its own
imports (``verbose=None`` inherits the enclosing scope's choice).
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

#: Loggers of the libraries that load and build models.
NOISY_LOGGERS = ("transformers", "sentence_transformers", "huggingface_hub", "torch",
                 "onnx", "onnxruntime", "onnxscript")

# onnxruntime's C++ logger: 2 = WARNING is its default, 3 = ERROR.
_ORT_DEFAULT_SEVERITY = 2
_ORT_ERROR = 3

_VERBOSE: ContextVar[bool] = ContextVar("vnsearch_verbose_models", default=False)


@dataclass
class _BuildNotice:
    """State of one :func:`model_setup` scope: whether (and when) a build started."""

    cache_dir: Path
    started: float | None = None


_NOTICE: ContextVar[_BuildNotice | None] = ContextVar("vnsearch_build_notice", default=None)


def say(message: str) -> None:
    """One ``vnsearch: ...`` line on stderr (the first-run notices)."""
    print(f"vnsearch: {message}", file=sys.stderr, flush=True)


@contextmanager
def quiet_third_party(verbose: bool | None = None) -> Iterator[None]:
    """Hide third-party warnings, log lines and progress bars inside the block unless ``verbose``.

    ``verbose=None`` inherits the enclosing scope (quiet when there is none). Python
    warnings are ignored; the libraries' loggers (and the root logger, which
    onnxruntime's quantiser logs to) drop anything below ERROR; transformers' and
    huggingface_hub's progress bars and onnxruntime's C++ warnings are off. All of it is
    restored on exit.
    """
    if verbose is None:
        verbose = _VERBOSE.get()
    token = _VERBOSE.set(verbose)
    try:
        if verbose:
            yield
            return
        with ExitStack() as stack:
            stack.enter_context(warnings.catch_warnings())
            warnings.simplefilter("ignore")
            stack.callback(_restore_loggers, _quiet_loggers())
            stack.callback(_restore_progress_bars, _quiet_progress_bars())
            stack.callback(_restore_onnxruntime, _quiet_onnxruntime())
            yield
    finally:
        _VERBOSE.reset(token)


def _quiet_loggers() -> dict[str, tuple[int, list[logging.Handler]]]:
    saved = {}
    for name in ("", *NOISY_LOGGERS):
        logger = logging.getLogger(name)
        saved[name] = (logger.level, list(logger.handlers))
        logger.setLevel(logging.ERROR)
    return saved


def _restore_loggers(saved: dict[str, tuple[int, list[logging.Handler]]]) -> None:
    for name, (level, handlers) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        # ``logging.warning()`` on an unconfigured root adds a stderr handler; drop it.
        for handler in list(logger.handlers):
            if handler not in handlers:
                logger.removeHandler(handler)


def _quiet_progress_bars() -> tuple[bool, bool]:
    """Turn huggingface_hub's (and, if imported, transformers') bars off; return prior state."""
    from huggingface_hub import utils as hub_utils

    hub_was_on = not hub_utils.are_progress_bars_disabled()
    tf_logging = sys.modules.get("transformers.utils.logging")
    tf_was_on = bool(tf_logging and tf_logging.is_progress_bar_enabled())
    hub_utils.disable_progress_bars()
    if tf_logging is not None:
        tf_logging.disable_progress_bar()
    return hub_was_on, tf_was_on


def _restore_progress_bars(state: tuple[bool, bool]) -> None:
    from huggingface_hub import utils as hub_utils

    hub_was_on, tf_was_on = state
    tf_logging = sys.modules.get("transformers.utils.logging")
    # transformers imported inside the block copied the hub's "off" at import: reset it too.
    if tf_logging is not None and (tf_was_on or hub_was_on):
        tf_logging.enable_progress_bar()
    if hub_was_on:
        hub_utils.enable_progress_bars()


def _quiet_onnxruntime() -> bool:
    ort = sys.modules.get("onnxruntime")
    if ort is None or not hasattr(ort, "set_default_logger_severity"):
        return False
    ort.set_default_logger_severity(_ORT_ERROR)
    return True


def _restore_onnxruntime(changed: bool) -> None:
    ort = sys.modules.get("onnxruntime")
    if changed and ort is not None:
        ort.set_default_logger_severity(_ORT_DEFAULT_SEVERITY)


def onnxruntime_severity(verbose: bool) -> int:
    """``SessionOptions.log_severity_level`` for a session: warnings only when verbose."""
    return _ORT_DEFAULT_SEVERITY if verbose else _ORT_ERROR


@contextmanager
def model_setup(cache_dir: Path, verbose: bool) -> Iterator[None]:
    """Scope of resolving and loading a model: quiet unless ``verbose``, first builds announced.

    Builds inside (:func:`building`) print one line before the first of them starts and
    one line when the scope ends, however many directories were built (the default model
    and its ONNX export are one first-run step for the user). A nested scope only quiets.
    """
    if _NOTICE.get() is not None:
        # Nested (an encoder's scope around resolve_model): the outer scope announces.
        with quiet_third_party(verbose):
            yield
        return
    notice = _BuildNotice(Path(cache_dir))
    token = _NOTICE.set(notice)
    try:
        with quiet_third_party(verbose):
            yield
    finally:
        _NOTICE.reset(token)
    if notice.started is not None:
        say(f"model ready ({time.monotonic() - notice.started:.0f} s; cached for next time)")


@contextmanager
def building(what: str, cache_dir: Path) -> Iterator[None]:
    """Announce a first-run build of ``what`` (e.g. "the default model") around the block.

    Inside a :func:`model_setup` only the first build of that scope prints (its end is
    printed by the scope); on its own it prints a line before and one when done.
    """
    notice = _NOTICE.get()
    own = notice is None
    if notice is None:
        notice = _BuildNotice(Path(cache_dir))
    if notice.started is None:
        say(f"building {what} once (about a minute; cached in {notice.cache_dir})")
        notice.started = time.monotonic()
    with quiet_third_party():
        yield
    if own:
        say(f"model ready ({time.monotonic() - notice.started:.0f} s; cached for next time)")
