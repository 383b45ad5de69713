"""What authorizations is asked to do (imperative names). Routes and the message map build these from requests and
events; nothing past them sees a request model, a raw dict or an integration event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from authorizations.domain.model import AuthorizationRequest
from authorizations.domain.unit_ledger import VisitProviders


@dataclass(frozen=True, slots=True)
class RecordAuthorization:
    """Record (or update, by number) a prior authorization the practice holds."""

    practice_id: str
    number: str
    patient_id: str
    payer_id: str
    cpt_codes: tuple[str, ...]
    approved_units: int
    start: date
    end: date
    status: str = "approved"


@dataclass(frozen=True, slots=True)
class ApplyVisit:
    """A completed, corrected or voided insured visit (``visit-completed``): consume, move or return its unit and
    decide its answer."""

    practice_id: str
    visit_id: str
    patient_id: str
    payer_id: str
    date_of_service: date
    cpt_code: str  # the visit's first coded service: what its authorization must cover
    providers: VisitProviders
    voided: bool = False
    replaces_visit_id: str | None = None


@dataclass(frozen=True, slots=True)
class CopyBookedVisit:
    """A visit booked, moved or cancelled on the practice's schedule (``visit-scheduled``, owned by eligibility)."""

    practice_id: str
    visit_id: str
    patient_id: str
    payer_id: str | None
    service_date: date
    cpt_code: str | None
    cancelled: bool = False


@dataclass(frozen=True, slots=True)
class RecordEnrollment:
    practice_id: str
    npi: str
    payer_id: str
    plan: str
    effective_from: date
    effective_to: date | None = None


@dataclass(frozen=True, slots=True)
class RecordSupervision:
    """A supervision relationship; with ``payer_id`` and ``allows_supervisor_billing``, the practice's own policy
    for that payer too."""

    practice_id: str
    supervisee_npi: str
    supervisor_npi: str
    effective_from: date
    effective_to: date | None = None
    payer_id: str | None = None
    allows_supervisor_billing: bool | None = None


@dataclass(frozen=True, slots=True)
class RequestAuthorization:
    """Ask the payer (over the channel it is routed to) to review ``request``."""

    practice_id: str
    patient_id: str
    request: AuthorizationRequest


@dataclass(frozen=True, slots=True)
class ReceiveReviewAnswer:
    """A payer's later answer to a review: an X12 278 response or a PAS response bundle, as received."""

    practice_id: str
    body: str
    media: Literal["x12", "fhir"]


@dataclass(frozen=True, slots=True)
class RecordConcurrentReview:
    practice_id: str
    reference: str
    authorization_number: str
    submitted_on: date
    requested_units: int
    requested_end: date
