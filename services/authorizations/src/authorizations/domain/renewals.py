"""Exhaustion forecasts, renewal tasks and concurrent-review submissions.

* ``forecast_exhaustion(ledger, number, scheduled, today) -> ExhaustionForecast``: walks the scheduled visits
  that match the authorization and says when its units run out, or that it ends first.
* ``RenewalRules.from_dict(data).for_payer(payer_id, day) -> RenewalThresholds`` (data: days before the end date,
  units remaining, payer review turnaround; effective-dated, ``"*"`` default). Shipped: ``rules/renewal.yaml``.
* ``renewal_tasks(ledger, scheduled, today, rules, reviews) -> list[RenewalTask]``: one task per authorization that
  crosses a threshold, unless a successor authorization already continues coverage or a concurrent review is
  pending for it.
* ``ConcurrentReviewLog``: records submissions (idempotent per reference) and their outcome.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Protocol

from rcm_shared.rules import RulesError, effective_span

from authorizations.domain.exceptions import RulesNotInForce
from authorizations.domain.ledger import AuthorizationBalance
from authorizations.domain.model import Authorization


class Balances(Protocol):
    """Authorizations and their units used: the ledger itself, or what it stored (``StoredBalances``)."""

    def authorizations(self) -> list[Authorization]: ...

    def authorization(self, number: str) -> Authorization: ...

    def balance(self, number: str) -> AuthorizationBalance: ...


@dataclass(frozen=True)
class StoredBalances:
    """Authorizations with the units the ledger stored as used (the work queue reads these, not the visits)."""

    by_number: Mapping[str, Authorization]
    used: Mapping[str, int]

    def authorizations(self) -> list[Authorization]:
        return list(self.by_number.values())

    def authorization(self, number: str) -> Authorization:
        return self.by_number[number]

    def balance(self, number: str) -> AuthorizationBalance:
        return AuthorizationBalance(self.by_number[number].approved_units, self.used.get(number, 0))


@dataclass(frozen=True, slots=True)
class ScheduledVisit:
    visit_id: str
    patient_id: str
    payer_id: str
    service_date: date
    cpt_code: str


class ExhaustionCause(enum.StrEnum):
    UNITS = "units"  # scheduled visits need more units than remain
    END_DATE = "end_date"  # scheduled visits fall after the authorization ends


@dataclass(frozen=True, slots=True)
class ExhaustionForecast:
    authorization_number: str
    remaining_units: int
    scheduled_covered: int
    runs_out_on: date | None  # the scheduled visit that takes the last unit, when a later one goes without
    first_uncovered_visit: date | None
    cause: ExhaustionCause | None
    ends_on: date


def _matches(auth: Authorization, visit: ScheduledVisit) -> bool:
    return (visit.patient_id, visit.payer_id) == (auth.patient_id, auth.payer_id) and visit.cpt_code in auth.cpt_codes


def forecast_exhaustion(
    ledger: Balances, number: str, scheduled: Sequence[ScheduledVisit], today: date
) -> ExhaustionForecast:
    auth = ledger.authorization(number)
    remaining = max(0, ledger.balance(number).remaining)
    upcoming = sorted(
        (v for v in scheduled if _matches(auth, v) and v.service_date >= max(today, auth.start)),
        key=lambda v: (v.service_date, v.visit_id),
    )
    left = remaining
    covered = 0
    last_covered: date | None = None
    for visit in upcoming:
        if visit.service_date > auth.end:
            return ExhaustionForecast(number, remaining, covered, None, visit.service_date,
                                      ExhaustionCause.END_DATE, auth.end)
        if left == 0:
            return ExhaustionForecast(number, remaining, covered, last_covered, visit.service_date,
                                      ExhaustionCause.UNITS, auth.end)
        left -= 1
        covered += 1
        last_covered = visit.service_date
    return ExhaustionForecast(number, remaining, covered, None, None, None, auth.end)


# ------------------------------------------------------------------------------------------------ thresholds


@dataclass(frozen=True, slots=True)
class RenewalThresholds:
    """When a renewal is due (``rules/renewal.yaml``): the numbers are the payer's, never defaults in code."""

    days_before_end: int
    units_remaining_at_most: int
    review_turnaround_days: int
    payer_id: str = "*"
    effective_from: date = date.min
    effective_to: date | None = None

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


