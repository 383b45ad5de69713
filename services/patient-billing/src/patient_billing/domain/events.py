"""Domain events of patient billing (past tense, inside the service). ``adapters/event_mapper.py`` says which
integration events announce them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class BalanceChanged:
    practice_id: str
    account_id: str
    entry_id: str
    entry_kind: str
    patient_id: str
    change: int  # cents, debit positive
    balance: int  # cents, after the entry


@dataclass(frozen=True)
class ChargePosted:
    practice_id: str
    account_id: str
    entry_id: str
    patient_id: str
    kind: str  # charge | fee | responsibility
    amount: int
    service_date: date
    visit_id: str | None
    price_rule: str | None  # the fee-schedule / sliding-scale / policy rule that priced it


@dataclass(frozen=True)
class PaymentReceived:
    practice_id: str
    account_id: str
    payment_id: str
    entry_id: str
    amount: int
    received_on: date
    method: str


@dataclass(frozen=True)
class PlanChanged:
    practice_id: str
    account_id: str
    plan_id: str
    change: str  # created | installment_paid | installment_retrying | installment_missed | defaulted | reamortized ...
    state: str  # active | completed | defaulted | cancelled
    remaining: int  # cents still to pay on the plan
    paid: int
    open_installments: int
    next_due_on: date | None
    next_amount: int | None
    installment_id: str | None
    autopay: bool

