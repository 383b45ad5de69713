"""The message map of webhooks: every event on every topic goes to one use case (``fan_out.receive_events``), in
the order the poll brought them (not grouped by type: a subject's events keep their order)."""

from __future__ import annotations

from collections.abc import Sequence

from rcm_shared.clock import Clock
from rcm_shared.contracts.base import EventPayload
from rcm_shared.contracts.envelope import EventEnvelope
from rcm_shared.messaging.consumer import BatchHandler, PermanentEventError
from sqlalchemy.ext.asyncio import AsyncSession

from webhooks.service_layer import fan_out
from webhooks.service_layer.unit_of_work import UnitsOfWork


def message_handler(uows: UnitsOfWork, clock: Clock) -> BatchHandler:
    async def every_event(session: AsyncSession, items: Sequence[tuple[EventEnvelope, EventPayload]]) -> None:
        for envelope, payload in items:
            if getattr(payload, "practice_id", envelope.practice_id) != envelope.practice_id:
                raise PermanentEventError("payload practice_id does not match the envelope's")
        async with uows.joining(session) as uow:
            await fan_out.receive_events(uow, [envelope for envelope, _ in items], now=clock.now())

    return every_event
