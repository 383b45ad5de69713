"""Which integration events announce what happened inside remittance: one function, called by the unit of work for
every domain event recorded (by the ERA aggregate, and by the posting batch a chunk at a time). Subjects (Kafka
keys) are ids, never PHI.

``model_construct`` for the posting events: every field comes from values already typed and checked (Decimal
amounts to the cent, ids, codes from the parsed 835), so validating tens of thousands of payloads again per ERA
changes nothing; the integration tests read the staged events back through the contracts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from rcm_shared.contracts import (
    ClaimPaymentPostedV2,
    DenialRaisedV1,
    EraReceivedV1,
    PatientResponsibilityAssessedV1,
)
from rcm_shared.unit_of_work import Announcement
from rcm_shared.work_items.announcements import work_item_announcements
from rcm_shared.work_items.workflow import WorkItemOpened, WorkItemResolved

from remittance.domain.events import ClaimPaymentPosted, DenialRaised, EraReceived, PatientResponsibilityTransferred

SOURCE = "remittance"


def _claim_payment_posted(event: ClaimPaymentPosted) -> list[Announcement]:
    return [(ClaimPaymentPostedV2.model_construct(
        posting_id=event.posting_id, era_id=event.era_id, claim_id=event.claim_id, practice_id=event.practice_id,
        outcome=event.outcome, claim_status_code=event.claim_status_code, charge=event.charge, paid=event.paid,
        patient_responsibility=event.patient_responsibility, contractual_adjustment=event.contractual_adjustment,
        payer_claim_number=event.payer_claim_number, trace_number=event.trace_number,
        reverses_posting_id=event.reverses_posting_id), event.claim_id)]


def _patient_responsibility_transferred(event: PatientResponsibilityTransferred) -> list[Announcement]:
    # patient-billing owns patient A/R: this is the hand-off of what the payer assigned to the patient
    return [(PatientResponsibilityAssessedV1.model_construct(
        assessment_id=event.posting_id, posting_id=event.posting_id, claim_id=event.claim_id,
        patient_id=event.patient_id, practice_id=event.practice_id, date_of_service=event.date_of_service,
        deductible=event.deductible, coinsurance=event.coinsurance, copay=event.copay, other=event.other,
        total=event.total), event.claim_id)]


def _denial_raised(event: DenialRaised) -> list[Announcement]:
    return [(DenialRaisedV1.model_construct(
        denial_id=event.denial_id, claim_id=event.claim_id, practice_id=event.practice_id,
        patient_id=event.patient_id, payer_id=event.payer_id, era_id=event.era_id, line_number=event.line_number,
        category=event.category, group_code=event.group_code, reason_codes=list(event.reason_codes),
        remark_codes=list(event.remark_codes), amount=event.amount, suggested_action=event.suggested_action,
        queue=event.queue, pattern_alert=event.pattern_alert), event.claim_id)]


def _era_received(event: EraReceived) -> list[Announcement]:
    return [(EraReceivedV1(era_id=event.era_id, practice_id=event.practice_id, file_sha256=event.file_sha256,
                           size_bytes=event.size_bytes, received_via=event.received_via), event.era_id)]


def _work_item(event: WorkItemOpened | WorkItemResolved) -> list[Announcement]:
    return work_item_announcements(event, SOURCE)


_MAPPED: dict[type, Callable[[Any], list[Announcement]]] = {
    ClaimPaymentPosted: _claim_payment_posted, PatientResponsibilityTransferred: _patient_responsibility_transferred,
    DenialRaised: _denial_raised, EraReceived: _era_received, WorkItemOpened: _work_item,
    WorkItemResolved: _work_item}


def announcements(event: Any) -> Iterable[Announcement]:
    """The integration events announcing ``event`` (one lookup by type: an ERA maps tens of thousands)."""
    mapped = _MAPPED.get(type(event))
    if mapped is None:
        raise TypeError(f"no integration event is mapped for {type(event).__name__}")
    return mapped(event)
