"""Events the eligibility service produces."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

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
