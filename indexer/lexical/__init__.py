"""The lexical (BM25) structures derived from the store's full-text rows: term counting
(:mod:`.counting`) and the per-generation matrix files the writer keeps and readers map
(:mod:`.files`, :mod:`.segments`). The search side (``search_api.retrieval.lexical``)
scores queries with them; this layer only builds, writes and checks them."""
