"""Time, injected: every instant a service decides with, and every business date ('today'), comes from a Clock
handed down by its composition root (``bootstrap.py``), never from ``datetime.now()`` / ``date.today()`` where the
decision is made.

Business dates are the practice's: a follow-up 'in 3 days', the day a filing limit runs out, a balance's age are
counted from the date in the practice's time zone, which at 21:00 in New York is already tomorrow in UTC (and on
the machine, whatever its zone). ``Clock.today()`` is that date; ``Clock.now()`` is an aware UTC datetime.

    clock = SystemClock("America/New_York")          # production: the system's time
    clock = FixedClock(datetime(2026, 12, 3, 1, 8, tzinfo=UTC))   # tests: an instant that moves when told
    clock.set(...); clock.advance(timedelta(days=1))

Pure timestamps (``created_at`` columns, envelope times) may keep ``rcm_shared.db.types.utcnow``: they record
when something happened and decide nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo

DEFAULT_PRACTICE_TIME_ZONE = "America/New_York"


@cache
def time_zone(name: str) -> tzinfo:
    """A time zone by its IANA name (``ZoneInfoNotFoundError`` for one the tz database does not know)."""
    return UTC if name == "UTC" else ZoneInfo(name)


class Clock(ABC):
    """The current instant and the practice's date. Subclasses say what 'now' is."""

    def __init__(self, practice_time_zone: str | tzinfo = DEFAULT_PRACTICE_TIME_ZONE) -> None:
        self.practice_zone = (time_zone(practice_time_zone) if isinstance(practice_time_zone, str)
                              else practice_time_zone)

    @abstractmethod
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""

    def today(self, zone: tzinfo | None = None) -> date:
        """The date it is now in ``zone`` (default: the practice's time zone)."""
        return self.date_at(self.now(), zone)

    def date_at(self, at: datetime, zone: tzinfo | None = None) -> date:
        """The date it was at the instant ``at`` in ``zone`` (default: the practice's), e.g. a stored request time."""
        return at.astimezone(zone or self.practice_zone).date()


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock(Clock):
    """An instant that stays put until a test moves it (``set``, ``advance``)."""

    def __init__(self, at: datetime, practice_time_zone: str | tzinfo = DEFAULT_PRACTICE_TIME_ZONE) -> None:
        super().__init__(practice_time_zone)
        self.set(at)

    def set(self, at: datetime) -> None:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("a FixedClock needs an aware datetime (a naive one means no particular instant)")
        self._at = at.astimezone(UTC)

    def advance(self, by: timedelta) -> None:
        self._at += by

    def now(self) -> datetime:
        return self._at
