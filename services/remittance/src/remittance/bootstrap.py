"""Composition root of remittance."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from rcm_shared.config import ServiceSettings
from rcm_shared.contracts import ClaimSubmittedV1, EraReceivedV1, topics
from rcm_shared.db.database import Database
from rcm_shared.messaging import EventConsumer, event_dispatcher
from rcm_shared.service import ServiceRuntime, create_service_app

from remittance.adapters.era_mailbox import EraMailbox
from remittance.adapters.orm import metadata, platform
from remittance.config import RemittanceSettings
from remittance.entrypoints.api import router
from remittance.service_layer import handlers

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build_runtime(settings: ServiceSettings) -> ServiceRuntime:
    db = Database(settings, metadata, platform)
    # Two groups: claim copies must never wait behind a large ERA being posted.
    claims_copy = EventConsumer(settings, db.sessions, platform, name="submitted-claims",
                                topics=[topics.CLAIM_SUBMITTED],
                                handler=event_dispatcher({ClaimSubmittedV1: handlers.remember_submitted_claim}))
    posting = EventConsumer(settings, db.sessions, platform, name="era-posting", topics=[topics.ERA_RECEIVED],
                            handler=event_dispatcher({EraReceivedV1: handlers.post_era}))
    periodic = []
    pickup_dir = getattr(settings, "era_pickup_dir", None)
    if pickup_dir is not None:
        mailbox = EraMailbox(pickup_dir)

        async def pick_up() -> None:
            await handlers.pick_up_eras(db, mailbox)

        periodic.append(("era-pickup", float(getattr(settings, "era_pickup_seconds", 5.0)), pick_up))
    return ServiceRuntime(settings, db, MIGRATIONS, consumers=[claims_copy, posting], periodic=periodic)


def build_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings if isinstance(settings, RemittanceSettings) else RemittanceSettings(
        **(settings.model_dump() if settings else {}))
    return create_service_app(
        settings, build_runtime(settings), title="Remittance",
        description="835 ERAs: intake, streaming parse, balancing, exactly-once double-entry posting, "
                    "denial classification and routing, reports.",
        routers=[router])
