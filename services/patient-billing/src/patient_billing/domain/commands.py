"""Commands (imperative): what a route or a consumer asks patient billing to do. Amounts are integer cents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class AssessResponsibility:
    practice_id: str
    assessment_id: str
    claim_id: str
    patient_id: str
    date_of_service: date
    deductible: int
    coinsurance: int
    copay: int
    other: int


@dataclass(frozen=True)
class AwaitInsurance:
    """An insured visit was completed: the patient's share waits for the payer."""

    practice_id: str
    patient_id: str
    date_of_service: date
    program: str | None = None
    clinician: str | None = None  # the rendering NPI


@dataclass(frozen=True)
class RecordPayment:
    practice_id: str
    patient_id: str
    payment_id: str
    amount: int
    method: str
    received_on: date
    reference: str | None = None
    for_visit_on: date | None = None  # a copay collected at the visit of that date


@dataclass(frozen=True)
class RefundPayment:
    practice_id: str
    account_id: str
    refund_id: str
    payment_id: str
    amount: int
    on: date
    reason: str


@dataclass(frozen=True)
class AdjustBalance:
    practice_id: str
    account_id: str
    adjustment_id: str
    amount: int
    on: date
    reason: str
    write_off: bool = False
    item_id: str | None = None


@dataclass(frozen=True)
class ReverseEntry:
    practice_id: str
    entry_id: str
    on: date
    reason: str


@dataclass(frozen=True)
class AssignGuarantor:
    """From ``effective_from`` the patient's bills go to ``guarantor_id``'s account (a parent or guardian for a
    minor; one account for a family); open items from that date on move with them."""

    practice_id: str
    patient_id: str
    guarantor_id: str
    relationship: str
    effective_from: date
    family: bool = False


@dataclass(frozen=True)
class ChargeSelfPayVisit:
    practice_id: str
    visit_id: str
    patient_id: str
    date_of_service: date
    procedure_codes: tuple[str, ...]
    credential: str | None
    program: str | None
    clinician: str | None


@dataclass(frozen=True)
class RecordIncome:
    """A patient's household size and income with the proof received on a date (the sliding-scale assessment)."""

    practice_id: str
    patient_id: str
    household_size: int
    annual_income: int
    proof_received_on: date


@dataclass(frozen=True)
class RecordFinancialConsent:
    practice_id: str
    patient_id: str
    signed_on: date


@dataclass(frozen=True)
class ChargeMissedAppointment:
    practice_id: str
    patient_id: str
    visit_id: str
    service_date: date
    outcome: str  # no_show | late_cancel


@dataclass(frozen=True)
class WaiveFee:
    practice_id: str
    entry_id: str
    on: date
    reason: str
