"""Stage an event in the same transaction as the state change that it announces."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from rcm_shared.contracts.base import EventPayload
from rcm_shared.contracts.envelope import EventEnvelope
from rcm_shared.contracts.registry import envelope_for
from rcm_shared.db.platform_tables import PlatformTables
from rcm_shared.db.types import utcnow
from rcm_shared.observability.tracing import current_traceparent


async def stage_event(
    session: AsyncSession,
    tables: PlatformTables,
    payload: EventPayload,
    *,
    source: str,
    subject: str,
    practice_id: str,
    causation: EventEnvelope | None = None,
) -> EventEnvelope:
    """Add an outbox row inside the caller's transaction; the relay publishes it after commit."""
    envelope = envelope_for(
        payload,
        source=source,
        subject=subject,
        practice_id=practice_id,
        correlation_id=(causation.correlation_id or causation.id) if causation else None,
        causation_id=causation.id if causation else None,
        traceparent=current_traceparent() or (causation.traceparent if causation else None),
    )
    await session.execute(
        insert(tables.outbox).values(
            event_id=envelope.id,
            topic=payload.topic,
            message_key=subject,
            event_type=envelope.type,
            payload=envelope.to_bytes(),
            headers={"traceparent": envelope.traceparent or "", "event-type": envelope.type},
            created_at=utcnow(),
            attempts=0,
        )
    )
    return envelope
