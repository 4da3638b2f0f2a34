"""vnsearch indexer: reads Vietnamese news, cleans, chunks, embeds and stores it.

Heavy libraries (torch, sentence-transformers, faiss) are imported inside the functions
that need them so that ``vnsearch --help`` and the API's import stay fast.
"""

__version__ = "0.1.0"
