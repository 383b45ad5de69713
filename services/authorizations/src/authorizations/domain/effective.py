"""Effective-dated rules entries: which one is in force on a day (the latest to start wins)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Protocol, TypeVar


class EffectiveDated(Protocol):
    @property
    def effective_from(self) -> date: ...

    @property
    def effective_to(self) -> date | None: ...


E = TypeVar("E", bound=EffectiveDated)


def in_force_on(entries: Iterable[E], day: date) -> E | None:
    """The entry in force on ``day`` (inclusive dates) that started last; None when none is."""
    found = [e for e in entries if e.effective_from <= day and (e.effective_to is None or day <= e.effective_to)]
    return max(found, key=lambda e: e.effective_from, default=None)
