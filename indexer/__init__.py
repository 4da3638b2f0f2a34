"""vnsearch indexer: reads Vietnamese news, cleans, chunks, embeds and stores it.

Heavy libraries (torch, sentence-transformers, faiss) are imported inside the functions
that need them so that ``vnsearch --help`` and the API's import stay fast.
"""


def __getattr__(name: str) -> str:
    """``__version__``: the installed distribution's, read when asked (pyproject.toml is the one
    place the version is written)."""
    if name == "__version__":
        from importlib.metadata import version

        return version("vnsearch")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
