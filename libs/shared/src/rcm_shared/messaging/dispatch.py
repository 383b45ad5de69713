"""Route decoded events to one handler per payload type (the service's message map)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from rcm_shared.contracts.base import EventPayload
from rcm_shared.contracts.envelope import EventEnvelope
from rcm_shared.messaging.consumer import EventHandler, PermanentEventError

TypedHandler = Callable[[AsyncSession, EventEnvelope, Any], Awaitable[None]]


def event_dispatcher(handlers: Mapping[type[EventPayload], TypedHandler]) -> EventHandler:
    async def dispatch(session: AsyncSession, envelope: EventEnvelope, payload: EventPayload) -> None:
        handler = handlers.get(type(payload))
        if handler is None:
            return  # another event on a shared topic: not ours, and the inbox records we saw it
        practice = getattr(payload, "practice_id", envelope.practice_id)
        if practice != envelope.practice_id:
            raise PermanentEventError("payload practice_id does not match the envelope's")
        await handler(session, envelope, payload)

    return dispatch
