"""What every ``vnsearch`` command shares: error mapping, common options, settings.

Commands only parse options, call the library and print; every library error
(:class:`~indexer.errors.VnsearchError`) becomes one line on stderr and a non-zero exit —
no traceback for bad input.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import click

from .errors import VnsearchError
from .settings import Settings

index_option = click.option("--index", "index_dir", required=True,
                            type=click.Path(file_okay=False, path_type=Path),
                            help="Index directory.")
model_option = click.option("--model", default=None,
                            help="'default' or a sentence-transformers model name/path "
                                 "[env VNSEARCH_MODEL].")

ADAPTER_ENV = "VNSEARCH_MODEL_ADAPTER"


def _set_adapter(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """``--adapter`` → ``VNSEARCH_MODEL_ADAPTER`` for the command's lifetime: every
    ``Settings()`` of the command sees it, worker processes of ``serve`` included; the old
    value is put back when the command ends (in-process runs such as tests)."""
    if value is None:
        return
    old = os.environ.get(ADAPTER_ENV)
    os.environ[ADAPTER_ENV] = value

    def restore() -> None:
        if old is None:
            os.environ.pop(ADAPTER_ENV, None)
        else:
            os.environ[ADAPTER_ENV] = old

    ctx.call_on_close(restore)


adapter_option = click.option(
    "--adapter", default=None, expose_value=False, is_eager=True, callback=_set_adapter,
    metavar="NAME|DIR|none", help="LoRA delta merged into the default model: a shipped name "
    "(news-v1), a `vnsearch adapt` directory or none [env VNSEARCH_MODEL_ADAPTER].")


def _require_index(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """An ``--index`` that must already be a usable index: checked before any model loads,
    so a typo costs one line, not a model load and a traceback."""
    from .db import IndexDB
    from .manifest import Manifest

    if value is None:  # optional where another option can stand in (serve --cluster)
        return None
    Manifest.load(value)
    with IndexDB(value, readonly=True) as db:
        db.check_schema()
    return value


existing_index_option = click.option(
    "--index", "index_dir", required=True, callback=_require_index,
    type=click.Path(file_okay=False, path_type=Path), help="Index directory (must exist).")
optional_existing_index_option = click.option(
    "--index", "index_dir", default=None, callback=_require_index,
    type=click.Path(file_okay=False, path_type=Path), help="Index directory (must exist).")
verbose_option = click.option("--verbose", is_flag=True, default=None,
                              help="Show third-party warnings and progress bars.")


def settings_from(**overrides: Any) -> Settings:
    """The environment's settings with the command-line options that were given on top."""
    base = Settings()
    updates = {k: v for k, v in overrides.items() if v is not None}
    return base.model_copy(update=updates) if updates else base


class VnsearchGroup(click.Group):
    """A command group that turns library errors into one-line messages."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VnsearchError as exc:
            click.echo(f"vnsearch: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("vnsearch: interrupted", err=True)
            ctx.exit(130)
        except sqlite3.DatabaseError as exc:
            click.echo(f"vnsearch: error: damaged SQLite store (store.sqlite: {exc}); restore it "
                       "from a backup — vnsearch will not overwrite it", err=True)
            ctx.exit(1)
