"""What the routes reach through one typed dependency: the services the composition root built."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from rcm_shared.clock import Clock
from rcm_shared.db.database import Database

from webhooks.adapters.sender import Resolver
from webhooks.config import WebhooksSettings
from webhooks.domain.destinations import DestinationPolicy
from webhooks.domain.rulebook import Rulebook
from webhooks.service_layer.unit_of_work import UnitsOfWork


@dataclass(frozen=True)
class WebhooksServices:
    settings: WebhooksSettings
    db: Database
    clock: Clock
    rules: Rulebook
    uows: UnitsOfWork
    resolver: Resolver
    policy_for: Callable[[str], DestinationPolicy]
    event_types: tuple[str, ...]


def _services(request: Request) -> WebhooksServices:
    services = request.app.state.services
    assert isinstance(services, WebhooksServices)
    return services


ServicesDep = Annotated[WebhooksServices, Depends(_services)]
