"""A practice's endpoints: register (with a new secret), enable again, pause, delete, rotate the secret; and the
practice's PHI opt-in. Every destination is checked for shape and resolved addresses before it is kept."""

from __future__ import annotations

import secrets as random
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from webhooks.adapters.sender import Resolver
from webhooks.domain.commands import RegisterEndpoint, SetPhiOptIn
from webhooks.domain.destinations import DestinationPolicy, IPAddress, check_addresses, parse_destination
from webhooks.domain.exceptions import EndpointNotFound, PhiNotAllowed
from webhooks.domain.filters import validate_filters
from webhooks.domain.model import Endpoint, Secret
from webhooks.domain.schedule import DeliverySchedule
from webhooks.domain.signature import secret_from_bytes
from webhooks.service_layer.unit_of_work import WebhooksUnitOfWork

SECRET_BYTES = 32


@dataclass(frozen=True)
class Rotated:
    secret: str
    previous_expires_at: datetime


def new_secret(now: datetime) -> Secret:
    return Secret(str(uuid.uuid4()), secret_from_bytes(random.token_bytes(SECRET_BYTES)), now)


async def checked_address(url: str, policy: DestinationPolicy, resolver: Resolver) -> IPAddress:
    """The URL's shape and every address its host resolves to; returns the address to connect to (the first)."""
    destination = parse_destination(url, policy)
    addresses = await resolver.resolve(destination.host, destination.port)
    check_addresses(destination, addresses, policy)
    return addresses[0]


async def check_destination(url: str, policy: DestinationPolicy, resolver: Resolver) -> bool:
    """The URL's shape and every address its host resolves to; returns whether it is HTTPS."""
    await checked_address(url, policy, resolver)
    return parse_destination(url, policy).secure


async def register(uow: WebhooksUnitOfWork, command: RegisterEndpoint, *, known_types: Collection[str],
                   policy: DestinationPolicy, resolver: Resolver, now: datetime) -> Endpoint:
    filters = validate_filters(command.event_types, known_types)
    secure = await check_destination(command.url, policy, resolver)
    if command.include_phi:
        if not secure:
            raise PhiNotAllowed("include_phi", "PHI is only delivered over https://")
        if not await uow.settings.phi_opt_in(command.practice_id):
            raise PhiNotAllowed("include_phi", "the practice has not opted in to PHI in webhooks "
                                               "(PUT /v1/webhook-settings)")
    endpoint = Endpoint(endpoint_id=str(uuid.uuid4()), practice_id=command.practice_id, url=command.url.strip(),
                        event_types=filters, include_phi=command.include_phi, created_at=now,
                        description=command.description, secrets=[new_secret(now)])
    await uow.endpoints.add(endpoint)
    return endpoint


async def _endpoint(uow: WebhooksUnitOfWork, practice_id: str, endpoint_id: str) -> Endpoint:
    endpoint = await uow.endpoints.get(practice_id, endpoint_id, lock=True)
    if endpoint is None:
        raise EndpointNotFound("no such endpoint")
    return endpoint


async def enable(uow: WebhooksUnitOfWork, practice_id: str, endpoint_id: str, *, policy: DestinationPolicy,
                 resolver: Resolver, now: datetime) -> Endpoint:
    """Enabled again (after 410, persistent failure or a pause): its held deliveries are due at once."""
    endpoint = await _endpoint(uow, practice_id, endpoint_id)
    await check_destination(endpoint.url, policy, resolver)
    endpoint.enable()
    await uow.endpoints.save(endpoint)
    await uow.deliveries.release(endpoint_id, now)
    return endpoint


async def pause(uow: WebhooksUnitOfWork, practice_id: str, endpoint_id: str, *, now: datetime) -> Endpoint:
    endpoint = await _endpoint(uow, practice_id, endpoint_id)
    endpoint.pause(now)
    await uow.endpoints.save(endpoint)
    return endpoint


async def delete(uow: WebhooksUnitOfWork, practice_id: str, endpoint_id: str, *, now: datetime) -> None:
    """Nothing more is delivered to it: its queued deliveries are given up; its log stays."""
    endpoint = await _endpoint(uow, practice_id, endpoint_id)
    endpoint.delete(now)
    await uow.endpoints.save(endpoint)
    await uow.deliveries.give_up_pending(endpoint_id, now)


async def rotate_secret(uow: WebhooksUnitOfWork, practice_id: str, endpoint_id: str, *,
                        schedule: DeliverySchedule, now: datetime) -> Rotated:
    """A new secret signs from now on; the previous one also signs until the overlap ends."""
    endpoint = await _endpoint(uow, practice_id, endpoint_id)
    secret = new_secret(now)
    overlap_ends = now + schedule.secret_overlap
    endpoint.rotate(secret, now, overlap_ends)
    await uow.endpoints.save(endpoint)
    return Rotated(secret.value, overlap_ends)


async def set_phi_opt_in(uow: WebhooksUnitOfWork, command: SetPhiOptIn, *, now: datetime) -> None:
    """Opting out stops PHI at once: every endpoint asking for it is delivered the redacted event from now on."""
    await uow.settings.set_phi_opt_in(command.practice_id, command.phi_opt_in, now)
