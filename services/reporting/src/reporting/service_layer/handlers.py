"""The message map: which projection takes which integration event, a poll at a time (each consumer's batch handler
joins the poll's transaction; ``bootstrap`` wires it). Here the events become the read model's facts: amounts to
integer cents, instants to the practice's dates."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from rcm_shared.clock import Clock
from rcm_shared.contracts import (
    ClaimPaymentPostedV1,
    ClaimPaymentPostedV2,
    ClaimStatusChangedV1,
    ClaimSubmittedV1,
    DenialRaisedV1,
    EligibilityCheckedV1,
    EventEnvelope,
    EventPayload,
    PatientBalanceChangedV1,
    PatientResponsibilityAssessedV1,
    VisitAuthorizationDeterminedV1,
    VisitCompletedV1,
)
from rcm_shared.db.types import to_cents
from rcm_shared.messaging.dispatch import TypedBatchHandler
from sqlalchemy.ext.asyncio import AsyncSession

from reporting.domain.facts import Denial, FactRules, Posting, StatusChange, Submission, VisitDelivered
from reporting.domain.kpi import CoverageCheck, DeterminedVisit
from reporting.domain.patient_ar import PAYMENT_KINDS, REFUND_KINDS, SELF_PAY_KINDS, PatientCharge, PatientMoney
from reporting.service_layer import projections
from reporting.service_layer.unit_of_work import ReportingUnitOfWork, UnitsOfWork

Items = Sequence[tuple[EventEnvelope, Any]]


def message_map(uows: UnitsOfWork, rules: FactRules, clock: Clock) -> Mapping[type[EventPayload], TypedBatchHandler]:
    def day(envelope: EventEnvelope) -> Any:
        return clock.date_at(envelope.time)

    return {
        VisitCompletedV1: _in_poll(uows, lambda uow, items: projections.record_visits(
            uow, [(e.practice_id, visit_delivered(p)) for e, p in items])),
        ClaimSubmittedV1: _in_poll(uows, lambda uow, items: projections.record_submissions(
            uow, [(e.practice_id, submission(p, day(e))) for e, p in items], rules)),
        ClaimStatusChangedV1: _in_poll(uows, lambda uow, items: projections.record_status_changes(
            uow, [(e.practice_id, StatusChange(e.id, p.claim_id, p.previous_status, p.status, e.time))
                  for e, p in items], rules)),
        ClaimPaymentPostedV1: _in_poll(uows, lambda uow, items: projections.record_postings(
            uow, [(e.practice_id, posting(p, e, day(e))) for e, p in items], rules)),
        ClaimPaymentPostedV2: _in_poll(uows, lambda uow, items: projections.record_postings(
            uow, [(e.practice_id, posting(p, e, day(e))) for e, p in items], rules)),
        DenialRaisedV1: _in_poll(uows, lambda uow, items: projections.record_denials(
            uow, [(e.practice_id, Denial(p.denial_id, p.claim_id, p.category, to_cents(p.amount), e.time))
                  for e, p in items], rules)),
        PatientResponsibilityAssessedV1: _in_poll(uows, lambda uow, items: projections.record_patient_charges(
            uow, [(e.practice_id, PatientCharge(f"assessment:{p.assessment_id}", p.patient_id, p.claim_id, day(e),
                                                to_cents(p.total))) for e, p in items])),
        PatientBalanceChangedV1: _in_poll(uows, lambda uow, items: _balance_changes(uow, items, day)),
        VisitAuthorizationDeterminedV1: _in_poll(uows, lambda uow, items: projections.record_determinations(
            uow, [(e.practice_id, (determined(p), p.sequence)) for e, p in items])),
        EligibilityCheckedV1: _in_poll(uows, lambda uow, items: projections.record_eligibility_checks(
            uow, [(e.practice_id, CoverageCheck(p.check_id, p.patient_id, p.payer_id, p.as_of, p.active))
                  for e, p in items])),
    }


def visit_delivered(p: VisitCompletedV1) -> VisitDelivered:
    return VisitDelivered(p.visit_id, p.patient_id, p.billing_model, p.payer_id, p.date_of_service, p.rendering_npi,
                          p.program, p.services[0].procedure_code if p.services else None, p.voided)


def submission(p: ClaimSubmittedV1, submitted_on: Any) -> Submission:
    return Submission(p.claim_id, p.visit_id, p.patient_id, p.payer_id, p.frequency_code, p.date_of_service,
                      p.rendering_npi, p.program, p.lines[0].procedure_code if p.lines else None,
                      to_cents(p.total_charge), submitted_on)


def posting(p: ClaimPaymentPostedV1, envelope: EventEnvelope, posted_on: Any) -> Posting:
    return Posting(p.posting_id, p.claim_id, p.outcome, to_cents(p.paid), to_cents(p.patient_responsibility),
                   to_cents(p.contractual_adjustment), posted_on, envelope.time)


def determined(p: VisitAuthorizationDeterminedV1) -> DeterminedVisit:
    return DeterminedVisit(p.visit_id, p.patient_id, p.payer_id, p.date_of_service, p.authorization_required,
                           p.authorization_number, p.missing_reason)


async def _balance_changes(uow: ReportingUnitOfWork, items: Items, day: Callable[[EventEnvelope], Any]) -> None:
    """Self-pay charges are patient charges; payments, credits and refunds are the patient's money. The
    responsibility entries are not kept here: the assessments (which name the claim) are those charges."""
    charges, money = [], []
    for e, p in items:
        if p.entry_kind in SELF_PAY_KINDS:
            charges.append((e.practice_id, PatientCharge(f"entry:{p.entry_id}", p.patient_id, None, day(e),
                                                         to_cents(p.amount))))
        elif p.entry_kind in PAYMENT_KINDS or p.entry_kind in REFUND_KINDS:
            cents = to_cents(p.amount) * (-1 if p.entry_kind in REFUND_KINDS else 1)
            money.append((e.practice_id, PatientMoney(p.entry_id, p.patient_id, cents, day(e), p.entry_kind)))
    await projections.record_patient_charges(uow, charges)
    await projections.record_patient_money(uow, money)


UseCase = Callable[[ReportingUnitOfWork, Items], Awaitable[None]]


def _in_poll(uows: UnitsOfWork, use_case: UseCase) -> TypedBatchHandler:
    async def handle(session: AsyncSession, items: Items) -> None:
        async with uows.joining(session) as uow:
            await use_case(uow, items)

    return handle
