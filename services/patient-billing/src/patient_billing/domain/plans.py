"""Payment plans: a responsible party's balance paid in installments on dates, by autopay from a card on file or
as they come. The practice's plan rules (``rules/payment_plans.yaml``, effective-dated) say how many installments,
how small one may be, when a missed installment is tried again, and after how many missed ones a plan defaults.

The plan follows the account: what is left of it always equals what the account owes now (a payment made outside
the plan, a new charge, an adjustment re-amortize the installments not yet paid). Installment amounts are integer
cents; their sum is exact (the odd cents go on the first installments).

Pure domain: no I/O, no framework.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from patient_billing.domain.events import PlanChanged
from patient_billing.domain.exceptions import PlanRefused, RulesNotInForce
from patient_billing.domain.pricing import _cents, _day, _in_force


@dataclass(frozen=True)
class PlanPolicy:
    policy_id: str
    effective_from: date
    effective_to: date | None
    max_installments: int
    min_installment: int  # cents
    retry_after_days: tuple[int, ...]  # a failed installment is tried again these many days after its due date
    default_after_missed: int  # installments missed (after their retries) before the plan defaults
    grace_days: int  # an installment paid by hand counts as missed this many days after its due date


@dataclass(frozen=True)
class PlanRules:
    version: str
    policies: tuple[PlanPolicy, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanRules:
        policies = []
        for n, p in enumerate(data.get("policies") or []):
            where = f"policies[{n}]"
            retries = tuple(int(d) for d in p.get("retry_after_days") or ())
            if any(d <= 0 for d in retries) or list(retries) != sorted(retries):
                raise ValueError(f"{where}.retry_after_days: increasing positive days")
            policy = PlanPolicy(str(p["id"]), _day(p["effective_from"], f"{where}.effective_from"),
                                _day(p["effective_to"], where) if p.get("effective_to") else None,
                                int(p["max_installments"]), _cents(p["min_installment"], f"{where}.min_installment"),
                                retries, int(p["default_after_missed"]), int(p.get("grace_days", 0)))
            if policy.max_installments < 1 or policy.default_after_missed < 1 or policy.min_installment < 1:
                raise ValueError(f"{where}: max_installments, default_after_missed and min_installment are positive")
            policies.append(policy)
        if not policies:
            raise ValueError("policies: at least one payment-plan policy is required")
        return cls(str(data.get("version", "")), tuple(policies))

    def in_force(self, day: date) -> PlanPolicy:
        policy: PlanPolicy | None = _in_force(self.policies, day)
        if policy is None:
            raise RulesNotInForce(f"no payment-plan policy in force on {day.isoformat()}", field="first_due_on")
        return policy


class PlanState(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    DEFAULTED = "defaulted"
    CANCELLED = "cancelled"


class InstallmentState(StrEnum):
    SCHEDULED = "scheduled"
    RETRYING = "retrying"  # failed (declined, or not paid by hand in time); tried again on next_attempt_on
    PAID = "paid"
    MISSED = "missed"  # its retries used up: flagged for a person
    CANCELLED = "cancelled"  # the plan completed early or defaulted


@dataclass
class Installment:
    installment_id: str
    seq: int
    due_on: date
    amount: int
    state: InstallmentState = InstallmentState.SCHEDULED
    attempts: int = 0
    next_attempt_on: date | None = None
    payment_id: str | None = None

    @property
    def open(self) -> bool:
        return self.state in (InstallmentState.SCHEDULED, InstallmentState.RETRYING)

    def attempt_on(self) -> date:
        return self.next_attempt_on or self.due_on


def add_months(day: date, months: int, on_day: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(on_day, calendar.monthrange(year, month)[1]))


def split(total: int, count: int) -> list[int]:
    """``total`` cents in ``count`` parts that differ by at most a cent, the larger first; the sum is exact."""
    base, odd = divmod(total, count)
    return [base + (1 if i < odd else 0) for i in range(count)]


@dataclass
class PaymentPlan:
    plan_id: str
    practice_id: str
    account_id: str
    policy_id: str
    total: int
    created_on: date
    installments: list[Installment]
    autopay_method_id: str | None = None
    state: PlanState = PlanState.ACTIVE
    missed: int = 0
    version: int = 0
    events: list[object] = field(default_factory=list)

    @classmethod
    def offer(cls, *, plan_id: str, practice_id: str, account_id: str, balance: int, count: int, first_due_on: date,
              today: date, rules: PlanRules, installment_ids: Sequence[str],
              autopay_method_id: str | None = None) -> PaymentPlan:
        """A plan over what the account owes now, in ``count`` monthly installments from ``first_due_on``."""
        policy = rules.in_force(today)
        if balance <= 0:
            raise PlanRefused("the account owes nothing now: there is nothing to plan", field="account_id")
        if not 1 <= count <= policy.max_installments:
            raise PlanRefused(f"at most {policy.max_installments} installments ({policy.policy_id})",
                              field="body.installments")
        if balance // count < policy.min_installment:
            raise PlanRefused(f"an installment may not be under {policy.min_installment} cents ({policy.policy_id})",
                              field="body.installments")
        if first_due_on < today:
            raise PlanRefused("the first installment is due today or later", field="body.first_due_on")
        installments = [Installment(installment_ids[i], i + 1, add_months(first_due_on, i, first_due_on.day), amount)
                        for i, amount in enumerate(split(balance, count))]
        plan = cls(plan_id, practice_id, account_id, policy.policy_id, balance, today, installments,
                   autopay_method_id)
        plan._changed("created")
        return plan

    def pull_events(self) -> list[object]:
        events, self.events = self.events, []
        return events

    # -- reads
    @property
    def remaining(self) -> int:
        return sum(i.amount for i in self.installments if i.open)

    @property
    def paid(self) -> int:
        return sum(i.amount for i in self.installments if i.state is InstallmentState.PAID)

    def installment(self, installment_id: str) -> Installment:
        for item in self.installments:
            if item.installment_id == installment_id:
                return item
        raise PlanRefused("no installment with this id on the plan", field="installment_id")

    def due(self, today: date) -> list[Installment]:
        """Installments to charge today (autopay): due, or due again after a failure."""
        if self.state is not PlanState.ACTIVE:
            return []
        return [i for i in self.installments if i.open and i.attempt_on() <= today]

    def next_due(self) -> Installment | None:
        return min((i for i in self.installments if i.open), key=lambda i: i.seq, default=None)

    # -- moves
    def installment_paid(self, installment_id: str, payment_id: str) -> None:
        item = self.installment(installment_id)
        if item.state is InstallmentState.PAID:
            return
        item.state, item.payment_id, item.next_attempt_on = InstallmentState.PAID, payment_id, None
        if not any(i.open for i in self.installments):
            self.state = PlanState.COMPLETED
        self._changed("installment_paid", item)

    def installment_failed(self, installment_id: str, today: date, rules: PlanRules) -> bool:
        """A charge declined (or the installment was not paid by hand in time): tried again after the policy's
        days, then flagged as missed; True when it was just flagged (a work item for a person). Enough missed
        installments default the plan."""
        item = self.installment(installment_id)
        if not item.open or self.state is not PlanState.ACTIVE:
            return False
        policy = rules.in_force(self.created_on)
        item.attempts += 1
        if item.attempts <= len(policy.retry_after_days):
            item.state = InstallmentState.RETRYING
            item.next_attempt_on = max(today + timedelta(days=1),
                                       item.due_on + timedelta(days=policy.retry_after_days[item.attempts - 1]))
            self._changed("installment_retrying", item)
            return False
        item.state, item.next_attempt_on = InstallmentState.MISSED, None
        self.missed += 1
        still_open = [i for i in self.installments if i.open]
        if self.missed >= policy.default_after_missed or not still_open:
            self.state = PlanState.DEFAULTED  # enough missed, or the last one: what is left goes to collections
            for other in still_open:
                other.state = InstallmentState.CANCELLED
            self._changed("defaulted", item)
        else:  # still owed: spread over the installments to come
            owed = self.remaining + item.amount
            for other, amount in zip(still_open, split(owed, len(still_open)), strict=True):
                other.amount = amount
            self._changed("installment_missed", item)
        return True

    def overdue(self, today: date, rules: PlanRules) -> list[Installment]:
        """Installments paid by hand (no autopay) and not paid within the grace days of their due (or retry) date."""
        if self.state is not PlanState.ACTIVE or self.autopay_method_id is not None:
            return []
        grace = timedelta(days=rules.in_force(self.created_on).grace_days)
        return [i for i in self.installments if i.open and i.attempt_on() + grace < today]

    def follow_balance(self, owed: int) -> bool:
        """The account now owes ``owed``: re-amortize the open installments so what is left equals it (a payment
        outside the plan, a new charge, an adjustment, a refund). True when the installments changed."""
        if self.state is not PlanState.ACTIVE or owed == self.remaining:
            return False
        open_items = [i for i in self.installments if i.open]
        if owed <= 0 or not open_items:
            for item in open_items:
                item.state = InstallmentState.CANCELLED
            self.state = PlanState.COMPLETED
            self._changed("completed_by_balance")
            return True
        keep = open_items[:min(len(open_items), owed)]  # never an installment of no cents
        for item, amount in zip(keep, split(owed, len(keep)), strict=True):
            item.amount = amount
        for item in open_items[len(keep):]:
            item.state = InstallmentState.CANCELLED
        self._changed("reamortized")
        return True

    def cancel(self) -> None:
        if self.state is PlanState.ACTIVE:
            for item in self.installments:
                if item.open:
                    item.state = InstallmentState.CANCELLED
            self.state = PlanState.CANCELLED
            self._changed("cancelled")

    def _changed(self, change: str, item: Installment | None = None) -> None:
        following = self.next_due()
        self.events.append(PlanChanged(
            self.practice_id, self.account_id, self.plan_id, change, self.state.value, self.remaining, self.paid,
            len([i for i in self.installments if i.open]), following.due_on if following else None,
            following.amount if following else None, item.installment_id if item else None,
            self.autopay_method_id is not None))
