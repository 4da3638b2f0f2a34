"""Build a directory so that it appears all at once, even with concurrent builders.

A materialised model directory (the converted default model, an ONNX export) takes tens
of seconds to write. It is built in a temporary sibling and then renamed into place, so
any process sees either a complete directory or none; a directory counts as complete
when its ``marker`` file exists (each builder writes the marker last).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def build_atomically(target: Path, build: Callable[[Path], None], *, marker: str,
                     tmp_prefix: str | None = None) -> Path:
    """Return ``target``, first building it with ``build(tmp_dir)`` unless it is complete.

    ``build`` fills an empty temporary directory next to ``target`` (its last write must be
    ``marker``); the directory is then renamed to ``target``. When two processes build at
    once, the first rename wins and the loser's copy is discarded. The temporary directory
    is named ``<tmp_prefix>XXXX`` (default ``.<target name>.``) and never left behind.
    """
    target = Path(target)
    if (target / marker).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = tmp_prefix if tmp_prefix is not None else f".{target.name}."
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    try:
        build(tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            # Another process renamed its copy first; theirs is complete by construction.
            if not (target / marker).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
