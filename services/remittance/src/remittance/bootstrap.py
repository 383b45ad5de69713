"""Composition root of remittance."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI
from rcm_shared.clearinghouse import ClearinghouseMailbox, HttpsMailbox, SftpMailbox
from rcm_shared.clock import Clock
from rcm_shared.config import ServiceSettings
from rcm_shared.contracts import ClaimSubmittedV1, EraReceivedV1, topics
from rcm_shared.db.database import Database
from rcm_shared.messaging import EventConsumer, event_dispatcher
from rcm_shared.service import ServiceRuntime, create_service_app

from remittance.adapters.era_mailbox import ClearinghouseEraPickup, EraMailbox, EraSource
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
    periodic: list[tuple[str, float, Callable[[], Awaitable[None]]]] = []
    every = float(getattr(settings, "era_pickup_seconds", 5.0))
    for name, source in era_sources(settings):

        async def pick_up(source: EraSource = source) -> None:
            await handlers.pick_up_eras(db, source)

        periodic.append((name, every, pick_up))

    async def rematch_unapplied() -> None:
        async with db.transaction() as session:
            await handlers.apply_waiting_payments(session)

    periodic.append(("unapplied-rematch", float(getattr(settings, "unapplied_rematch_seconds", 60.0)),
                     rematch_unapplied))
    return ServiceRuntime(settings, db, MIGRATIONS, consumers=[claims_copy, posting], periodic=periodic)


def era_sources(settings: ServiceSettings) -> list[tuple[str, EraSource]]:
    """The mailboxes ERAs are picked up from: the folder (sandbox, bulk drops) and a clearinghouse's."""
    sources: list[tuple[str, EraSource]] = []
    if not isinstance(settings, RemittanceSettings):
        return sources
    if settings.era_pickup_dir is not None:
        sources.append(("era-pickup", EraMailbox(settings.era_pickup_dir)))
    if settings.era_clearinghouse is not None:
        if not settings.era_clearinghouse_practice_id:
            raise ValueError("RCM_ERA_CLEARINGHOUSE_PRACTICE_ID is required with RCM_ERA_CLEARINGHOUSE")
        mailbox: ClearinghouseMailbox
        if settings.era_clearinghouse == "sftp":
            mailbox = SftpMailbox(
                settings.era_clearinghouse_sftp_host or "localhost", settings.era_clearinghouse_sftp_port,
                settings.era_clearinghouse_sftp_username or "", password=settings.era_clearinghouse_sftp_password,
                known_hosts=settings.era_clearinghouse_sftp_known_hosts or (),
                pickup_dir=settings.era_clearinghouse_pickup_dir)
        else:
            mailbox = HttpsMailbox(settings.era_clearinghouse_url or "", settings.era_clearinghouse_api_key or "",
                                   verify=settings.era_clearinghouse_ca_file or True)
        sources.append((f"era-pickup-{settings.era_clearinghouse}",
                        ClearinghouseEraPickup(mailbox, settings.era_clearinghouse_practice_id)))
    return sources


def build_app(settings: ServiceSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings if isinstance(settings, RemittanceSettings) else RemittanceSettings(
        **(settings.model_dump() if settings else {}))
    return create_service_app(
        settings, build_runtime(settings), title="Remittance",
        description="835 ERAs: intake, streaming parse, balancing, exactly-once double-entry posting, "
                    "denial classification and routing, reports.",
        routers=[router], clock=clock)
