"""The message map: which use case takes which integration event (one event at a time, inside the consumer's
transaction: ``uows.joining``); ``bootstrap`` wires it. Nothing else lives here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from rcm_shared.clock import Clock
from rcm_shared.contracts import EventEnvelope, EventPayload, PatientResponsibilityAssessedV1, VisitCompletedV1
from rcm_shared.db.types import to_cents
from rcm_shared.messaging.dispatch import TypedHandler
from sqlalchemy.ext.asyncio import AsyncSession

from patient_billing.domain.commands import AssessResponsibility
from patient_billing.service_layer import ledger, visits
from patient_billing.service_layer.unit_of_work import PatientBillingUnitOfWork, UnitsOfWork


def message_map(uows: UnitsOfWork, clock: Clock) -> Mapping[type[EventPayload], TypedHandler]:
    return {
        PatientResponsibilityAssessedV1: _joining(uows, lambda uow, e: ledger.assess_responsibility(
            uow, assessment(e), at=clock.now())),
        VisitCompletedV1: _joining(uows, lambda uow, e: visits.visit_completed(uow, e, at=clock.now())),
    }


def assessment(event: PatientResponsibilityAssessedV1) -> AssessResponsibility:
    return AssessResponsibility(
        event.practice_id, event.assessment_id, event.claim_id, event.patient_id, event.date_of_service,
        deductible=to_cents(event.deductible), coinsurance=to_cents(event.coinsurance), copay=to_cents(event.copay),
        other=to_cents(event.other))


UseCase = Callable[[PatientBillingUnitOfWork, Any], Awaitable[Any]]


def _joining(uows: UnitsOfWork, use_case: UseCase) -> TypedHandler:
    async def handle(session: AsyncSession, envelope: EventEnvelope, payload: Any) -> None:
        async with uows.joining(session, causation=envelope) as uow:
            await use_case(uow, payload)

    return handle
