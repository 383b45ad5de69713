"""Statements: what a responsible party (guarantor) is told they owe, and why.

A statement is built from the ledger as it stands on the statement date: each open debit itemized by date of
service and patient (a family account lists several), with what the practice charged, what the plan paid and
adjusted, the patient's share and its plain-language reason (from the CARC the payer sent), the period's payments,
credits and adjustments, the aging of what is open, and the amount due by a date. What is pending insurance, on a
payment plan or under a Good Faith Estimate dispute is shown but not demanded.

The :class:`Statement` is exactly what the patient is shown: the PDF is rendered from it and it is stored as it is
(``as_document``), so a later dispute sees what the patient received.

Pure domain: no I/O, no framework.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from patient_billing.domain.exceptions import InvalidAmount, RulesNotInForce
from patient_billing.domain.ledger import Credit, EntryKind, OpenItem, ReasonLine, age

#: What a debit is, when the ledger has no better description (a visit's codes).
LABELS = {"charge": "Session (self-pay)", "fee": "Missed visit fee", "responsibility": "Visit billed to your plan",
          "refund": "Refund", "payment": "Returned payment", "adjustment": "Adjustment taken back",
          "write_off": "Write-off taken back"}

#: Why a balance is shown but not demanded.
HOLD_KINDS = ("pending_insurance", "payment_plan", "gfe_dispute")


@dataclass(frozen=True)
class Cycle:
    effective_from: date
    day_of_month: int
    due_after_days: int
    link_valid_days: int


@dataclass(frozen=True)
class StatementRules:
    version: str
    cycles: tuple[Cycle, ...]
    reasons: Mapping[str, str]  # CARC -> what the patient reads
    kinds: Mapping[str, str]  # entry kind -> what the patient reads
    holds: Mapping[str, str]  # hold kind -> what the patient reads

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], version: str = "") -> StatementRules:
        cycles = tuple(sorted((Cycle(_date(c["effective_from"]), int(c["day_of_month"]), int(c["due_after_days"]),
                                     int(c["link_valid_days"])) for c in data["cycles"]),
                              key=lambda c: c.effective_from))
        for c in cycles:
            if not 1 <= c.day_of_month <= 28:
                raise ValueError("cycles: day_of_month must be 1-28 (every month has it)")
        holds = {str(k): str(v) for k, v in data["holds"].items()}
        missing = set(HOLD_KINDS) - set(holds)
        if missing:
            raise ValueError(f"holds: missing {sorted(missing)}")
        return cls(version, cycles, {str(k): str(v) for k, v in data["reasons"].items()},
                   {str(k): str(v) for k, v in data["kinds"].items()}, holds)

    def cycle_on(self, day: date) -> Cycle:
        found = [c for c in self.cycles if c.effective_from <= day]
        if not found:
            raise RulesNotInForce(f"no statement cycle in force on {day.isoformat()}", field="statement_date")
        return found[-1]

    def reason_for(self, carc: str) -> str:
        return self.reasons.get(carc) or self.reasons.get("", "")


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def cycle_date(day_of_month: int, on: date) -> date:
    """The statement date of the cycle that ``on`` falls in: the last ``day_of_month`` on or before ``on``."""
    if on.day >= day_of_month:
        return on.replace(day=day_of_month)
    previous = on.replace(day=1) - timedelta(days=1)
    return previous.replace(day=min(day_of_month, calendar.monthrange(previous.year, previous.month)[1]))


def previous_cycle_date(day_of_month: int, statement_date: date) -> date:
    return cycle_date(day_of_month, statement_date - timedelta(days=1))


# -- what the statement is made from -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """A name and a mailing address, as printed."""

    name: str
    address_lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class PracticeHeader:
    practice_id: str
    name: str
    address_lines: tuple[str, ...]
    phone: str = ""
    npi: str = ""
    tax_id: str = ""


@dataclass(frozen=True)
class InsuranceFacts:
    """What the plan did with a claim (remittance's claim-payment-posted): billed, paid, adjusted."""

    charge: int
    paid: int
    adjusted: int


@dataclass(frozen=True)
class ItemFacts:
    """What the ledger knows of an open debit beyond the item: the reasons the payer gave, a description."""

    reasons: tuple[ReasonLine, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Movement:
    """A payment, refund, adjustment or write-off in the period (credit negative)."""

    on: date
    kind: str
    amount: int  # signed: what it did to the balance
    description: str = ""


@dataclass(frozen=True)
class Hold:
    """Part of an open item not demanded now (a payment plan, a Good Faith Estimate dispute)."""

    kind: str
    item_id: str
    amount: int


# -- what the statement shows ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    service_date: date
    patient_id: str
    patient_name: str
    description: str
    charge: int | None  # what the practice billed (a claim's charge), when known
    insurance_paid: int | None
    insurance_adjusted: int | None
    patient_share: int  # the debit's amount
    open: int  # what is left of it
    reason: str
    status: str  # due | pending_insurance | payment_plan | gfe_dispute
    not_demanded: int = 0


@dataclass(frozen=True)
class Statement:
    statement_id: str
    practice: PracticeHeader
    account_id: str
    guarantor_id: str
    guarantor: Party
    statement_date: date
    period_start: date
    due_date: date
    lines: tuple[StatementLine, ...]
    pending_visits: tuple[tuple[date, str], ...]  # (date of service, patient name) waiting for a payer
    activity: tuple[Movement, ...]
    aging: Mapping[str, int]
    balance: int
    not_demanded: Mapping[str, int]
    amount_due: int
    credit_balance: int
    payment_url: str
    portal_url: str
    links_expire_on: date
    rules_version: str
    patient_names: Mapping[str, str] = field(default_factory=dict)

    @property
    def account_number(self) -> str:
        """What the patient quotes on the phone: the account id's first block, upper case (no PHI)."""
        return self.account_id.split("-")[0].upper()

    def as_document(self) -> dict[str, Any]:
        """The statement as stored and served as JSON: money as cents and as dollars, dates ISO."""
        return {
            "statement_id": self.statement_id, "account_id": self.account_id, "account_number": self.account_number,
            "guarantor_id": self.guarantor_id,
            "guarantor": {"name": self.guarantor.name, "address_lines": list(self.guarantor.address_lines)},
            "practice": {"practice_id": self.practice.practice_id, "name": self.practice.name,
                         "address_lines": list(self.practice.address_lines), "phone": self.practice.phone},
            "statement_date": self.statement_date.isoformat(), "period_start": self.period_start.isoformat(),
            "due_date": self.due_date.isoformat(),
            "lines": [{"service_date": ln.service_date.isoformat(), "patient_id": ln.patient_id,
                       "patient_name": ln.patient_name, "description": ln.description,
                       "charge_cents": ln.charge, "insurance_paid_cents": ln.insurance_paid,
                       "insurance_adjusted_cents": ln.insurance_adjusted, "patient_share_cents": ln.patient_share,
                       "open_cents": ln.open, "reason": ln.reason, "status": ln.status,
                       "not_demanded_cents": ln.not_demanded} for ln in self.lines],
            "pending_visits": [{"service_date": d.isoformat(), "patient_name": n} for d, n in self.pending_visits],
            "activity": [{"on": m.on.isoformat(), "kind": m.kind, "amount_cents": m.amount,
                          "description": m.description} for m in self.activity],
            "aging_cents": dict(self.aging), "balance_cents": self.balance,
            "not_demanded_cents": dict(self.not_demanded), "amount_due_cents": self.amount_due,
            "credit_balance_cents": self.credit_balance, "payment_url": self.payment_url,
            "portal_url": self.portal_url, "links_expire_on": self.links_expire_on.isoformat(),
            "rules_version": self.rules_version,
        }


def build_statement(*, statement_id: str, practice: PracticeHeader, account_id: str, guarantor_id: str,
                    guarantor: Party, statement_date: date, period_start: date, cycle: Cycle,
                    open_items: Sequence[OpenItem], credits: Sequence[Credit], balance: int,
                    pending_visits: Iterable[tuple[str, date]], item_facts: Mapping[str, ItemFacts],
                    insurance: Mapping[str, InsuranceFacts], holds: Sequence[Hold], activity: Sequence[Movement],
                    patient_names: Mapping[str, str], rules: StatementRules, payment_url: str, portal_url: str,
                    ) -> Statement:
    """The statement of one account on ``statement_date``. ``balance`` is the account's (open items less
    unapplied credits); what the statement demands is that less what is held, never below zero."""
    if sum(i.open for i in open_items) - sum(c.remaining for c in credits) != balance:
        raise InvalidAmount("the account's open items and credits disagree with its balance", field="account_id")
    pending = {(p, d) for p, d in pending_visits}
    held_by_item: dict[str, list[Hold]] = {}
    for hold in holds:
        if hold.kind not in HOLD_KINDS or hold.amount <= 0:
            raise InvalidAmount(f"a hold is one of {HOLD_KINDS} with a positive amount", field="holds")
        held_by_item.setdefault(hold.item_id, []).append(hold)

    def name(patient_id: str) -> str:
        return patient_names.get(patient_id, "")

    lines = []
    not_demanded = dict.fromkeys(HOLD_KINDS, 0)
    for item in sorted(open_items, key=lambda i: (i.service_date, name(i.patient_id), i.item_id)):
        facts = item_facts.get(item.item_id, ItemFacts())
        plan = insurance.get(item.claim_id) if item.claim_id else None
        if (item.patient_id, item.service_date) in pending:
            status, held = "pending_insurance", item.open
        else:
            status, held = "due", 0
            for hold in held_by_item.get(item.item_id, ()):
                take = min(hold.amount, item.open - held)
                if take > 0:
                    held += take
                    status = hold.kind
        if held:
            not_demanded[status] += held
        lines.append(StatementLine(
            service_date=item.service_date, patient_id=item.patient_id, patient_name=name(item.patient_id),
            description=facts.description or LABELS.get(item.kind.value, item.kind.value),
            charge=plan.charge if plan else (item.amount if item.kind is EntryKind.CHARGE else None),
            insurance_paid=plan.paid if plan else None, insurance_adjusted=plan.adjusted if plan else None,
            patient_share=item.amount, open=item.open, reason=_reason(item, facts, rules), status=status,
            not_demanded=held))
    aging = age(open_items, credits, statement_date)
    amount_due = max(0, balance - sum(not_demanded.values()))
    waiting = sorted({(d, name(p)) for p, d in pending
                      if not any((i.patient_id, i.service_date) == (p, d) for i in open_items)})
    return Statement(
        statement_id=statement_id, practice=practice, account_id=account_id, guarantor_id=guarantor_id,
        guarantor=guarantor, statement_date=statement_date, period_start=period_start,
        due_date=statement_date + timedelta(days=cycle.due_after_days), lines=tuple(lines),
        pending_visits=tuple(waiting), activity=tuple(sorted(activity, key=lambda m: (m.on, m.kind))),
        aging=aging, balance=balance, not_demanded={k: v for k, v in not_demanded.items() if v},
        amount_due=amount_due, credit_balance=max(0, -balance) if balance < 0 else 0,
        payment_url=payment_url if amount_due else "", portal_url=portal_url,
        links_expire_on=statement_date + timedelta(days=cycle.link_valid_days), rules_version=rules.version,
        patient_names=dict(patient_names))


def _reason(item: OpenItem, facts: ItemFacts, rules: StatementRules) -> str:
    if item.kind is EntryKind.RESPONSIBILITY and facts.reasons:
        parts = [f"{rules.reason_for(r.carc)} ({_dollars(r.amount)})" if len(facts.reasons) > 1
                 else rules.reason_for(r.carc) for r in facts.reasons]
        return " ".join(parts)
    if item.kind is EntryKind.RESPONSIBILITY:
        return rules.reason_for("")
    return rules.kinds.get(item.kind.value, "")


def _dollars(cents: int) -> str:
    sign, cents = ("-", -cents) if cents < 0 else ("", cents)
    return f"{sign}${cents // 100:,}.{cents % 100:02d}"


def dollars(cents: int | None) -> str:
    """Cents as the patient reads them: $1,234.50."""
    return "" if cents is None else _dollars(cents)
