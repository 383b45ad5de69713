"""Where a validation error points, without repeating what a client wrote.

A pydantic error location is made of field names and list indexes, but an unknown key (``extra_forbidden``) or
a key of a dict-typed field is the client's own text, and a client can put a patient's name there. Such a
location element is replaced by ``(unknown field)`` (unless it is a number of at most four digits); field
names our models declare are kept, so the reason still says which field to fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

UNKNOWN_FIELD = "(unknown field)"
_REQUEST_PARTS = frozenset({"body", "query", "path", "header", "cookie"})
_known: tuple[int, frozenset[str]] = (-1, frozenset())


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    found, stack = [], [root]
    while stack:
        model = stack.pop()
        found.append(model)
        stack.extend(model.__subclasses__())
    return found


def known_field_names() -> frozenset[str]:
    """Every field name and alias of every pydantic model loaded in this process (ours: contracts, request
    schemas, settings), recomputed only when new models have been defined."""
    global _known
    models = _models(BaseModel)
    if len(models) != _known[0]:
        names: set[str] = set()
        for model in models:
            for name, info in getattr(model, "model_fields", {}).items():
                names.add(name)
                for alias in (info.alias, info.validation_alias, info.serialization_alias):
                    if isinstance(alias, str):
                        names.add(alias)
        _known = (len(models), frozenset(names))
    return _known[1]


def safe_location(loc: Sequence[Any], error_type: str, *, request: bool = False) -> list[str]:
    """The location's elements up to the first one that is not ours; an unknown one becomes ``(unknown field)``.

    ``request``: the first element is the request part (body, query, path, header), named by the framework."""
    known = known_field_names()
    parts = [str(p) for p in loc]
    out: list[str] = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if request and index == 0:
            keep = part in _REQUEST_PARTS
        elif request and index == 1 and out and out[0] in ("query", "path", "header", "cookie"):
            keep = True  # parameter names come from the route, never from the client
        elif isinstance(loc[index], int) or (part.isdigit() and len(part) <= 4):
            keep = True  # a list index, or a small number keying a dict (a claim line): no identifier fits in 4 digits
        else:
            keep = part in known and not (last and error_type == "extra_forbidden")
        if not keep:
            out.append(UNKNOWN_FIELD)
            break
        out.append(part)
    return out
