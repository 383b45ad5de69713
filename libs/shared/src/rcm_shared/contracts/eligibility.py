"""Events the eligibility service produces."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from rcm_shared.contracts import topics
from rcm_shared.contracts.base import EventPayload


class EligibilityCheckedV1(EventPayload):
    event_type = "eligibility.checked"
    topic = topics.ELIGIBILITY_CHECKED
    summary = "A coverage check produced a benefits snapshot for a patient and payer."

    check_id: str
    practice_id: str
    patient_id: str
    payer_id: str
    as_of: date
    active: bool
    copay: Decimal | None = None
    coinsurance_percent: Decimal | None = None
    deductible_remaining: Decimal | None = None
    visits_remaining: int | None = None
    carve_out_payer_id: str | None = None
    session_limit_alert: bool = False
    # Additive (2026-12-02): the coverage period the payer stated, so a reader can decide "active on a date of
    # service" from the snapshot alone (claims' scrubber projection).
    coverage_from: date | None = None
    coverage_to: date | None = None


class VisitScheduledV1(EventPayload):
    event_type = "visit.scheduled"
    topic = topics.VISIT_SCHEDULED
    summary = ("A visit was booked, moved or cancelled on the practice's schedule (the EHR's appointment), as "
               "eligibility received it on POST /v1/schedule; keyed by the appointment id.")

    visit_id: str  # the EHR's appointment id (also the key: never PHI)
    practice_id: str
    patient_id: str
    payer_id: str | None = None  # None: self-pay, nothing to check with a payer
    service_date: date
    cpt_code: str | None = None
    cancelled: bool = False
    first_visit: bool | None = None  # None: the EHR does not say; consumers may work it out
    # Additive (2026-12-02): how the appointment ended when it did not happen as booked. Patient billing charges
    # the no-show / late-cancel fee of the practice's written financial policy from it; None: not said.
    outcome: Literal["no_show", "late_cancel"] | None = None
