"""Composition root of eligibility: database, payer gateway, consumers and periodic jobs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from rcm_shared.clock import Clock, SystemClock
from rcm_shared.config import ServiceSettings
from rcm_shared.contracts import DenialRaisedV1, VisitCompletedV1, VisitScheduledV1, topics
from rcm_shared.db.database import Database
from rcm_shared.messaging import EventConsumer, event_dispatcher
from rcm_shared.service import ServiceRuntime, create_service_app
from rcm_shared.x12.envelope import InterchangeParties

from eligibility.adapters.caqh_core import CaqhCoreGateway
from eligibility.adapters.orm import metadata, platform
from eligibility.adapters.payer_gateway import BatchPayerGateway, PayerGateway, SandboxPayerGateway
from eligibility.config import EligibilitySettings
from eligibility.entrypoints.api import router
from eligibility.service_layer import batch_runs, handlers, rechecks, schedule

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def interchange_parties(settings: ServiceSettings) -> InterchangeParties:
    return InterchangeParties(sender_id=getattr(settings, "submitter_id", "RCMPLATFORM"),
                              receiver_id=getattr(settings, "receiver_id", "CLEARINGHOUSE"),
                              trace_originator="9RCMPLATFM")


def build_runtime(settings: ServiceSettings, gateway: PayerGateway | None = None,
                  clock: Clock | None = None) -> ServiceRuntime:
    """Without a gateway (the migrate command) there are no jobs: nothing is sent to a payer. Every instant the
    consumers and jobs decide with is ``clock.now()`` (the practice's dates come from it by the nightly rules)."""
    clock = clock or SystemClock(settings.practice_time_zone)
    db = Database(settings, metadata, platform)
    alert_at = getattr(settings, "session_limit_alert_at_remaining", 3)
    consumer = EventConsumer(
        settings, db.sessions, platform, name="session-limits", topics=[topics.VISIT_COMPLETED],
        handler=event_dispatcher({
            VisitCompletedV1: partial(handlers.record_completed_visit, alert_at_remaining=alert_at)}))
    denials = EventConsumer(settings, db.sessions, platform, name="eligibility-denials", topics=[topics.DENIAL_RAISED],
                            handler=event_dispatcher({DenialRaisedV1: partial(rechecks.note_eligibility_denial,
                                                                              clock=clock)}))
    booked = EventConsumer(settings, db.sessions, platform, name="schedule", topics=[topics.VISIT_SCHEDULED],
                           handler=event_dispatcher({VisitScheduledV1: partial(schedule.record_scheduled_visit,
                                                                                clock=clock)}))
    periodic: list[tuple[str, float, Callable[[], Awaitable[Any]]]] = []
    if gateway is not None:
        parties = interchange_parties(settings)
        batch_gateway = gateway if isinstance(gateway, BatchPayerGateway) else None

        async def send_due_rechecks() -> None:
            assert gateway is not None
            await rechecks.send_due_rechecks(db, gateway, parties, now=clock.now())

        async def nightly_batch_tick() -> None:
            assert batch_gateway is not None
            await batch_runs.nightly_batch_tick(db, batch_gateway, parties, now=clock.now())

        periodic.append(("eligibility-rechecks", float(getattr(settings, "recheck_poll_seconds", 5.0)),
                         send_due_rechecks))
        if batch_gateway is not None and getattr(settings, "nightly_batch_enabled", True):
            periodic.append(("nightly-eligibility-batch", float(getattr(settings, "nightly_batch_poll_seconds", 60.0)),
                             nightly_batch_tick))
    return ServiceRuntime(settings, db, MIGRATIONS, consumers=[consumer, denials, booked], periodic=periodic)


def build_gateway(settings: ServiceSettings) -> PayerGateway:
    if not isinstance(settings, EligibilitySettings) or settings.payer_gateway == "sandbox":
        return SandboxPayerGateway()
    if settings.payer_gateway == "caqh-core":
        secret = settings.payer_gateway_password
        token = settings.payer_gateway_bearer_token
        return CaqhCoreGateway(
            settings.payer_gateway_url or "", sender_id=settings.payer_gateway_sender_id,
            receiver_id=settings.payer_gateway_receiver_id, username=settings.payer_gateway_username,
            password=secret.get_secret_value() if secret else None,
            bearer_token=token.get_secret_value() if token else None,
            timeout=settings.payer_gateway_timeout_seconds,
            verify=settings.payer_gateway_ca_bundle or settings.payer_gateway_verify_tls)
    raise ValueError(f"unknown payer_gateway {settings.payer_gateway!r} (sandbox | caqh-core)")


def build_app(settings: ServiceSettings | None = None, gateway: PayerGateway | None = None,
              clock: Clock | None = None) -> FastAPI:
    settings = settings or EligibilitySettings()
    gateway = gateway or build_gateway(settings)
    clock = clock or SystemClock(settings.practice_time_zone)
    app = create_service_app(
        settings, build_runtime(settings, gateway, clock), title="Eligibility and benefits",
        description="Coverage checks (X12 270/271) through a payer gateway, stored benefits snapshots, "
                    "session-limit tracking, the schedule, the nightly batch and automatic re-checks.",
        routers=[router], clock=clock)
    app.state.payer_gateway = gateway
    app.state.parties = interchange_parties(settings)
    return app
