"""What happened inside eligibility (past tense), recorded by the aggregates in ``model.py``. The unit of work
hands them to ``adapters.event_mapper``, which says which integration events (``rcm_shared.contracts``) announce
them; aggregates never build Kafka payloads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from eligibility.domain.benefits import EligibilityResult


@dataclass(frozen=True, slots=True)
class CoverageChecked:
    """A payer answered (or failed to answer readably) a 270: real time, nightly batch or re-check."""

    check_id: str
    practice_id: str
    patient_id: str
    payer_id: str
    service_date: date
    result: EligibilityResult  # the primary result the check is filed under


@dataclass(frozen=True, slots=True)
class SessionLimitAlertRaised:
    """A completed visit brought a patient to (or past) the alert threshold of a yearly session cap."""

    practice_id: str
    patient_id: str
    payer_id: str
    check_id: str  # the stored benefits' check: where the cap came from
    active: bool
    as_of: date  # the visit's date of service
    visits_remaining: int
    kind: str
    coverage_begin: date | None
    coverage_end: date | None


@dataclass(frozen=True, slots=True)
class VisitScheduled:
    """A visit was booked, moved or cancelled on the practice's schedule (or its facts changed)."""

    practice_id: str
    visit_id: str
    patient_id: str
    payer_id: str
    service_date: date
    cancelled: bool
    first_visit: bool | None
    cpt_code: str | None
