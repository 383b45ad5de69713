"""Good Faith Estimates (No Surprises Act, 45 CFR 149.610) for uninsured and self-pay patients.

- The clock: an estimate is owed within 1 business day of scheduling a service at least 3 business days ahead,
  within 3 business days when it is scheduled at least 10 business days ahead, and within 3 business days of a
  request (a cost question counts). Business days come from the practice's calendar (closed weekdays, holidays) in
  its time zone; the numbers from ``good_faith_estimates.yaml``.
- The course: a recurring course of sessions is covered for up to 12 months, then a new estimate is owed.
- Contents: patient, provider NPI and TIN, each expected service with its code and expected charge, the diagnosis
  where known, the notices on the dispute process; re-issued (a new version, the old one superseded) when the plan of
  care changes; kept at least 6 years.
- The dispute watch: per provider, what is billed in the estimate's period against what was estimated; the practice
  is warned before the bill reaches the threshold (400 USD) above the estimate and flagged when it does. A patient
  may dispute within 120 calendar days of the bill: the disputed amount is held out of collections.

Pure domain: no I/O, no framework.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from patient_billing.domain.document_errors import DocumentRefused
from patient_billing.domain.exceptions import RulesNotInForce


class EstimateRefused(DocumentRefused):
    """A Good Faith Estimate cannot do this (a dispute too late, an estimate issued twice...)."""


@dataclass(frozen=True)
class BusinessCalendar:
    closed_weekdays: frozenset[int]
    holidays: frozenset[date]

    def is_open(self, day: date) -> bool:
        return day.weekday() not in self.closed_weekdays and day not in self.holidays

    def add(self, day: date, business_days: int) -> date:
        """The business day ``business_days`` after ``day`` (``day`` itself does not count)."""
        current = day
        left = business_days
        while left > 0:
            current += timedelta(days=1)
            if self.is_open(current):
                left -= 1
        return current

    def between(self, start: date, end: date) -> int:
        """Business days after ``start`` up to and including ``end`` (0 when ``end`` <= ``start``)."""
        count, current = 0, start
        while current < end:
            current += timedelta(days=1)
            if self.is_open(current):
                count += 1
        return count


@dataclass(frozen=True)
class CalendarRules:
    version: str
    default: BusinessCalendar
    practices: Mapping[str, BusinessCalendar]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], version: str = "") -> CalendarRules:
        def one(section: Mapping[str, Any]) -> BusinessCalendar:
            weekdays = frozenset(int(d) for d in section.get("closed_weekdays", [5, 6]))
            if not weekdays <= set(range(7)):
                raise ValueError("closed_weekdays: 0 (Monday) to 6 (Sunday)")
            return BusinessCalendar(weekdays, frozenset(_date(d) for d in section.get("holidays", [])))

        return cls(version, one(data["default"]), {str(k): one(v) for k, v in (data.get("practices") or {}).items()})

    def for_practice(self, practice_id: str) -> BusinessCalendar:
        return self.practices.get(practice_id, self.default)


@dataclass(frozen=True)
class EstimatePolicy:
    effective_from: date
    scheduled: tuple[tuple[int, int], ...]  # (at least N business days ahead, within M business days), N desc
    requested_within: int
    course_months: int
    retention_years: int
    threshold: int  # cents
    warn_within: int  # cents
    dispute_window_days: int
    notices: tuple[str, ...]


@dataclass(frozen=True)
class EstimateRules:
    version: str
    policies: tuple[EstimatePolicy, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], version: str = "") -> EstimateRules:
        policies = []
        for p in data["policies"]:
            scheduled = tuple(sorted(((int(s["at_least_business_days_ahead"]), int(s["within_business_days"]))
                                      for s in p["deadlines"]["scheduled"]), reverse=True))
            dispute = p["dispute"]
            policies.append(EstimatePolicy(
                _date(p["effective_from"]), scheduled, int(p["deadlines"]["requested_within_business_days"]),
                int(p["course_months"]), int(p["retention_years"]), _cents(dispute["threshold"]),
                _cents(dispute["warn_within"]), int(dispute["window_days"]), tuple(str(n) for n in p["notices"])))
        if not policies:
            raise ValueError("policies: at least one")
        return cls(version, tuple(sorted(policies, key=lambda p: p.effective_from)))

    def on(self, day: date) -> EstimatePolicy:
        found = [p for p in self.policies if p.effective_from <= day]
        if not found:
            raise RulesNotInForce(f"no Good Faith Estimate policy in force on {day.isoformat()}", field="asked_on")
        return found[-1]


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _cents(value: Any) -> int:
    return int(Decimal(str(value)) * 100)


# -- the clock -----------------------------------------------------------------------------------------------------


def due_by(*, trigger: str, asked_on: date, first_service_date: date | None, policy: EstimatePolicy,
           business: BusinessCalendar) -> date | None:
    """By when the estimate is owed, or None when no estimate is owed before the service (scheduled fewer business
    days ahead than the rule's floor; one may still be requested)."""
    if trigger == "requested":
        return business.add(asked_on, policy.requested_within)
    if first_service_date is None:
        raise EstimateRefused("a scheduled service needs its date", field="first_service_date")
    ahead = business.between(asked_on, first_service_date)
    for at_least, within in policy.scheduled:
        if ahead >= at_least:
            return business.add(asked_on, within)
    return None


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def course_end(start: date, policy: EstimatePolicy) -> date:
    """The last day a recurring course is covered: 12 months from its first day, less a day."""
    return add_months(start, policy.course_months) - timedelta(days=1)


def retain_until(issued_on: date, policy: EstimatePolicy) -> date:
    return add_months(issued_on, 12 * policy.retention_years)


def queue_state(due: date, today: date, business: BusinessCalendar) -> str:
    """Where an unissued estimate stands in the work queue: late, due today, or due (later)."""
    if today > due:
        return "late"
    if today == due or business.between(today, due) == 0:
        return "due_today"
    return "due"


# -- what is estimated ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectedService:
    provider_npi: str
    procedure_code: str
    description: str
    quantity: int
    unit_charge: int  # cents
    modifiers: tuple[str, ...] = ()

    @property
    def charge(self) -> int:
        return self.quantity * self.unit_charge


@dataclass(frozen=True)
class EstimatePlan:
    services: tuple[ExpectedService, ...]
    diagnoses: tuple[str, ...] = ()
    reason: str = ""  # what the services are for, in the patient's words where given

    def __post_init__(self) -> None:
        if not self.services:
            raise EstimateRefused("an estimate lists the expected services", field="services")
        for s in self.services:
            if s.quantity <= 0 or s.unit_charge <= 0:
                raise EstimateRefused("each service has a positive quantity and expected charge", field="services")

    @property
    def total(self) -> int:
        return sum(s.charge for s in self.services)

    def by_provider(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for s in self.services:
            totals[s.provider_npi] = totals.get(s.provider_npi, 0) + s.charge
        return totals

    def as_dict(self) -> dict[str, Any]:
        return {"diagnoses": list(self.diagnoses), "reason": self.reason,
                "services": [{"provider_npi": s.provider_npi, "procedure_code": s.procedure_code,
                              "modifiers": list(s.modifiers), "description": s.description, "quantity": s.quantity,
                              "unit_charge_cents": s.unit_charge} for s in self.services]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EstimatePlan:
        return cls(tuple(ExpectedService(s["provider_npi"], s["procedure_code"], s["description"], int(s["quantity"]),
                                         int(s["unit_charge_cents"]), tuple(s.get("modifiers", ())))
                         for s in data["services"]), tuple(data.get("diagnoses", ())), data.get("reason", ""))


# -- the dispute watch ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WatchSignal:
    provider_npi: str
    state: str  # approaching | reached
    estimated: int
    billed: int

    @property
    def over_by(self) -> int:
        return self.billed - self.estimated


def watch(estimated_by_provider: Mapping[str, int], billed_by_provider: Mapping[str, int],
          announced: Mapping[str, str], policy: EstimatePolicy) -> list[WatchSignal]:
    """What the dispute watch has to say now that ``billed_by_provider`` is billed: per provider, ``approaching``
    once the bill is within ``warn_within`` of the threshold above the estimate, ``reached`` once it is at least the
    threshold above it; each state once (``announced``: provider -> the last state said)."""
    signals = []
    for npi, billed in sorted(billed_by_provider.items()):
        estimated = estimated_by_provider.get(npi, 0)
        over = billed - estimated
        state = ("reached" if over >= policy.threshold
                 else "approaching" if over >= policy.threshold - policy.warn_within else None)
        said = announced.get(npi)
        if state is not None and said != state and not (said == "reached" and state == "approaching"):
            signals.append(WatchSignal(npi, state, estimated, billed))
    return signals


def check_dispute(*, bill_date: date, opened_on: date, estimated: int, billed: int, disputed: int,
                  policy: EstimatePolicy) -> None:
    """A patient may dispute a bill at least the threshold above the estimate, within the window of the bill."""
    if opened_on > bill_date + timedelta(days=policy.dispute_window_days):
        raise EstimateRefused(f"a dispute is opened within {policy.dispute_window_days} calendar days of the bill",
                              field="bill_date")
    if opened_on < bill_date:
        raise EstimateRefused("the bill is dated after the dispute", field="bill_date")
    if billed - estimated < policy.threshold:
        raise EstimateRefused(f"the bill is {billed - estimated} cents above the estimate; a dispute needs at least "
                              f"{policy.threshold}", field="provider_npi")
    if disputed <= 0 or disputed > billed - estimated:
        raise EstimateRefused("the disputed amount is positive and at most what the bill exceeds the estimate by",
                              field="disputed_amount")


# -- the estimate as shown -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderParty:
    npi: str
    name: str
    tax_id: str
    address_lines: tuple[str, ...]
    phone: str = ""
    credential: str = ""


@dataclass(frozen=True)
class EstimateDocument:
    estimate_id: str
    version: int
    issued_on: date
    patient_name: str
    patient_date_of_birth: date | None
    patient_address: tuple[str, ...]
    practice: ProviderParty
    clinicians: Mapping[str, ProviderParty]  # by NPI
    plan: EstimatePlan
    first_service_date: date | None
    covers_from: date
    covers_to: date
    notices: tuple[str, ...]
    replaces_estimate_id: str | None = None

    def as_document(self) -> dict[str, Any]:
        return {
            "estimate_id": self.estimate_id, "version": self.version, "issued_on": self.issued_on.isoformat(),
            "patient": {"name": self.patient_name, "date_of_birth": self.patient_date_of_birth.isoformat()
                        if self.patient_date_of_birth else None, "address_lines": list(self.patient_address)},
            "practice": _party(self.practice),
            "clinicians": {npi: _party(p) for npi, p in self.clinicians.items()},
            "plan": self.plan.as_dict(), "total_cents": self.plan.total,
            "totals_by_provider_cents": self.plan.by_provider(),
            "first_service_date": self.first_service_date.isoformat() if self.first_service_date else None,
            "covers_from": self.covers_from.isoformat(), "covers_to": self.covers_to.isoformat(),
            "notices": list(self.notices), "replaces_estimate_id": self.replaces_estimate_id,
        }


def _party(p: ProviderParty) -> dict[str, Any]:
    return {"npi": p.npi, "name": p.name, "tax_id": p.tax_id, "address_lines": list(p.address_lines),
            "phone": p.phone, "credential": p.credential}


def billed_in_course(charges: Iterable[tuple[str, date, int]], covers_from: date, covers_to: date
                     ) -> dict[str, int]:
    """Per provider NPI, what was charged for services dated inside the estimate's course."""
    totals: dict[str, int] = {}
    for npi, day, amount in charges:
        if covers_from <= day <= covers_to:
            totals[npi] = totals.get(npi, 0) + amount
    return totals


def providers_of(services: Sequence[ExpectedService]) -> list[str]:
    return sorted({s.provider_npi for s in services})
