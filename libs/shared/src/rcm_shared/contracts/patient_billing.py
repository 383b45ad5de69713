"""Events the patient-billing service produces."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from rcm_shared.contracts import topics
from rcm_shared.contracts.base import EventPayload


class PatientBalanceChangedV1(EventPayload):
    event_type = "patient-balance.changed"
    topic = topics.PATIENT_BALANCE_CHANGED
    summary = "A patient account's balance changed (charge, responsibility, payment, credit)."

    account_id: str
    patient_id: str
    practice_id: str
    entry_id: str
    entry_kind: str
    amount: Decimal
    balance: Decimal


class PatientChargePostedV1(EventPayload):
    event_type = "patient-charge.posted"
    topic = topics.PATIENT_CHARGE_POSTED
    summary = ("A debit landed on a responsible party's account: a self-pay visit priced by patient billing's fee "
               "schedule (and sliding-scale tier), a no-show / late-cancel fee, or an assessed responsibility.")

    account_id: str
    practice_id: str
    patient_id: str
    entry_id: str
    kind: str  # charge | fee | responsibility
    amount: Decimal
    service_date: date
    visit_id: str | None = None
    price_rule: str | None = None  # the rule (fee schedule, sliding-scale tier, policy) that set the amount


class PatientPaymentReceivedV1(EventPayload):
    event_type = "patient-payment.received"
    topic = topics.PATIENT_PAYMENT_RECEIVED
    summary = "A responsible party paid (card, cash, check, ACH, HSA); patient billing owns the patient A/R."

    account_id: str
    practice_id: str
    payment_id: str
    entry_id: str
    amount: Decimal
    received_on: date
    method: str


class PatientPlanChangedV1(EventPayload):
    event_type = "patient-plan.changed"
    topic = topics.PATIENT_PLAN_CHANGED
    summary = ("A payment plan was set up, an installment paid, retried, missed, the plan re-amortized after the "
               "balance changed, completed, cancelled or defaulted under the practice's plan rules.")

    account_id: str
    practice_id: str
    plan_id: str
    change: str  # created | installment_paid | installment_retrying | installment_missed | reamortized | defaulted ...
    state: str  # active | completed | defaulted | cancelled
    remaining: Decimal
    paid: Decimal
    open_installments: int
    next_due_on: date | None = None
    next_amount: Decimal | None = None
    installment_id: str | None = None
    autopay: bool = False
