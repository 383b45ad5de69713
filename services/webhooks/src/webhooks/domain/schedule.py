"""When a failed delivery is tried again, when a failing endpoint is disabled, how long a rotated secret signs:
``rules/delivery.yaml``, the entry in force on the day."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from webhooks.domain.durations import parse_duration


@dataclass(frozen=True)
class DeliverySchedule:
    effective_from: date
    effective_to: date | None
    retry_after: tuple[timedelta, ...]
    disable_after_failing_for: timedelta
    secret_overlap: timedelta

    @property
    def max_attempts(self) -> int:
        """The first attempt and one per retry."""
        return 1 + len(self.retry_after)

    @property
    def total_span(self) -> timedelta:
        return sum(self.retry_after, timedelta())

    def next_attempt_at(self, attempts_made: int, failed_at: datetime) -> datetime | None:
        """After ``attempts_made`` attempts (the last one failed at ``failed_at``): when to try again, or None
        when the schedule is used up (the delivery is given up)."""
        if attempts_made < 1:
            raise ValueError("a delivery is rescheduled after an attempt")
        if attempts_made > len(self.retry_after):
            return None
        return failed_at + self.retry_after[attempts_made - 1]

    def endpoint_failing_too_long(self, failing_since: datetime | None, now: datetime) -> bool:
        return failing_since is not None and now - failing_since >= self.disable_after_failing_for


@dataclass(frozen=True)
class DeliveryRules:
    schedules: tuple[DeliverySchedule, ...]
    version: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], version: str = "") -> DeliveryRules:
        schedules = []
        for i, entry in enumerate(data.get("schedules") or ()):
            try:
                retry = tuple(parse_duration(d) for d in entry["retry_after"])
                if any(d <= timedelta() for d in retry):
                    raise ValueError("retry_after: every wait must be positive")
                schedules.append(DeliverySchedule(
                    effective_from=_date(entry["effective_from"]),
                    effective_to=_date(entry["effective_to"]) if entry.get("effective_to") else None,
                    retry_after=retry,
                    disable_after_failing_for=parse_duration(entry["disable_after_failing_for"]),
                    secret_overlap=parse_duration(entry["secret_overlap"])))
            except KeyError as exc:
                raise ValueError(f"schedules[{i}]: {exc.args[0]} is required") from None
        if not schedules:
            raise ValueError("schedules: at least one entry is required")
        return cls(tuple(schedules), version)

    def on(self, day: date) -> DeliverySchedule:
        """The schedule in force on ``day`` (the latest starting entry, if entries overlap)."""
        found: Sequence[DeliverySchedule] = [s for s in self.schedules if s.effective_from <= day
                                             and (s.effective_to is None or day <= s.effective_to)]
        if not found:
            raise ValueError(f"delivery.yaml: no schedule in force on {day.isoformat()}")
        return max(found, key=lambda s: s.effective_from)


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
