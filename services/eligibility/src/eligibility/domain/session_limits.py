"""Yearly session caps: count completed visits per benefit year and warn before the cap is reached.

``SessionLimitTracker(limit=20, alert_at_remaining=3)`` then ``record_visit(visit_id, dos)`` for every
completed visit (a repeat of the same visit id is a no-op; a repeat with another date moves the visit),
``void_visit(visit_id)`` for a voided one (a tombstone makes a late-arriving record of it a no-op too).
Both return the alerts newly raised (``SessionLimitAlert``), each at most once per benefit year and kind.
``reconcile_with_payer(remaining, as_of)`` takes the 271's 'visits remaining' into account: the tracker then
reports the more conservative of its own count and the payer's figure minus our visits after ``as_of``.

``SessionLimitRules.from_rules(rules).alert_at_remaining(payer_id, day)``: how many visits before the cap a patient
goes on the work queue (``rules/session_limits.yaml``; payer-specific first, then ``"*"``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date

from rcm_shared.rules import RulesError, RulesFile

from eligibility.domain.rule_fields import entries


@dataclass(frozen=True, slots=True)
class AlertThreshold:
    payer_id: str
    effective_from: date
    effective_to: date | None
    alert_at_remaining: int

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


@dataclass(frozen=True, slots=True)
class SessionLimitRules:
    """Thresholds by payer and date. There is always an answer: the file must hold an open-ended ``"*"`` entry,
    and a date before every entry takes the oldest ``"*"`` one (a visit is never left without a warning)."""

    thresholds: tuple[AlertThreshold, ...]
    version: str = "built-in"

    def __post_init__(self) -> None:
        if not any(t.payer_id == "*" and t.effective_to is None for t in self.thresholds):
            raise ValueError("session limits need an open-ended \"*\" threshold")

    @classmethod
    def from_rules(cls, rules: RulesFile) -> SessionLimitRules:
        thresholds = []
        for item in entries(rules, "thresholds"):
            start, end = item.effective()
            thresholds.append(AlertThreshold(item.text("payer_id", "*"), start, end,
                                             item.integer("alert_at_remaining", -1, 0)))  # required: no default
        if not any(t.payer_id == "*" and t.effective_to is None for t in thresholds):
            raise RulesError(rules.name, "thresholds", 'must hold an entry for payer "*" with no effective_to')
        return cls(tuple(thresholds), rules.version)

    def alert_at_remaining(self, payer_id: str, day: date) -> int:
        for wanted in (payer_id, "*"):
            for threshold in self.thresholds:
                if threshold.payer_id == wanted and threshold.in_force(day):
                    return threshold.alert_at_remaining
        oldest = min((t for t in self.thresholds if t.payer_id == "*"), key=lambda t: t.effective_from)
        return oldest.alert_at_remaining


class AlertKind(enum.StrEnum):
    NEARLY_REACHED = "nearly_reached"
    REACHED = "reached"
    EXCEEDED = "exceeded"


@dataclass(frozen=True, slots=True)
class SessionLimitAlert:
    kind: AlertKind
    benefit_year_start: date
    limit: int
    remaining: int
    visit_id: str


@dataclass
class SessionLimitTracker:
    limit: int
    alert_at_remaining: int
    year_start_month: int = 1  # a plan year that starts on 1 July: month=7, day=1
    year_start_day: int = 1
    _visits: dict[str, date] = field(default_factory=dict)
    _voided: set[str] = field(default_factory=set)
    _alerted: set[tuple[date, AlertKind]] = field(default_factory=set)
    _payer_remaining: tuple[date, int] | None = None

    def __post_init__(self) -> None:
        if self.limit < 0 or self.alert_at_remaining < 0:
            raise ValueError("limit and alert_at_remaining must not be negative")
        date(2000, self.year_start_month, self.year_start_day)  # refuses an impossible year start

    def benefit_year_start(self, day: date) -> date:
        start = date(day.year, self.year_start_month, self.year_start_day)
        return start if day >= start else date(day.year - 1, self.year_start_month, self.year_start_day)

    def used(self, day: date) -> int:
        """Visits counted in the benefit year that contains ``day``."""
        start = self.benefit_year_start(day)
        return sum(1 for d in self._visits.values() if self.benefit_year_start(d) == start)

    def remaining(self, day: date) -> int:
        return max(0, self._balance(day))

    def over_limit(self, day: date) -> int:
        """Visits beyond the cap (by our count, or by the payer's figure when that is stricter)."""
        return max(0, -self._balance(day))

    def _balance(self, day: date) -> int:
        ours = self.limit - self.used(day)
        if self._payer_remaining is not None:
            as_of, payer_left = self._payer_remaining
            start = self.benefit_year_start(day)
            if self.benefit_year_start(as_of) == start:
                after = sum(1 for d in self._visits.values() if d > as_of and self.benefit_year_start(d) == start)
                ours = min(ours, payer_left - after)
        return ours

    def reconcile_with_payer(self, remaining: int, as_of: date) -> None:
        """Remember the payer's 'visits remaining' (271 EB06 29) as of the check date."""
        self._payer_remaining = (as_of, remaining)

    def record_visit(self, visit_id: str, service_date: date) -> list[SessionLimitAlert]:
        if visit_id in self._voided or self._visits.get(visit_id) == service_date:
            return []
        self._visits[visit_id] = service_date
        return self._alerts(visit_id, service_date)

    def void_visit(self, visit_id: str) -> None:
        self._voided.add(visit_id)
        self._visits.pop(visit_id, None)

    def _alerts(self, visit_id: str, day: date) -> list[SessionLimitAlert]:
        start = self.benefit_year_start(day)
        remaining = self.remaining(day)
        kinds: list[AlertKind] = []
        if remaining <= self.alert_at_remaining:
            kinds.append(AlertKind.NEARLY_REACHED)
        if remaining == 0:
            kinds.append(AlertKind.REACHED)
        if self.over_limit(day) > 0:
            kinds.append(AlertKind.EXCEEDED)
        raised = []
        for kind in kinds:
            if (start, kind) not in self._alerted:
                self._alerted.add((start, kind))
                raised.append(SessionLimitAlert(kind, start, self.limit, remaining, visit_id))
        return raised
