"""What eligibility is asked to do (imperative). Routes build these from their request schemas; nothing past a
route sees a request model or a raw dict."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from eligibility.domain.benefits import Member, PayerRef, ProviderRef


@dataclass(frozen=True, slots=True)
class CheckCoverage:
    """Ask the payer now (270/271) about a patient's coverage on a date of service."""

    practice_id: str
    patient_id: str
    payer: PayerRef
    provider: ProviderRef
    subscriber: Member
    service_date: date
    dependent: Member | None = None
    service_types: tuple[str, ...] | None = None
    follows_check_id: str | None = None  # a carve-out's check follows the check that named the other payer


@dataclass(frozen=True, slots=True)
class InsuranceDetails:
    """The member as the payer knows them and who asks: what a 270 needs that the schedule does not say."""

    payer: PayerRef
    provider: ProviderRef
    subscriber: Member
    dependent: Member | None = None


@dataclass(frozen=True, slots=True)
class BookVisit:
    """One visit of the EHR's schedule, booked, moved or cancelled."""

    visit_id: str  # the EHR's appointment id
    patient_id: str
    payer_id: str
    service_date: date
    cancelled: bool = False
    first_visit: bool | None = None  # None: worked out from the visits this service has seen
    cpt_code: str | None = None
    insurance: InsuranceDetails | None = None


@dataclass(frozen=True, slots=True)
class RecordSchedule:
    practice_id: str
    visits: tuple[BookVisit, ...]


@dataclass(frozen=True, slots=True)
class RunNightlyBatch:
    """An operator's 'run tonight's batch now' (testing, catch-up); ``schedule_date`` None: the next one."""

    practice_id: str
    schedule_date: date | None
    triggered_by: str


@dataclass(frozen=True, slots=True)
class ResolveWorkItem:
    practice_id: str
    item_id: str
    resolved_by: str
