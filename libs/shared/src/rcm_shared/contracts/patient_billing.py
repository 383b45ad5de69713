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


class StatementIssuedV1(EventPayload):
    event_type = "statement.issued"
    topic = topics.STATEMENT_ISSUED
    summary = ("A statement was issued to a responsible party (guarantor) in a practice's statement run: what it "
               "demanded, by when, and how it was delivered. The statement itself is read from patient billing.")

    statement_id: str
    run_id: str | None = None
    account_id: str
    practice_id: str
    guarantor_id: str
    statement_date: date
    due_date: date
    balance: Decimal
    amount_due: Decimal
    not_demanded: Decimal  # pending insurance, on a payment plan, under a Good Faith Estimate dispute
    delivery: str  # email | print
    payment_link_id: str | None = None


class GoodFaithEstimateIssuedV1(EventPayload):
    event_type = "gfe.issued"
    topic = topics.GFE_ISSUED
    summary = ("A Good Faith Estimate (No Surprises Act, 45 CFR 149.610) was issued to an uninsured or self-pay "
               "patient, or re-issued when the plan of care changed.")

    estimate_id: str
    practice_id: str
    patient_id: str
    version: int
    replaces_estimate_id: str | None = None
    total: Decimal
    covers_from: date
    covers_to: date
    due_by: date
    issued_late: bool


class GoodFaithEstimateThresholdApproachedV1(EventPayload):
    event_type = "gfe.threshold-approached"
    topic = topics.GFE_THRESHOLD_APPROACHED
    summary = ("The dispute watch: what a provider billed in an estimate's course is nearing (approaching) or at "
               "least (reached) the dispute threshold above the Good Faith Estimate.")

    estimate_id: str
    practice_id: str
    patient_id: str
    provider_npi: str
    state: str  # approaching | reached
    estimated: Decimal
    billed: Decimal
    threshold: Decimal


class GoodFaithEstimateDisputeOpenedV1(EventPayload):
    event_type = "gfe.dispute-opened"
    topic = topics.GFE_DISPUTE_OPENED
    summary = ("A patient disputed a bill above its Good Faith Estimate: the disputed amount is held out of "
               "collections and late fees until the dispute is resolved.")

    dispute_id: str
    estimate_id: str
    practice_id: str
    patient_id: str
    account_id: str
    provider_npi: str
    bill_date: date
    disputed: Decimal
