"""Events the authorizations service produces."""

from __future__ import annotations

from datetime import date
from typing import Literal

from rcm_shared.contracts import topics
from rcm_shared.contracts.base import EventPayload


class AuthorizationChangedV1(EventPayload):
    event_type = "authorization.changed"
    topic = topics.AUTHORIZATION_CHANGED
    summary = "Units of a prior authorization were consumed or returned, or it changed status / needs renewal."

    authorization_id: str | None
    practice_id: str
    patient_id: str
    payer_id: str
    visit_id: str | None = None
    change: Literal["unit_consumed", "unit_returned", "missing", "renewal_due", "status_changed"]
    status: str | None = None
    units_remaining: int | None = None
    end_date: date | None = None


class VisitScheduledV1(EventPayload):
    event_type = "visit.scheduled"
    topic = topics.VISIT_SCHEDULED
    summary = ("A visit was booked, moved or cancelled on the practice's schedule (the EHR's appointment); "
               "keyed by the appointment id.")

    visit_id: str  # the EHR's appointment id (also the key: never PHI)
    practice_id: str
    patient_id: str
    payer_id: str | None = None  # None: self-pay, nothing to check with a payer
    service_date: date
    cpt_code: str | None = None
    cancelled: bool = False
    first_visit: bool | None = None  # None: the EHR does not say; consumers may work it out
