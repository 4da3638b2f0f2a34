"""``python -m indexer`` runs the ``vnsearch`` command line."""

from .cli import main

main()
