"""Retrieval: turn a search request into ranked, grouped, highlighted results.

One job per module: :mod:`.request` (the request and its validation, ``SEARCH_MODES``),
:mod:`.results` (what comes back), :mod:`.dense` (query vectors and the vector search),
:mod:`.lexical` (the ``LexicalIndex`` seam: FTS5 and the in-memory matrix, plus the
service that builds the matrix), :mod:`.fusion`, :mod:`.tones`, :mod:`.grouping`,
:mod:`.highlight`, :mod:`.regions` (provinces, story ids and ``also_in`` on hits),
:mod:`.related` (an article's related coverage), and :mod:`.searcher`, the ``Searcher``
facade composing them.
"""

from .request import SEARCH_MODES, SearchRequest
from .results import ArticleView, Hit, SearchResult
from .searcher import Searcher

__all__ = ["ArticleView", "Hit", "SearchRequest", "SearchResult", "Searcher", "SEARCH_MODES"]
