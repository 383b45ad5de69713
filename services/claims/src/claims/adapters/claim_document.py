"""Claim aggregate <-> JSON document (the form the claims table stores), driven by the dataclass types.

Generic over the domain's frozen dataclasses so a new field on the model needs no change here. The type
hints are read once per type: each type gets a converter built on first use (the submission job turns
thousands of documents into claims and back per run, so the per-value work is kept to a call or two).
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from claims.domain.model import Claim

_SKIP = {"events"}
_PLAIN = (str, int, bool, float, type(None))  # float: never money (the model refuses it), e.g. none today


def _json_native(tp: Any) -> bool:
    """Values of this type go into a document as they are (str, int, bool, a Literal, or None of those)."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return all(a is type(None) or _json_native(a) for a in get_args(tp))
    if origin is Literal:
        return all(isinstance(a, str | int | bool) for a in get_args(tp))
    return tp in (str, int, bool)


@cache
def _layout(cls: type) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """For a dataclass type: the fields copied as they are, and the fields converted; None for other types."""
    if not dataclasses.is_dataclass(cls):
        return None
    hints = _hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.name not in _SKIP]
    return (tuple(n for n in names if _json_native(hints[n])),
            tuple(n for n in names if not _json_native(hints[n])))


def to_document(value: Any) -> Any:
    kind: type = type(value)
    if kind in _PLAIN:
        return value
    layout = _layout(kind)
    if layout is not None:
        plain, converted = layout
        document = {name: getattr(value, name) for name in plain}
        for name in converted:
            document[name] = to_document(getattr(value, name))
        return document
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


def _as_is(raw: Any) -> Any:
    return raw


@cache
def _converter(tp: Any) -> Callable[[Any], Any]:
    """A function from the JSON form of ``tp`` to a value of ``tp`` (None stays None)."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        return _converter(options[0]) if len(options) == 1 else _as_is
    if origin is Literal:
        return _as_is
    if origin is tuple:
        args = get_args(tp)
        item = _converter(args[0]) if len(args) == 2 and args[1] is Ellipsis else _as_is
        return lambda raw: None if raw is None else tuple(map(item, raw))
    if origin in (list, typing.List):  # noqa: UP006
        element = _converter(get_args(tp)[0])
        return lambda raw: None if raw is None else list(map(element, raw))
    if origin is dict:
        return lambda raw: None if raw is None else dict(raw)
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            return _dataclass_converter(tp)
        if issubclass(tp, enum.Enum):
            return lambda raw: None if raw is None else tp(raw)
        if tp is Decimal:
            return lambda raw: None if raw is None else Decimal(str(raw))
        if tp is datetime:
            return lambda raw: None if raw is None else datetime.fromisoformat(raw)
        if tp is date:
            return lambda raw: None if raw is None else date.fromisoformat(raw)
    return _as_is


def _dataclass_converter(cls: type) -> Callable[[Any], Any]:
    layout = _layout(cls)
    assert layout is not None
    plain, names = layout
    hints = _hints(cls)
    converted = tuple((name, _converter(hints[name])) for name in names)

    def build(raw: Any) -> Any:
        if raw is None:
            return None
        kwargs = {name: raw[name] for name in plain if name in raw}
        for name, convert in converted:
            if name in raw:
                kwargs[name] = convert(raw[name])
        return cls(**kwargs)

    return build


def claim_from_document(document: dict[str, Any]) -> Claim:
    claim: Claim = _converter(Claim)(document)
    return claim
