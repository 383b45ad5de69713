"""Composition root of webhooks: the only place that wires anything. The database, the rules (read here, handed to
the use cases), the clock, the HTTP sender and resolver, the practices' destination policies, the consumer of
every topic, the delivery worker, the HTTP app; and the one mapping of domain refusals to problem+json.

Why a service of its own (docs/decisions.md, 2026-12-02): it consumes every topic and calls out to hosts we do not
control; a receiver that hangs or a backlog of three days of retries must cost the money path (claims, remittance,
patient billing) nothing: no shared connection pool, no shared event loop, no shared database."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from fastapi import FastAPI
from rcm_shared.clock import Clock, SystemClock
from rcm_shared.contracts import topics
from rcm_shared.contracts.registry import REGISTRY
from rcm_shared.db.database import Database
from rcm_shared.messaging import EventConsumer
from rcm_shared.rules import RulesError, RulesFile, load_rules
from rcm_shared.service import ServiceRuntime, create_service_app
from rcm_shared.unit_of_work import TableOutbox, UnitOfWorkFactory
from sqlalchemy.ext.asyncio import AsyncSession

from webhooks.adapters.orm import metadata, platform
from webhooks.adapters.sender import DnsResolver, HttpSender, Resolver, Sender
from webhooks.config import WebhooksSettings
from webhooks.domain.destinations import DestinationPolicy
from webhooks.domain.exceptions import (
    EndpointDeleted,
    EndpointNotFound,
    EventNotFound,
    ForbiddenDestination,
    InvalidDestination,
    PhiNotAllowed,
    UnknownEventType,
    WebhookRefusal,
)
from webhooks.domain.redaction import PayloadFields
from webhooks.domain.rulebook import Rulebook
from webhooks.domain.schedule import DeliveryRules
from webhooks.entrypoints.api import router
from webhooks.entrypoints.dependencies import WebhooksServices
from webhooks.entrypoints.worker import DeliveryWorker
from webhooks.service_layer.handlers import message_handler
from webhooks.service_layer.unit_of_work import UnitsOfWork, WebhooksUnitOfWork, no_announcements

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
RULES = "webhooks.domain"
SOURCE = "webhooks"

#: Every refusal of the domain as problem+json, once (subclasses before their base).
DOMAIN_ERRORS: Mapping[type[Exception], tuple[int, str]] = {
    InvalidDestination: (422, "invalid-destination"),
    ForbiddenDestination: (422, "forbidden-destination"),
    UnknownEventType: (422, "unknown-event-type"),
    PhiNotAllowed: (422, "phi-not-allowed"),
    WebhookRefusal: (422, "validation"),
    EndpointNotFound: (404, "not-found"),
    EventNotFound: (404, "not-found"),
    EndpointDeleted: (409, "endpoint-deleted"),
}

T = TypeVar("T")


def _typed(rules: RulesFile, parse: Callable[[Mapping[str, Any], str], T]) -> T:
    try:
        return parse(rules.data, rules.version)
    except RulesError:
        raise
    except (ValueError, TypeError) as exc:
        raise RulesError(rules.name, "document", str(exc)) from None


def load_rulebook(rules_dir: str | None = None) -> Rulebook:
    files = {name: load_rules(RULES, name, override_dir=rules_dir)
             for name in ("delivery.yaml", "payload_fields.yaml")}
    return Rulebook(delivery=_typed(files["delivery.yaml"], DeliveryRules.from_dict),
                    payload_fields=_typed(files["payload_fields.yaml"], PayloadFields.from_dict),
                    versions={name: f.version for name, f in files.items()})


def destination_policies(settings: WebhooksSettings) -> Callable[[str], DestinationPolicy]:
    """The practice's configuration of destinations (operator-kept settings; "*" applies to every practice)."""
    every = settings.allowed_destination_networks.get("*", [])

    def policy_for(practice_id: str) -> DestinationPolicy:
        networks = [*every, *settings.allowed_destination_networks.get(practice_id, [])]
        plain = "*" in settings.plain_http_practices or practice_id in settings.plain_http_practices
        return DestinationPolicy.of(networks, allow_plain_http=plain)

    return policy_for


def build_services(settings: WebhooksSettings, clock: Clock, resolver: Resolver | None = None) -> WebhooksServices:
    db = Database(settings, metadata, platform)
    outbox = TableOutbox(db, SOURCE)

    def unit_of_work(db: Database | None, *, session: AsyncSession | None = None, causation: Any = None
                     ) -> WebhooksUnitOfWork:
        return WebhooksUnitOfWork(db, no_announcements, outbox, session=session, causation=causation)

    uows: UnitsOfWork = UnitOfWorkFactory(unit_of_work, db)
    event_types = tuple(sorted({event_type for event_type, _version in REGISTRY}))
    return WebhooksServices(settings, db, clock, load_rulebook(settings.rules_dir), uows,
                            resolver or DnsResolver(), destination_policies(settings), event_types)


class WebhooksRuntime(ServiceRuntime):
    """The kernel runtime plus the delivery worker's attempts in flight, cancelled (leases left to expire) on
    stop."""

    def __init__(self, *args: Any, worker: DeliveryWorker, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.worker = worker

    async def stop(self) -> None:
        await self.worker.stop()
        await super().stop()


def build_worker(services: WebhooksServices, sender: Sender | None = None) -> DeliveryWorker:
    settings = services.settings
    sender = sender or HttpSender(timeout_seconds=settings.delivery_timeout_seconds,
                                  connect_timeout_seconds=settings.delivery_connect_timeout_seconds,
                                  user_agent="rcm-webhooks/1.0", verify=settings.delivery_verify_tls)
    return DeliveryWorker(settings, services.uows, services.rules, services.clock, sender, services.resolver,
                          services.policy_for)


def build_runtime(services: WebhooksServices, sender: Sender | None = None) -> WebhooksRuntime:
    settings, db = services.settings, services.db
    worker = build_worker(services, sender)
    consumers = [
        # every topic: each event kept and queued for the endpoints whose filters match (one group of its own:
        # its lag and failures are nobody else's)
        EventConsumer(settings, db.sessions, platform, name="deliveries", topics=list(topics.ALL_TOPICS),
                      batch_handler=message_handler(services.uows, services.clock)),
    ]
    return WebhooksRuntime(settings, db, MIGRATIONS, consumers=consumers, worker=worker,
                           periodic=[("deliveries", settings.delivery_poll_seconds, worker.tick)])


def build_app(settings: WebhooksSettings | None = None, clock: Clock | None = None, resolver: Resolver | None = None,
              sender: Sender | None = None) -> FastAPI:
    settings = settings or WebhooksSettings()
    clock = clock or SystemClock(settings.practice_time_zone)
    services = build_services(settings, clock, resolver)
    runtime = build_runtime(services, sender)
    app = create_service_app(
        settings, runtime, title="Webhooks",
        description="Signed deliveries (Standard Webhooks) of the platform's events, as CloudEvents, to the "
                    "practices' integrations: endpoints with event-type filters, secret rotation, retries with "
                    "backoff over about three days, order per subject, a delivery log, replays and test events.",
        routers=[router], domain_errors=DOMAIN_ERRORS, clock=clock)
    app.state.services = services
    app.state.worker = runtime.worker
    return app
