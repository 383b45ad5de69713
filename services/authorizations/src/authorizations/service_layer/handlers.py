"""The message map: which use case takes which integration event, a poll at a time (each consumer's batch
handler joins the poll's transaction; ``bootstrap`` wires it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from rcm_shared.clock import Clock
from rcm_shared.contracts import EventEnvelope, EventPayload, VisitCompletedV1, VisitScheduledV1
from rcm_shared.messaging.dispatch import TypedBatchHandler
from sqlalchemy.ext.asyncio import AsyncSession

from authorizations.domain.commands import ApplyVisit, CopyBookedVisit
from authorizations.domain.rulebook import Rulebook
from authorizations.domain.unit_ledger import VisitProviders
from authorizations.service_layer import ledger, schedule
from authorizations.service_layer.unit_of_work import AuthorizationsUnitOfWork, UnitsOfWork


def message_map(uows: UnitsOfWork, rules: Rulebook, clock: Clock) -> Mapping[type[EventPayload], TypedBatchHandler]:
    return {
        VisitCompletedV1: _in_poll(uows, lambda uow, events: ledger.apply_visits(
            uow, [c for e in events if (c := visit_to_apply(e)) is not None], rules=rules, today=clock.today(),
            at=clock.now())),
        VisitScheduledV1: _in_poll(uows, lambda uow, events: schedule.copy_schedule(
            uow, [booked_visit(e) for e in events], at=clock.now())),
    }


def visit_to_apply(event: VisitCompletedV1) -> ApplyVisit | None:
    """An insured visit with a coded service; anything else has no units and nothing to determine."""
    if event.billing_model != "insurance" or event.payer_id is None or not event.services:
        return None
    # Absent clinician facts (an older producer): no credential (supervisor billing then refused, as the HTTP
    # check without one), no supervisor, and no billing provider to decide about.
    providers = VisitProviders(event.rendering_npi, event.rendering_credential or "", event.supervising_npi,
                               event.supervising_credential or "", event.billing_npi)
    return ApplyVisit(event.practice_id, event.visit_id, event.patient_id, event.payer_id, event.date_of_service,
                      event.services[0].procedure_code, providers, event.voided, event.replaces_visit_id)


def booked_visit(event: VisitScheduledV1) -> CopyBookedVisit:
    return CopyBookedVisit(event.practice_id, event.visit_id, event.patient_id, event.payer_id, event.service_date,
                           event.cpt_code, event.cancelled)


UseCase = Callable[[AuthorizationsUnitOfWork, list[Any]], Awaitable[None]]


def _in_poll(uows: UnitsOfWork, use_case: UseCase) -> TypedBatchHandler:
    async def handle(session: AsyncSession, items: Sequence[tuple[EventEnvelope, Any]]) -> None:
        # One event: it is the cause of what is announced. A poll of many has no single cause.
        causation = items[0][0] if len(items) == 1 else None
        async with uows.joining(session, causation=causation) as uow:
            await use_case(uow, [payload for _, payload in items])

    return handle
