"""Composition root of claims: database, clearinghouse, front-office client, consumers and jobs."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from pathlib import Path

from fastapi import FastAPI
from rcm_shared.clock import Clock, SystemClock
from rcm_shared.config import ServiceSettings
from rcm_shared.contracts import ClaimPaymentPostedV1, ClaimPaymentPostedV2, VisitCompletedV1, topics
from rcm_shared.db.database import Database
from rcm_shared.messaging import EventConsumer, event_dispatcher
from rcm_shared.service import ServiceRuntime, create_service_app

from claims.adapters.clearinghouse import (
    Clearinghouse,
    HttpsClearinghouse,
    SandboxClearinghouse,
    SftpClearinghouse,
)
from claims.adapters.front_office import FrontOffice, HttpFrontOffice
from claims.adapters.orm import metadata, platform
from claims.adapters.remittance_copies import HttpRemittanceCopies, RemittanceCopies
from claims.config import ClaimsSettings
from claims.domain.exceptions import IllegalClaimTransition, InvalidClaim, RulesetNotFound
from claims.entrypoints.api import router
from claims.service_layer import handlers, reconciliation

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build_clearinghouse(settings: ClaimsSettings) -> Clearinghouse:
    if settings.clearinghouse == "sftp":
        return SftpClearinghouse(settings.clearinghouse_sftp_host or "localhost", settings.clearinghouse_sftp_port,
                                 settings.clearinghouse_sftp_username or "",
                                 password=settings.clearinghouse_sftp_password,
                                 known_hosts=settings.clearinghouse_sftp_known_hosts or ())
    if settings.clearinghouse == "https":
        return HttpsClearinghouse(settings.clearinghouse_url or "", settings.clearinghouse_api_key or "")
    return SandboxClearinghouse(settings.clearinghouse_dir)


def build_runtime(settings: ClaimsSettings, clearinghouse: Clearinghouse, front: FrontOffice,
                  clock: Clock, copies: RemittanceCopies | None = None) -> ServiceRuntime:
    db = Database(settings, metadata, platform)
    builder = EventConsumer(settings, db.sessions, platform, name="claim-builder", topics=[topics.VISIT_COMPLETED],
                            handler=event_dispatcher({
                                VisitCompletedV1: partial(handlers.build_claim_for_visit, front=front,
                                                          clock=clock)}))
    outcomes = EventConsumer(settings, db.sessions, platform, name="claim-outcomes",
                             topics=[topics.CLAIM_PAYMENT_POSTED],
                             handler=event_dispatcher({ClaimPaymentPostedV1: handlers.record_payment,
                                                       ClaimPaymentPostedV2: handlers.record_payment}))
    submission = handlers.SubmissionSettings(settings.submitter_id, settings.receiver_id, settings.usage_indicator,
                                             settings.max_claims_per_file)

    async def submit() -> None:
        await handlers.batch_ready_claims(db, submission, clock=clock)
        await handlers.send_queued_batches(db, clearinghouse)

    async def acknowledgments() -> None:
        await handlers.collect_acknowledgments(db, clearinghouse)

    inquiry_policy = handlers.StatusInquiryPolicy(settings.status_inquiry_after_days,
                                                  settings.status_inquiry_every_days)

    async def status_inquiries() -> None:
        await handlers.inquire_claim_status(db, clearinghouse, submission, inquiry_policy, clock=clock)

    remittance = copies or HttpRemittanceCopies(settings)

    async def reconcile() -> None:
        await reconciliation.reconcile(db, remittance, now=clock.now(),
                                       after=timedelta(seconds=settings.reconciliation_after_seconds),
                                       lookback=timedelta(days=settings.reconciliation_lookback_days))

    return ServiceRuntime(settings, db, MIGRATIONS, consumers=[builder, outcomes], periodic=[
        ("submit-claims", settings.submission_interval_seconds, submit),
        ("collect-acknowledgments", settings.response_poll_seconds, acknowledgments),
        ("claim-status-inquiries", settings.status_inquiry_poll_seconds, status_inquiries),
        ("reconciliation", settings.reconciliation_poll_seconds, reconcile)])


async def migrate(settings: ServiceSettings) -> None:
    claims_settings = ClaimsSettings(**settings.model_dump())
    runtime = build_runtime(claims_settings, build_clearinghouse(claims_settings), HttpFrontOffice(claims_settings),
                            SystemClock(claims_settings.practice_time_zone))
    await runtime.migrate()
    await runtime.db.dispose()


def build_app(settings: ServiceSettings | None = None, clearinghouse: Clearinghouse | None = None,
              front: FrontOffice | None = None, clock: Clock | None = None,
              copies: RemittanceCopies | None = None) -> FastAPI:
    claims_settings = settings if isinstance(settings, ClaimsSettings) else ClaimsSettings(
        **(settings.model_dump() if settings else {}))
    clearinghouse = clearinghouse or build_clearinghouse(claims_settings)
    front = front or HttpFrontOffice(claims_settings)
    clock = clock or SystemClock(claims_settings.practice_time_zone)
    app = create_service_app(
        claims_settings, build_runtime(claims_settings, clearinghouse, front, clock, copies), title="Claims",
        description="Charge capture and coding, clean-claim edits, 837P batches through the clearinghouse, "
                    "the claim's life cycle and work queues.",
        routers=[router],
        domain_errors={IllegalClaimTransition: (409, "illegal-transition"), InvalidClaim: (422, "invalid-claim"),
                       RulesetNotFound: (422, "no-rules-for-date")},
        clock=clock)
    app.state.clearinghouse = clearinghouse
    app.state.front_office = front
    app.state.submission = handlers.SubmissionSettings(claims_settings.submitter_id, claims_settings.receiver_id,
                                                       claims_settings.usage_indicator,
                                                       claims_settings.max_claims_per_file)
    return app
