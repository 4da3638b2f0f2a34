"""FastAPI dependencies shared by the routers: the app's Searcher and Settings.

Both live on ``app.state`` (set by :func:`search_api.app.create_app` and its lifespan). The
``Annotated`` aliases are module-level on purpose: with postponed annotations FastAPI resolves
a parameter's annotation in its module's globals (a function-local alias made it a query
parameter).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from indexer.settings import Settings

from .retrieval import Searcher


def get_searcher(request: Request) -> Searcher:
    """The app's one Searcher (model and index loaded in the lifespan)."""
    return request.app.state.searcher


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


SearcherDep = Annotated[Searcher, Depends(get_searcher)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
