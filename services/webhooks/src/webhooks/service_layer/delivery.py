"""Delivering the queue: claim the deliveries that may go now (the head of each endpoint-and-subject line, due,
not in flight) with a lease, then for each one send the signed CloudEvent and record the outcome. The lease is
committed before sending and no transaction is held open during the HTTP call; a worker that dies mid-send leaves
the lease to expire and the delivery is attempted again (at-least-once)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from webhooks.adapters.sender import Resolver, Sender
from webhooks.domain.destinations import DestinationPolicy
from webhooks.domain.exceptions import WebhookRefusal
from webhooks.domain.model import AttemptOutcome
from webhooks.domain.ordering import due_heads
from webhooks.domain.redaction import delivered_event
from webhooks.domain.rulebook import Rulebook
from webhooks.domain.signature import signature_headers
from webhooks.service_layer.endpoints import checked_address
from webhooks.service_layer.unit_of_work import UnitsOfWork

log = logging.getLogger("rcm.webhooks")


@dataclass(frozen=True)
class Attempt:
    delivery_id: int
    endpoint_id: str
    practice_id: str
    url: str
    body: bytes
    headers: dict[str, str]
    include_phi: bool


async def claim_due(uows: UnitsOfWork, *, now: datetime, lease_for: timedelta, limit: int) -> list[int]:
    async with uows() as uow:
        # the SQL finds the heads of the lines; the domain's rule is applied again to what it found
        heads = due_heads(await uow.deliveries.due_heads(now, limit=limit), now)
        return await uow.deliveries.lease([h.delivery_id for h in heads], now, now + lease_for)


async def prepare(uows: UnitsOfWork, delivery_id: int, *, rules: Rulebook, now: datetime) -> Attempt | None:
    """The request one attempt sends: the stored CloudEvent, redacted unless the endpoint may carry PHI (it asked,
    its practice opted in, and the URL is HTTPS), signed with every secret in force."""
    async with uows() as uow:
        delivery = await uow.deliveries.get(delivery_id)
        if delivery is None or delivery.status != "pending":
            return None
        endpoint = await uow.endpoints.get(None, delivery.endpoint_id)
        if endpoint is None or endpoint.status != "enabled":
            return None
        cloud_event = (await uow.events.cloud_events([delivery.event_id]))[delivery.event_id]
        opted_in = await uow.settings.phi_opt_in(endpoint.practice_id)
    include_phi = endpoint.include_phi and opted_in and endpoint.url.lower().startswith("https://")
    event = delivered_event(cloud_event, rules.payload_fields, include_phi=include_phi)
    body = json.dumps(event, separators=(",", ":"), sort_keys=False).encode()
    headers = signature_headers(delivery.event_id, now, body, endpoint.secrets_in_force(now))
    return Attempt(delivery_id, endpoint.endpoint_id, endpoint.practice_id, endpoint.url, body, headers, include_phi)


async def send(attempt: Attempt, *, sender: Sender, resolver: Resolver, policy: DestinationPolicy,
               now: Callable[[], datetime]) -> AttemptOutcome:
    """One HTTP attempt; a destination that now resolves somewhere forbidden is a failed attempt, not a send. The
    connection goes to the address that was checked (not to a second lookup a rebinding DNS could answer
    differently)."""
    at = now()
    try:
        address = await checked_address(attempt.url, policy, resolver)
    except WebhookRefusal:
        return AttemptOutcome(at, None, 0, "destination")
    result = await sender.send(attempt.url, attempt.body, attempt.headers, address=address)
    return AttemptOutcome(at, result.status_code, result.latency_ms, result.error)


async def record(uows: UnitsOfWork, attempt: Attempt, outcome: AttemptOutcome, *, rules: Rulebook,
                 now: datetime) -> None:
    """The outcome on the delivery (delivered / retried later / given up) and on its endpoint (healthy again,
    disabled by 410 Gone or by failing too long), with the attempt in the log."""
    schedule = rules.delivery.on(now.date())
    async with uows() as uow:
        delivery = await uow.deliveries.get(attempt.delivery_id, lock=True)
        endpoint = await uow.endpoints.get(None, attempt.endpoint_id, lock=True)
        if delivery is None or endpoint is None:
            return
        delivery.record(outcome, schedule)
        if outcome.succeeded:
            endpoint.record_success()
        else:
            endpoint.record_failure(now, schedule, gone=outcome.gone)
        await uow.deliveries.save(delivery, now)
        await uow.endpoints.save(endpoint)
    # Ids, status codes and kinds only: no URL (its query could carry a token), no body.
    log.info("webhook attempt", extra={"delivery_id": attempt.delivery_id, "endpoint_id": attempt.endpoint_id,
                                       "status_code": outcome.status_code, "latency_ms": outcome.latency_ms,
                                       "error": outcome.error, "delivery_status": delivery.status,
                                       "endpoint_status": endpoint.status})
