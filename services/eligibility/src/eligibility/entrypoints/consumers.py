"""Consumers that hand a whole poll to a use case: the kernel's ``EventConsumer`` applies events one by one (a
SAVEPOINT, an inbox look-up and the handler's queries per event); counting a poll of 500 completed visits that way
is 500 times the same three reads. Here the poll's events go, by type and in order, to the message map's handler
in one call: one inbox read and one inbox write for the poll, one transaction, one unit of work.

If anything in the batch fails (a bad event, a race on a unique key, a database hiccup), the transaction rolls back
and the poll goes the kernel's way instead: one event at a time, its retries and the dead-letter topic. So a
poison message costs one slow poll, never a lost or doubled effect; the inbox makes either path idempotent.

One thing the batch path gives up: the events a batch stages carry no causation (one unit of work for many
consumed events); the one-by-one path keeps it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from aiokafka import ConsumerRecord
from pydantic import ValidationError
from rcm_shared.config import ServiceSettings
from rcm_shared.contracts import EventEnvelope, EventPayload
from rcm_shared.contracts.registry import UnknownEventType, decode_payload
from rcm_shared.db.database import Database
from rcm_shared.db.types import utcnow
from rcm_shared.messaging import EventConsumer, PermanentEventError
from rcm_shared.observability import metrics
from rcm_shared.observability.tracing import consume_span
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from eligibility.service_layer.handlers import EventHandler
from eligibility.service_layer.unit_of_work import UnitsOfWork

log = logging.getLogger(__name__)


class BatchEventConsumer(EventConsumer):
    def __init__(self, settings: ServiceSettings, db: Database, uows: UnitsOfWork, *, name: str, topics: list[str],
                 handlers: Mapping[type[EventPayload], EventHandler]) -> None:
        super().__init__(settings, db.sessions, db.tables, name=name, topics=topics, handler=self._apply_one)
        self._service = settings.service_name
        self._batch_sessions = db.sessions
        self._inbox = db.tables.inbox
        self._uows = uows
        self._handlers = handlers

    async def _apply_one(self, session: AsyncSession, envelope: EventEnvelope, payload: EventPayload) -> None:
        """The kernel's one-by-one path (its retries and dead letters) with the same handlers."""
        handler = self._handlers.get(type(payload))
        if handler is None:
            return  # another event on a shared topic: not ours, and the inbox records we saw it
        if getattr(payload, "practice_id", envelope.practice_id) != envelope.practice_id:
            raise PermanentEventError("payload practice_id does not match the envelope's")
        async with self._uows.joining(session, causation=envelope) as uow:
            await handler(uow, [payload])

    async def handle_records(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        decoded: list[tuple[ConsumerRecord[bytes, bytes], EventEnvelope, EventPayload]] = []
        for record in records:
            try:
                envelope = EventEnvelope.from_bytes(record.value or b"")
                payload = decode_payload(envelope)
            except (ValidationError, UnknownEventType, ValueError):
                await super().handle_records(records)  # dead-letters what cannot be read, applies the rest
                return
            if getattr(payload, "practice_id", envelope.practice_id) != envelope.practice_id:
                await super().handle_records(records)
                return
            decoded.append((record, envelope, payload))
        try:
            applied = await self._apply_batch(decoded)
        except Exception as exc:  # the batch rolled back: one by one, with retries and the DLQ
            log.info("batch failed; applying one by one", extra={"consumer": self._group_id,
                                                                  "error": type(exc).__name__,
                                                                  "events": len(decoded)})
            await super().handle_records(records)
            return
        for record, outcome in applied:
            metrics.EVENTS_CONSUMED.labels(self._service, self._group_id, record.topic, outcome).inc()

    async def _apply_batch(self, decoded: list[tuple[ConsumerRecord[bytes, bytes], EventEnvelope, EventPayload]]
                           ) -> list[tuple[ConsumerRecord[bytes, bytes], str]]:
        inbox = self._inbox
        outcomes: list[tuple[ConsumerRecord[bytes, bytes], str]] = []
        async with self._batch_sessions() as session, session.begin():
            ids = [envelope.id for _, envelope, _ in decoded]
            seen = set((await session.execute(select(inbox.c.event_id).where(
                inbox.c.consumer == self._group_id, inbox.c.event_id.in_(ids)))).scalars().all())
            rows: list[dict[str, Any]] = []
            by_type: dict[type[EventPayload], list[EventPayload]] = defaultdict(list)
            first: dict[type[EventPayload], EventEnvelope] = {}
            now = utcnow()
            for record, envelope, payload in decoded:
                if envelope.id in seen:  # redelivered, or twice in this poll
                    outcomes.append((record, "duplicate"))
                    continue
                seen.add(envelope.id)
                rows.append({"consumer": self._group_id, "event_id": envelope.id, "event_type": envelope.type,
                             "topic": record.topic, "partition": record.partition, "offset": record.offset,
                             "processed_at": now})
                outcomes.append((record, "processed"))
                if type(payload) in self._handlers:
                    by_type[type(payload)].append(payload)
                    first.setdefault(type(payload), envelope)
            if rows:
                await session.execute(insert(inbox), rows)
            for kind, payloads in by_type.items():
                with consume_span(decoded[0][0].topic, first[kind], self._group_id):
                    async with self._uows.joining(session) as uow:
                        await self._handlers[kind](uow, payloads)
        return outcomes