@dataclass(frozen=True, slots=True)
class RenewalRules:
    thresholds: tuple[RenewalThresholds, ...] = ()

    def for_payer(self, payer_id: str, day: date) -> RenewalThresholds:
        for wanted in (payer_id, "*"):
            for item in self.thresholds:
                if item.payer_id == wanted and item.in_force(day):
                    return item
        raise RulesNotInForce("no renewal thresholds are in force on this day (rules/renewal.yaml)")

    @classmethod
    def from_dict(cls, data: Mapping[str, object], file: str = "renewal.yaml") -> RenewalRules:
        raw = data.get("thresholds")
        if not isinstance(raw, list):
            raise RulesError(file, "thresholds", "must be a list")
        out = []
        for i, item in enumerate(raw):
            where = f"thresholds[{i}]"
            if not isinstance(item, Mapping):
                raise RulesError(file, where, "must be a mapping")
            values: dict[str, int] = {}
            for key in ("days_before_end", "units_remaining_at_most", "review_turnaround_days"):
                value = item.get(key)
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise RulesError(file, f"{where}.{key}", "must be a non-negative whole number")
                values[key] = value
            payer = item.get("payer_id")
            if not isinstance(payer, str) or not payer:
                raise RulesError(file, f"{where}.payer_id", "is required (\"*\": every payer)")
            start, end = effective_span(item, file=file, where=where)
            out.append(RenewalThresholds(payer_id=payer, effective_from=start, effective_to=end, **values))
        if not any(t.payer_id == "*" for t in out):
            raise RulesError(file, "thresholds", "needs an entry for payer \"*\" (every other payer)")
        return cls(tuple(out))


# ------------------------------------------------------------------------------------------------ reviews


class ReviewOutcome(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class ConcurrentReview:
    """A request to extend an authorization (278 UM02 ``4`` extension / ``R`` renewal) sent to the payer."""

    reference: str
    authorization_number: str
    submitted_on: date
    requested_units: int
    requested_end: date
    outcome: ReviewOutcome = ReviewOutcome.PENDING


@dataclass
class ConcurrentReviewLog:
    _reviews: dict[str, ConcurrentReview] = field(default_factory=dict)

    def record(self, review: ConcurrentReview) -> bool:
        """Record a submission; the same reference twice is a no-op (returns False)."""
        if review.reference in self._reviews:
            return False
        self._reviews[review.reference] = review
        return True

    def decide(self, reference: str, outcome: ReviewOutcome) -> ConcurrentReview:
        review = replace(self._reviews[reference], outcome=outcome)
        self._reviews[reference] = review
        return review

    def for_authorization(self, number: str) -> list[ConcurrentReview]:
        return sorted((r for r in self._reviews.values() if r.authorization_number == number),
                      key=lambda r: (r.submitted_on, r.reference))

    def pending_for(self, number: str) -> bool:
        return any(r.outcome is ReviewOutcome.PENDING for r in self.for_authorization(number))


# ------------------------------------------------------------------------------------------------ tasks


class RenewalTrigger(enum.StrEnum):
    ENDING_SOON = "ending_soon"
    UNITS_LOW = "units_low"
    SCHEDULE_EXCEEDS_UNITS = "schedule_exceeds_units"
    SCHEDULE_PAST_END = "schedule_past_end"


@dataclass(frozen=True, slots=True)
class RenewalTask:
    authorization_number: str
    patient_id: str
    payer_id: str
    due_by: date  # submit by this date so the payer's turnaround still fits before coverage stops
    triggers: tuple[RenewalTrigger, ...]


def _has_successor(ledger: Balances, auth: Authorization) -> bool:
    for other in ledger.authorizations():
        if (
            other.number != auth.number and other.usable
            and (other.patient_id, other.payer_id) == (auth.patient_id, auth.payer_id)
            and other.cpt_codes & auth.cpt_codes
            and other.start <= auth.end + timedelta(days=1) and other.end > auth.end
        ):
            return True
    return False


def renewal_tasks(
    ledger: Balances, scheduled: Sequence[ScheduledVisit], today: date, rules: RenewalRules,
    reviews: ConcurrentReviewLog | None = None,
) -> list[RenewalTask]:
    tasks: list[RenewalTask] = []
    for auth in sorted(ledger.authorizations(), key=lambda a: (a.end, a.number)):
        if not auth.usable or auth.end < today:
            continue
        if _has_successor(ledger, auth) or (reviews is not None and reviews.pending_for(auth.number)):
            continue
        limits = rules.for_payer(auth.payer_id, today)
        remaining = ledger.balance(auth.number).remaining
        forecast = forecast_exhaustion(ledger, auth.number, scheduled, today)
        triggers: list[RenewalTrigger] = []
        if (auth.end - today).days <= limits.days_before_end:
            triggers.append(RenewalTrigger.ENDING_SOON)
        if remaining <= limits.units_remaining_at_most:
            triggers.append(RenewalTrigger.UNITS_LOW)
        if forecast.cause is ExhaustionCause.UNITS:
            triggers.append(RenewalTrigger.SCHEDULE_EXCEEDS_UNITS)
        elif forecast.cause is ExhaustionCause.END_DATE:
            triggers.append(RenewalTrigger.SCHEDULE_PAST_END)
        if not triggers:
            continue
        stops = forecast.first_uncovered_visit if forecast.cause is ExhaustionCause.UNITS else auth.end
        due = (stops or auth.end) - timedelta(days=limits.review_turnaround_days)
        tasks.append(RenewalTask(auth.number, auth.patient_id, auth.payer_id, max(today, due), tuple(triggers)))
    return tasks
