"""Commands of card payments, cards on file, plans and collections (amounts in integer cents)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class TakeCardPayment:
    practice_id: str
    patient_id: str
    payment_id: str
    amount: int
    method_id: str | None = None  # a card on file
    payment_method_ref: str | None = None  # or a card the processor tokenized now (pm_...)


@dataclass(frozen=True)
class RefundCardPayment:
    practice_id: str
    payment_id: str
    refund_id: str
    amount: int
    reason: str


@dataclass(frozen=True)
class SaveCard:
    practice_id: str
    patient_id: str
    method_id: str
    payment_method_ref: str
    consent_signed_on: date | None
    consent_text: str | None
    autopay: bool


@dataclass(frozen=True)
class ScheduleStatementAutopay:
    """Charge the card on file for a statement's balance on its due date (no more than is owed then)."""

    practice_id: str
    account_id: str
    statement_id: str
    amount: int
    due_on: date


@dataclass(frozen=True)
class OfferPlan:
    practice_id: str
    account_id: str
    plan_id: str
    installments: int
    first_due_on: date
    autopay_method_id: str | None


@dataclass(frozen=True)
class DisputeBalance:
    practice_id: str
    account_id: str
    reason: str
    open: bool
