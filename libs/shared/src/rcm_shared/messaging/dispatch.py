"""Route decoded events to one handler per payload type (the service's message map)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from rcm_shared.contracts.base import EventPayload
from rcm_shared.contracts.envelope import EventEnvelope
from rcm_shared.messaging.consumer import BatchHandler, EventHandler, PermanentEventError

TypedHandler = Callable[[AsyncSession, EventEnvelope, Any], Awaitable[None]]
TypedBatchHandler = Callable[[AsyncSession, Sequence[tuple[EventEnvelope, Any]]], Awaitable[None]]


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


def batch_dispatcher(handlers: Mapping[type[EventPayload], TypedBatchHandler]) -> BatchHandler:
    """``event_dispatcher`` for a poll at a time: each handler gets its payload type's events together, in the
    order they arrived; events of other types are skipped (the inbox records them)."""

    async def dispatch(session: AsyncSession, items: Sequence[tuple[EventEnvelope, EventPayload]]) -> None:
        by_type: dict[type[EventPayload], list[tuple[EventEnvelope, EventPayload]]] = {}
        for envelope, payload in items:
            if type(payload) not in handlers:
                continue
            if getattr(payload, "practice_id", envelope.practice_id) != envelope.practice_id:
                raise PermanentEventError("payload practice_id does not match the envelope's")
            by_type.setdefault(type(payload), []).append((envelope, payload))
        for kind, events in by_type.items():
            await handlers[kind](session, events)

    return dispatch
