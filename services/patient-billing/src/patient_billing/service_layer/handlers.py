"""The message map: which use case takes which integration event (one event at a time, inside the consumer's
transaction: ``uows.joining``); ``bootstrap`` wires it. Nothing else lives here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from rcm_shared.clock import Clock
from rcm_shared.contracts import (
    ClaimPaymentPostedV1,
    ClaimPaymentPostedV2,
    EventEnvelope,
    EventPayload,
    MessageExchangedV1,
    PatientResponsibilityAssessedV1,
    VisitCompletedV1,
    VisitScheduledV1,
)
from rcm_shared.db.types import to_cents
from rcm_shared.messaging.dispatch import TypedHandler
from sqlalchemy.ext.asyncio import AsyncSession

from patient_billing.domain.commands import AssessResponsibility, ChargeMissedAppointment
from patient_billing.domain.pricing import PricingRules
from patient_billing.service_layer import document_facts, estimates, fees, ledger, subscriptions, visits
from patient_billing.service_layer.document_kit import DocumentKit
from patient_billing.service_layer.unit_of_work import PatientBillingUnitOfWork, UnitsOfWork


def message_map(uows: UnitsOfWork, rules: PricingRules, clock: Clock, kit: DocumentKit
                ) -> Mapping[type[EventPayload], TypedHandler]:
    async def visit_completed(uow: PatientBillingUnitOfWork, event: VisitCompletedV1) -> None:
        await visits.visit_completed(uow, event, rules, at=clock.now())
        await document_facts.keep_visit_coding(uow, event, at=clock.now())
        if event.billing_model == "self_pay" and not event.voided:
            await estimates.watch_charges(uow, kit, event.practice_id, event.patient_id, event.date_of_service)

    return {
        PatientResponsibilityAssessedV1: _joining(uows, lambda uow, e: ledger.assess_responsibility(
            uow, assessment(e), at=clock.now())),
        VisitCompletedV1: _joining(uows, visit_completed),
        ClaimPaymentPostedV1: _joining(uows, lambda uow, e: document_facts.keep_claim_payment(uow, e, at=clock.now())),
        ClaimPaymentPostedV2: _joining(uows, lambda uow, e: document_facts.keep_claim_payment(uow, e, at=clock.now())),
        VisitScheduledV1: _joining(uows, lambda uow, e: fees.charge_missed_appointment(
            uow, missed(e), rules, at=clock.now()) if e.outcome else _nothing()),
        MessageExchangedV1: _joining(uows, lambda uow, e: subscriptions.message_exchanged(uow, e, clock)),
    }


def assessment(event: PatientResponsibilityAssessedV1) -> AssessResponsibility:
    return AssessResponsibility(
        event.practice_id, event.assessment_id, event.claim_id, event.patient_id, event.date_of_service,
        deductible=to_cents(event.deductible), coinsurance=to_cents(event.coinsurance), copay=to_cents(event.copay),
        other=to_cents(event.other))


def missed(event: VisitScheduledV1) -> ChargeMissedAppointment:
    assert event.outcome is not None
    return ChargeMissedAppointment(event.practice_id, event.patient_id, event.visit_id, event.service_date,
                                   event.outcome)


async def _nothing() -> None:
    """A booking, a move or a plain cancellation: no fee."""


UseCase = Callable[[PatientBillingUnitOfWork, Any], Awaitable[Any]]


def _joining(uows: UnitsOfWork, use_case: UseCase) -> TypedHandler:
    async def handle(session: AsyncSession, envelope: EventEnvelope, payload: Any) -> None:
        async with uows.joining(session, causation=envelope) as uow:
            await use_case(uow, payload)

    return handle
