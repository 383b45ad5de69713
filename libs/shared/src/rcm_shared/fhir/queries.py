"""SQL conditions for FHIR date searches, the same in every service."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from rcm_shared.fhir.api import ONE_DAY, DateRange


def on_days(column: Any, days: DateRange | None) -> list[Any]:
    """``column`` (a timestamp) within the search's days, inclusive; days are UTC days."""
    if days is None:
        return []
    out = []
    if days.lower is not None:
        out.append(column >= datetime.combine(days.lower, time(), UTC))
    if days.upper is not None and days.upper < date.max:  # up to the last day of the calendar: no bound
        out.append(column < datetime.combine(days.upper + ONE_DAY, time(), UTC))
    return out


def within(column: Any, days: DateRange | None) -> list[Any]:
    """``column`` (a date) within the search's days, inclusive."""
    if days is None:
        return []
    return [*((column >= days.lower,) if days.lower else ()), *((column <= days.upper,) if days.upper else ())]


async def page(session: Any, query: Any, *, offset: int, limit: int) -> tuple[list[Any], bool]:
    """One page of ``query`` (already ordered) and whether more follow."""
    rows = (await session.execute(query.offset(offset).limit(limit + 1))).all()
    return list(rows[:limit]), len(rows) > limit
