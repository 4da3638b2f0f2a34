"""vnsearch indexer: reads Vietnamese news, cleans, chunks, embeds and stores it.

The write side and the on-disk formats: readers (:mod:`.readers`), cleaning and metadata
(:mod:`.cleaning`, :mod:`.metadata`, :mod:`.places`, :mod:`.stories`), the write path
(:mod:`.writer`, whose package names are its public API), the store (:mod:`.db`), vectors
(:mod:`.vector_index`), lexical files and statistics (:mod:`.lexical`), models and
encoders (:mod:`.models`, :mod:`.encoders`, :mod:`.adapt`), shards on Ray and the cluster
file (:mod:`.cluster`), and the indexer's commands (:mod:`.commands`). It never imports
``search_api``.

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
