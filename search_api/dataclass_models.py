"""Pydantic response models made from the search core's dataclasses, so that a result's
fields are declared once (in :mod:`search_api.retrieval.results`, :mod:`search_api.rag`) and
the HTTP answer is that object, serialised.

A model takes the dataclass's fields, types and defaults; ``exclude`` leaves internal fields
out of the answer, ``required`` keeps a field required in the schema although the core gives
it a default, ``types`` replaces a field's type by a nested response model. Descriptions come
from the OpenAPI document's table (:mod:`search_api.openapi_docs`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, get_type_hints

from pydantic import BaseModel, Field, create_model


def response_model(cls: type, name: str, *, exclude: Iterable[str] = (),
                   required: Iterable[str] = (), types: Mapping[str, Any] | None = None,
                   doc: str | None = None) -> type[BaseModel]:
    """A pydantic model named ``name`` with the fields of dataclass ``cls`` (see the module);
    ``doc`` becomes its schema's description.

    The model reads the dataclass with ``model_validate(obj, from_attributes=True)``.
    """
    hints = get_type_hints(cls)
    skip, needed, types = set(exclude), set(required), dict(types or {})
    fields: dict[str, Any] = {}
    for spec in dataclasses.fields(cls):
        if spec.name in skip:
            continue
        annotation = types.get(spec.name, hints[spec.name])
        if spec.name in needed:
            fields[spec.name] = (annotation, ...)
        elif spec.default is not dataclasses.MISSING:
            fields[spec.name] = (annotation, spec.default)
        elif spec.default_factory is not dataclasses.MISSING:
            fields[spec.name] = (annotation, Field(default_factory=spec.default_factory))
        else:
            fields[spec.name] = (annotation, ...)
    return create_model(name, __doc__=doc, __module__=__name__, **fields)
