"""``python -m search_api`` runs the whole ``vnsearch`` command line."""

from .cli import main

main()
