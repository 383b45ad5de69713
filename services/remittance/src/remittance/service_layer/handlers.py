"""The message map: which use case takes which integration event (``bootstrap`` wires it into the consumers).
Each handler joins the consumer's transaction through a unit of work whose causation is the event consumed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from rcm_shared.contracts import ClaimSubmittedV1, EraReceivedV1, EventEnvelope, EventPayload
from rcm_shared.messaging import PermanentEventError
from rcm_shared.messaging.dispatch import TypedHandler
from sqlalchemy.ext.asyncio import AsyncSession

from remittance.domain.commands import PostEra, RememberSubmittedClaim, SubmittedLine
from remittance.domain.exceptions import UnknownEra
from remittance.domain.rulebook import Rulebook
from remittance.service_layer import claim_copies, posting
from remittance.service_layer.unit_of_work import RemittanceUnitOfWork, UnitsOfWork


def message_map(uows: UnitsOfWork, rules: Rulebook) -> Mapping[type[EventPayload], TypedHandler]:
    return {
        ClaimSubmittedV1: _joined(uows, lambda uow, event: claim_copies.remember_submitted_claim(
            uow, submitted_claim(event), rules)),
        EraReceivedV1: _joined(uows, lambda uow, event: _post_era(uow, event, rules)),
    }


def submitted_claim(event: ClaimSubmittedV1) -> RememberSubmittedClaim:
    return RememberSubmittedClaim(
        event.claim_id, event.practice_id, event.patient_control_number, event.patient_id, event.payer_id,
        event.visit_id, event.total_charge, event.date_of_service, event.rendering_npi, event.program,
        tuple(SubmittedLine(ln.line_number, ln.procedure_code, tuple(ln.modifiers), ln.units, ln.charge,
                            ln.contracted_rate) for ln in event.lines))


async def _post_era(uow: RemittanceUnitOfWork, event: EraReceivedV1, rules: Rulebook) -> None:
    try:
        await posting.post_era(uow, PostEra(event.practice_id, event.era_id), rules)
    except UnknownEra as exc:  # retrying cannot help: straight to the dead-letter topic with the reason
        raise PermanentEventError(str(exc)) from exc


UseCase = Callable[[RemittanceUnitOfWork, Any], Awaitable[None]]


def _joined(uows: UnitsOfWork, use_case: UseCase) -> TypedHandler:
    async def handle(session: AsyncSession, envelope: EventEnvelope, payload: Any) -> None:
        async with uows.joining(session, causation=envelope) as uow:
            await use_case(uow, payload)

    return handle
