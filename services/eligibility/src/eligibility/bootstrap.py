"""Composition root of eligibility."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from fastapi import FastAPI
from rcm_shared.config import ServiceSettings
from rcm_shared.contracts import DenialRaisedV1, VisitCompletedV1, topics
from rcm_shared.db.database import Database
from rcm_shared.messaging import EventConsumer, event_dispatcher
from rcm_shared.service import ServiceRuntime, create_service_app

from eligibility.adapters.caqh_core import CaqhCoreGateway
from eligibility.adapters.orm import metadata, platform
from eligibility.adapters.payer_gateway import PayerGateway, SandboxPayerGateway
from eligibility.config import EligibilitySettings
from eligibility.entrypoints.api import router
from eligibility.service_layer import handlers

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build_runtime(settings: ServiceSettings) -> ServiceRuntime:
    db = Database(settings, metadata, platform)
    alert_at = getattr(settings, "session_limit_alert_at_remaining", 3)
    consumer = EventConsumer(
        settings, db.sessions, platform, name="session-limits", topics=[topics.VISIT_COMPLETED],
        handler=event_dispatcher({
            VisitCompletedV1: partial(handlers.record_completed_visit, alert_at_remaining=alert_at)}))
    denials = EventConsumer(settings, db.sessions, platform, name="eligibility-denials", topics=[topics.DENIAL_RAISED],
                            handler=event_dispatcher({DenialRaisedV1: handlers.note_eligibility_denial}))
    return ServiceRuntime(settings, db, MIGRATIONS, consumers=[consumer, denials])


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


def build_app(settings: ServiceSettings | None = None, gateway: PayerGateway | None = None) -> FastAPI:
    settings = settings or EligibilitySettings()
    app = create_service_app(
        settings, build_runtime(settings), title="Eligibility and benefits",
        description="Coverage checks (X12 270/271) through a payer gateway, stored benefits snapshots, "
                    "session-limit tracking.",
        routers=[router])
    app.state.payer_gateway = gateway or build_gateway(settings)
    return app
