"""The facts documents are made of that other services publish, kept here as they were published: claims' coding
of each visit (``visit-completed``: procedure codes, modifiers, units, place of service, ICD-10) and what the plan
did with each claim (remittance's ``claim-payment-posted``: billed, paid, adjusted). Nothing is recomputed."""

from __future__ import annotations

from datetime import datetime

from rcm_shared.contracts import ClaimPaymentPostedV1, VisitCompletedV1
from rcm_shared.db.types import to_cents

from patient_billing.adapters.documents.repository import DocumentsRepository
from patient_billing.domain.superbills import CodedLine, VisitCoding
from patient_billing.service_layer.unit_of_work import PatientBillingUnitOfWork


async def keep_visit_coding(uow: PatientBillingUnitOfWork, event: VisitCompletedV1, *, at: datetime) -> None:
    repo = DocumentsRepository(uow.session)
    if event.replaces_visit_id:
        await repo.void_visit_coding(event.practice_id, event.replaces_visit_id)
    if event.voided:
        await repo.void_visit_coding(event.practice_id, event.visit_id)
        return
    await repo.keep_visit_coding(event.practice_id, VisitCoding(
        event.visit_id, event.patient_id, event.date_of_service, event.rendering_npi,
        tuple(CodedLine(s.procedure_code, tuple(s.modifiers), s.units) for s in event.services),
        tuple(event.diagnosis_codes), event.place_of_service, event.billing_model),
        payer_id=event.payer_id, program=event.program, at=at)


async def keep_claim_payment(uow: PatientBillingUnitOfWork, event: ClaimPaymentPostedV1, *, at: datetime) -> None:
    """The latest posting of a claim is what the statement shows; a reversal takes it away."""
    repo = DocumentsRepository(uow.session)
    if event.outcome == "reversed" or getattr(event, "reverses_posting_id", None):
        await repo.forget_claim_insurance(event.practice_id, event.claim_id)
        return
    await repo.keep_claim_insurance(event.practice_id, event.claim_id, to_cents(event.charge), to_cents(event.paid),
                                    to_cents(event.contractual_adjustment), at)
