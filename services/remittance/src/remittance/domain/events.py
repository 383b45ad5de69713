"""Domain events of remittance: what happened, in past tense, as plain data. The event mapper
(``adapters/event_mapper.py``) says which integration events announce them; nothing in the domain builds one.

Amounts are Decimals to the cent as posted. Not frozen: an ERA records tens of thousands of them, and a frozen
dataclass costs about six times as much to build (``object.__setattr__`` per field)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

PostedOutcome = Literal["paid", "partially_paid", "denied", "reversed"]


@dataclass(slots=True)
class EraReceived:
    era_id: str
    practice_id: str
    file_sha256: str
    size_bytes: int
    received_via: Literal["api", "clearinghouse", "bulk"]


@dataclass(slots=True)
class ClaimPaymentPosted:
    posting_id: str
    era_id: str
    claim_id: str
    practice_id: str
    outcome: PostedOutcome
    claim_status_code: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    contractual_adjustment: Decimal
    payer_claim_number: str | None
    trace_number: str | None
    reverses_posting_id: str | None


@dataclass(slots=True)
class PatientResponsibilityTransferred:
    """What the payer assigned to the patient, handed to patient-billing (the one owner of patient A/R);
    negative when a reversal takes it back."""

    posting_id: str
    claim_id: str
    patient_id: str
    practice_id: str
    date_of_service: date
    deductible: Decimal
    coinsurance: Decimal
    copay: Decimal
    other: Decimal
    total: Decimal


@dataclass(slots=True)
class DenialRaised:
    denial_id: str
    claim_id: str
    practice_id: str
    patient_id: str | None
    payer_id: str | None
    era_id: str
    line_number: int | None
    category: str
    group_code: str | None
    reason_codes: tuple[str, ...]
    remark_codes: tuple[str, ...]
    amount: Decimal
    suggested_action: str
    queue: str
    pattern_alert: bool
