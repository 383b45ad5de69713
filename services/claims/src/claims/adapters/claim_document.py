"""Claim aggregate <-> JSON document (the form the claims table stores), driven by the dataclass types.

Generic over the domain's frozen dataclasses so a new field on the model needs no change here.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from claims.domain.model import Claim

_SKIP = {"events"}


def to_document(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_document(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name not in _SKIP}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [to_document(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_document(v) for k, v in value.items()}
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    module = __import__(cls.__module__, fromlist=["_"])
    return get_type_hints(cls, vars(module))


def _from(tp: Any, raw: Any) -> Any:
    if raw is None:
        return None
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        return _from(options[0], raw) if len(options) == 1 else raw
    if origin is Literal:
        return raw
    if origin is tuple:
        args = get_args(tp)
        inner = args[0] if len(args) == 2 and args[1] is Ellipsis else Any
        return tuple(_from(inner, v) for v in raw)
    if origin in (list, typing.List):  # noqa: UP006
        return [_from(get_args(tp)[0], v) for v in raw]
    if origin is dict:
        return dict(raw)
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            hints = _hints(tp)
            kwargs = {f.name: _from(hints[f.name], raw[f.name]) for f in dataclasses.fields(tp)
                      if f.name in raw and f.name not in _SKIP}
            return tp(**kwargs)
        if issubclass(tp, enum.Enum):
            return tp(raw)
        if tp is Decimal:
            return Decimal(str(raw))
        if tp is datetime:
            return datetime.fromisoformat(raw)
        if tp is date:
            return date.fromisoformat(raw)
    return raw


def claim_from_document(document: dict[str, Any]) -> Claim:
    claim: Claim = _from(Claim, document)
    return claim
