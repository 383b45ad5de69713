"""Replays and test events: deliveries queued again on demand, at the end of their lines (so they keep the order
of what is already queued for the same subject), with the events' own ids (a receiver that already has one may
drop it)."""

from __future__ import annotations

import uuid
from datetime import datetime

from rcm_shared.contracts.envelope import EventEnvelope

from webhooks.domain.commands import ReplayEvents
from webhooks.domain.exceptions import EndpointDeleted, EndpointNotFound, EventNotFound, WebhookRefusal
from webhooks.domain.filters import TEST_EVENT_TYPE, matches
from webhooks.domain.model import Endpoint
from webhooks.service_layer.fan_out import delivery_row, event_row
from webhooks.service_layer.unit_of_work import WebhooksUnitOfWork

#: At most this many events per replay request (a longer range: replay it in parts).
MAX_REPLAY = 10_000


async def _live_endpoint(uow: WebhooksUnitOfWork, practice_id: str, endpoint_id: str) -> Endpoint:
    endpoint = await uow.endpoints.get(practice_id, endpoint_id)
    if endpoint is None:
        raise EndpointNotFound("no such endpoint")
    if endpoint.status == "deleted":
        raise EndpointDeleted("the endpoint was deleted: nothing is replayed to it")
    return endpoint


async def replay(uow: WebhooksUnitOfWork, command: ReplayEvents, *, now: datetime) -> tuple[list[int], bool]:
    """Queue one event again, or every event of the range the endpoint's filters match. Returns the new deliveries
    and whether the range was cut at ``MAX_REPLAY``."""
    endpoint = await _live_endpoint(uow, command.practice_id, command.endpoint_id)
    if command.event_id is not None:
        event = await uow.events.get(command.practice_id, command.event_id)
        if event is None:
            raise EventNotFound("no such event for this practice")
        chosen = [event]
        truncated = False
    else:
        if command.since is None or command.until is None or command.since >= command.until:
            raise WebhookRefusal("since", "give event_id, or since and until with since before until")
        found = await uow.events.received_between(command.practice_id, command.since, command.until,
                                                  limit=MAX_REPLAY + 1)
        truncated = len(found) > MAX_REPLAY
        chosen = [e for e in found[:MAX_REPLAY] if matches(endpoint.event_types, e["event_type"])]
    ids = await uow.deliveries.enqueue([delivery_row(endpoint.endpoint_id, e["event_id"], e["subject"], now,
                                                     replay=True) for e in chosen])
    return ids, truncated


async def send_test_event(uow: WebhooksUnitOfWork, practice_id: str, endpoint_id: str, *,
                          now: datetime) -> tuple[str, int]:
    """A ``webhook.test`` event for this endpoint only (its own line), signed and logged like any other."""
    endpoint = await _live_endpoint(uow, practice_id, endpoint_id)
    envelope = EventEnvelope(type=TEST_EVENT_TYPE, source="webhooks", subject=f"test-{endpoint.endpoint_id}",
                             time=now, schema_version=1, practice_id=practice_id, id=str(uuid.uuid4()),
                             data={"endpoint_id": endpoint.endpoint_id, "practice_id": practice_id,
                                   "message": "A test event from the billing platform"})
    await uow.events.add_new([event_row(envelope, now)])
    (delivery_id,) = await uow.deliveries.enqueue([delivery_row(endpoint.endpoint_id, envelope.id,
                                                                envelope.subject, now, replay=False)])
    return envelope.id, delivery_id

