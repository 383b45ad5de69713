"""Messaging subscriptions: a patient pays for secure messaging with their clinician by a plan of the practice's
subscription rules (``rules/subscriptions.yaml``, effective-dated): a monthly access fee with some messages
included and a price per message over them, or no fee and a price per exchange.

A billing period is a calendar month (in the practice's time zone). Closing it makes ONE invoice per subscription:
for each stretch of days on one plan, the access fee and the included messages prorated by days, and the billable
messages of those days over the allowance at that plan's overage price. A plan change takes effect the day it is
made (the period is prorated across the plans); a cancellation ends the subscription with the period it is made
in, so the next period is not billed. Amounts are integer cents; a prorated fee rounds half up. Each stretch
is priced by the plan's entry in force on its first day.

Pure domain: no I/O, no framework.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from patient_billing.domain.exceptions import PatientBillingError, RulesNotInForce
from patient_billing.domain.pricing import _cents, _day, _in_force

DIRECTIONS = frozenset({"patient_to_clinician", "clinician_to_patient"})


class SubscriptionRefused(PatientBillingError):
    """A subscription change the rules or its state do not allow (unknown plan, already cancelled, period open)."""


class SubscriptionNotFound(PatientBillingError):
    pass


@dataclass(frozen=True)
class SubscriptionPlan:
    plan_id: str
    effective_from: date
    effective_to: date | None
    monthly_fee: int  # cents; 0 for pay per exchange
    included_messages: int
    per_message: int  # cents for each billable message over the included ones


@dataclass(frozen=True)
class SubscriptionRules:
    version: str
    billable_directions: frozenset[str]
    plans: tuple[SubscriptionPlan, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SubscriptionRules:
        directions = frozenset(str(d) for d in data.get("billable_directions") or ())
        if not directions or not directions <= DIRECTIONS:
            raise ValueError(f"billable_directions: one or more of {sorted(DIRECTIONS)}")
        plans = []
        for n, p in enumerate(data.get("plans") or []):
            where = f"plans[{n}]"
            plan = SubscriptionPlan(str(p["id"]), _day(p["effective_from"], f"{where}.effective_from"),
                                    _day(p["effective_to"], where) if p.get("effective_to") else None,
                                    _cents(p.get("monthly_fee", 0), f"{where}.monthly_fee"),
                                    int(p.get("included_messages", 0)),
                                    _cents(p["per_message"], f"{where}.per_message"))
            if plan.included_messages < 0:
                raise ValueError(f"{where}.included_messages: not negative")
            if plan.monthly_fee == 0 and plan.per_message == 0:
                raise ValueError(f"{where}: a plan charges a monthly fee, a price per message, or both")
            plans.append(plan)
        if not plans:
            raise ValueError("plans: at least one subscription plan is required")
        return cls(str(data.get("version", "")), directions, tuple(plans))

    def plan(self, plan_id: str, day: date) -> SubscriptionPlan:
        """The plan ``plan_id`` as the rules in force on ``day`` price it."""
        found: SubscriptionPlan | None = _in_force([p for p in self.plans if p.plan_id == plan_id], day)
        if found is None:
            raise RulesNotInForce(f"no subscription plan {plan_id!r} in force on {day.isoformat()}", field="plan_id")
        return found


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def period_days(period: str) -> tuple[date, date]:
    """The first and last day of a billing period ``YYYY-MM``."""
    try:
        year, month = (int(part) for part in period.split("-"))
        first = date(year, month, 1)
    except ValueError:
        raise SubscriptionRefused(f"{period!r} is not a billing period (YYYY-MM)", field="period") from None
    return first, first.replace(day=calendar.monthrange(year, month)[1])


@dataclass(frozen=True)
class Term:
    """From ``from_day`` on, the subscription is on ``plan_id`` (until the next term)."""

    plan_id: str
    from_day: date


@dataclass(frozen=True)
class InvoiceLine:
    plan_id: str
    first_day: date
    last_day: date
    days: int
    access_fee: int  # cents, prorated by days
    messages: int  # billable messages on these days
    included: int  # the allowance, prorated by days
    overage_messages: int
    overage: int  # cents

    @property
    def amount(self) -> int:
        return self.access_fee + self.overage


@dataclass(frozen=True)
class Invoice:
    subscription_id: str
    period: str
    lines: tuple[InvoiceLine, ...]
    rules_version: str

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)


def _prorated(amount: int, days: int, of: int) -> int:
    return (amount * days * 2 + of) // (of * 2)  # half up, integer cents


@dataclass
class Subscription:
    subscription_id: str
    practice_id: str
    patient_id: str
    started_on: date
    terms: list[Term]
    ends_on: date | None = None  # the last day billed (the end of the period it was cancelled in)
    closed_periods: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, subscription_id: str, practice_id: str, patient_id: str, plan_id: str, on: date,
              rules: SubscriptionRules) -> Subscription:
        rules.plan(plan_id, on)
        return cls(subscription_id, practice_id, patient_id, on, [Term(plan_id, on)])

    @property
    def state(self) -> str:
        return "active" if self.ends_on is None else "cancelled"

    def plan_on(self, day: date) -> str:
        return [t for t in self.terms if t.from_day <= day][-1].plan_id

    def change_plan(self, plan_id: str, on: date, rules: SubscriptionRules) -> None:
        """From ``on`` the subscription is on ``plan_id``; the period is prorated across the plans when it closes."""
        if self.ends_on is not None:
            raise SubscriptionRefused("the subscription is cancelled", field="subscription_id")
        if period_of(on) in self.closed_periods:
            raise SubscriptionRefused(f"billing period {period_of(on)} is already closed", field="plan_id")
        rules.plan(plan_id, on)
        if self.plan_on(on) == plan_id:
            return
        self.terms = [t for t in self.terms if t.from_day < on] + [Term(plan_id, max(on, self.started_on))]

    def cancel(self, on: date) -> None:
        """No period after the one ``on`` falls in is billed (this one closes as usual)."""
        if self.ends_on is not None:
            raise SubscriptionRefused("the subscription is already cancelled", field="subscription_id")
        self.ends_on = period_days(period_of(on))[1]

    def close(self, period: str, message_days: Iterable[date], rules: SubscriptionRules) -> Invoice | None:
        """The period's one invoice (None when the subscription was not on in it, or it is already closed)."""
        first, last = period_days(period)
        start, end = max(first, self.started_on), min(last, self.ends_on or last)
        if period in self.closed_periods or start > end:
            return None
        of = (last - first).days + 1
        days = sorted(d for d in message_days if start <= d <= end)
        froms = [max(t.from_day, start) for t in self.terms]
        lines = []
        for n, term in enumerate(self.terms):
            seg_start = froms[n]
            seg_end = min(end, froms[n + 1] - timedelta(days=1)) if n + 1 < len(self.terms) else end
            if seg_start > seg_end:
                continue
            plan = rules.plan(term.plan_id, seg_start)
            span = (seg_end - seg_start).days + 1
            messages = sum(1 for d in days if seg_start <= d <= seg_end)
            included = plan.included_messages * span // of
            over = max(0, messages - included)
            lines.append(InvoiceLine(plan.plan_id, seg_start, seg_end, span, _prorated(plan.monthly_fee, span, of),
                                     messages, included, over, over * plan.per_message))
        self.closed_periods.append(period)
        return Invoice(self.subscription_id, period, tuple(lines), rules.version)


def invoice_detail(invoice: Invoice) -> dict[str, str]:
    """What the invoice's ledger entry carries (strings): the rule, the period and what made the amount."""
    return {"price_rule": f"subscription {'+'.join(line.plan_id for line in invoice.lines)}",
            "subscription_id": invoice.subscription_id, "period": invoice.period,
            "subscription_rules": invoice.rules_version,
            "access_fee_cents": str(sum(line.access_fee for line in invoice.lines)),
            "overage_messages": str(sum(line.overage_messages for line in invoice.lines)),
            "overage_cents": str(sum(line.overage for line in invoice.lines))}


def line_view(lines: Sequence[InvoiceLine]) -> list[dict[str, Any]]:
    return [{"plan_id": x.plan_id, "first_day": x.first_day.isoformat(), "last_day": x.last_day.isoformat(),
             "days": x.days, "access_fee_cents": x.access_fee, "messages": x.messages, "included": x.included,
             "overage_messages": x.overage_messages, "overage_cents": x.overage}
            for x in lines]
