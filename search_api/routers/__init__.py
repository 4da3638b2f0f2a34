"""The API's routers, one per feature; :func:`search_api.app.create_app` includes them in order.

Route functions carry no docstring on purpose: FastAPI would publish it as the operation's
OpenAPI description, and the OpenAPI document is part of the public contract.
"""

from . import admin, articles, health, metrics, page, search

__all__ = ["admin", "articles", "health", "metrics", "page", "search"]
