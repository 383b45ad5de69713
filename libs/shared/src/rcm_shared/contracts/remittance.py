"""Events the remittance service produces."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import Field

from rcm_shared.contracts import topics
from rcm_shared.contracts.base import EventPayload


class EraReceivedV1(EventPayload):
    event_type = "era.received"
    topic = topics.ERA_RECEIVED
    summary = "An 835 ERA file was accepted for posting (stored; parsing and posting follow)."

    era_id: str
    practice_id: str
    file_sha256: str
    size_bytes: int
    received_via: Literal["api", "clearinghouse", "bulk"]


class ClaimPaymentPostedV1(EventPayload):
    event_type = "claim.payment-posted"
    topic = topics.CLAIM_PAYMENT_POSTED
    summary = "An 835 claim payment was posted against a claim (paid, partly paid, denied or reversed)."

    posting_id: str
    era_id: str
    claim_id: str
    practice_id: str
    outcome: Literal["paid", "partially_paid", "denied", "reversed"]
    claim_status_code: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    contractual_adjustment: Decimal
    payer_claim_number: str | None = None


class ClaimPaymentPostedV2(ClaimPaymentPostedV1):
    """v1 plus where the money came from and, for a reversal, what it takes back: enough for the claim's
    history to say why it moved. Remittance publishes v2; consumers read v1 and v2 (deploy them first)."""

    schema_version = 2
    summary = ("An 835 claim payment was posted against a claim (paid, partly paid, denied or reversed), with "
               "the payment's trace number and, for a reversal, the posting it takes back.")

    trace_number: str | None = None  # TRN02 of the 835 payment (EFT / check trace): a payer's reference, not PHI
    reverses_posting_id: str | None = None  # outcome reversed: the posting taken back (None: none of ours found)


class DenialRaisedV1(EventPayload):
    event_type = "denial.raised"
    topic = topics.DENIAL_RAISED
    summary = "A denied or partly denied claim or line, classified and routed to a work queue."

    denial_id: str
    claim_id: str
    practice_id: str
    patient_id: str | None = None
    payer_id: str | None
    era_id: str
    line_number: int | None = None
    category: str
    group_code: str | None = None
    reason_codes: list[str]
    remark_codes: list[str] = Field(default_factory=list)
    amount: Decimal
    suggested_action: str
    queue: str
    pattern_alert: bool = False


class PatientResponsibilityAssessedV1(EventPayload):
    event_type = "patient-responsibility.assessed"
    topic = topics.PATIENT_RESPONSIBILITY_ASSESSED
    summary = "The payer assigned patient responsibility (deductible, coinsurance, copay) on a claim."

    assessment_id: str
    posting_id: str
    claim_id: str
    patient_id: str
    practice_id: str
    date_of_service: date
    deductible: Decimal
    coinsurance: Decimal
    copay: Decimal
    other: Decimal = Decimal("0")
    total: Decimal
