"""``python -m indexer``: the indexer's commands (index, delete, stats, export, check, model)."""

from .commands import cli

cli()
