"""Every event from the topics: kept (the CloudEvent as it arrived, for replays), then one delivery queued per
endpoint of its practice whose filters match, in the order the events arrived (the order of each subject's line).
Runs in the consumer's transaction, with its inbox row: a redelivered event queues nothing twice."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rcm_shared.contracts.envelope import EventEnvelope

from webhooks.domain.filters import matches
from webhooks.service_layer.unit_of_work import WebhooksUnitOfWork


def event_row(envelope: EventEnvelope, now: datetime) -> dict[str, Any]:
    return {"event_id": envelope.id, "practice_id": envelope.practice_id, "event_type": envelope.type,
            "subject": envelope.subject, "occurred_at": envelope.time, "received_at": now,
            "cloud_event": json.loads(envelope.to_bytes())}


def delivery_row(endpoint_id: str, event_id: str, subject: str, now: datetime, *,
                 replay: bool = False) -> dict[str, Any]:
    return {"endpoint_id": endpoint_id, "event_id": event_id, "subject": subject, "status": "pending",
            "attempts": 0, "next_attempt_at": now, "leased_until": None, "replay": replay, "created_at": now,
            "completed_at": None}


async def receive_events(uow: WebhooksUnitOfWork, envelopes: Sequence[EventEnvelope], *, now: datetime) -> int:
    """Returns how many deliveries were queued."""
    fresh = await uow.events.add_new([event_row(e, now) for e in envelopes])
    todo = [e for e in envelopes if e.id in fresh]
    if not todo:
        return 0
    endpoints = await uow.endpoints.of_practices(sorted({e.practice_id for e in todo}))
    rows = [delivery_row(endpoint.endpoint_id, envelope.id, envelope.subject, now)
            for envelope in todo for endpoint in endpoints
            if endpoint.practice_id == envelope.practice_id and matches(endpoint.event_types, envelope.type)]
    await uow.deliveries.enqueue(rows)
    return len(rows)
