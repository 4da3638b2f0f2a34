"""vnsearch search service: hybrid retrieval (search.py), REST API (app.py), web page (static/)."""
