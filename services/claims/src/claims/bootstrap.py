"""Composition root of claims: database, clearinghouse, consumers (the scrubber's projection, payments) and jobs."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from prometheus_client import Gauge
from rcm_shared.clock import Clock, SystemClock
from rcm_shared.config import ServiceSettings
from rcm_shared.contracts import ClaimPaymentPostedV1, ClaimPaymentPostedV2, topics
from rcm_shared.db.database import Database
from rcm_shared.messaging import EventConsumer, batch_dispatcher, event_dispatcher
from rcm_shared.service import ServiceRuntime, create_service_app

from claims.adapters.clearinghouse import (
    Clearinghouse,
    HttpsClearinghouse,
    SandboxClearinghouse,
    SftpClearinghouse,
)
from claims.adapters.orm import metadata, platform
from claims.config import ClaimsSettings
from claims.domain.exceptions import IllegalClaimTransition, InvalidClaim, RulesetNotFound
from claims.entrypoints.api import router
from claims.service_layer import handlers, views

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


AWAITING = Gauge("rcm_claims_awaiting_facts", "Claims waiting for another service's facts (awaiting_facts)")
AWAITING_OLDEST = Gauge("rcm_claims_awaiting_facts_oldest_seconds",
                        "How long the claim waiting longest for its facts has waited (0: none waits)")
FACT_AGE = Gauge("rcm_claims_projection_newest_fact_age_seconds",
                 "Age of the newest fact of each kind in claims' scrubber projection (-1: none yet)", ["kind"])


def build_runtime(settings: ClaimsSettings, clearinghouse: Clearinghouse, clock: Clock) -> ServiceRuntime:
    db = Database(settings, metadata, platform)
    # The scrubber's projection: authorizations' determinations and eligibility's checks, a poll at a time, in one
    # consumer group (so one process never scrubs a claim while another does).
    facts = EventConsumer(settings, db.sessions, platform, name="claim-facts",
                          topics=[topics.VISIT_AUTHORIZATION_DETERMINED, topics.ELIGIBILITY_CHECKED],
                          batch_handler=batch_dispatcher(handlers.message_map(handlers.rulebook(), clock)))
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

    async def awaiting_metrics() -> None:
        now = clock.now()
        async with db.sessions() as session:
            count, oldest = await views.awaiting_gauge(session)
            freshness = await views.projection_freshness(session)
        AWAITING.set(count)
        AWAITING_OLDEST.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0)
        for kind, at in freshness.items():
            FACT_AGE.labels(kind).set(max(0.0, (now - at).total_seconds()) if at else -1)

    return ServiceRuntime(settings, db, MIGRATIONS, consumers=[facts, outcomes], periodic=[
        ("claims-awaiting-facts-metrics", settings.awaiting_metrics_seconds, awaiting_metrics),
        ("submit-claims", settings.submission_interval_seconds, submit),
        ("collect-acknowledgments", settings.response_poll_seconds, acknowledgments),
        ("claim-status-inquiries", settings.status_inquiry_poll_seconds, status_inquiries)])


async def migrate(settings: ServiceSettings) -> None:
    claims_settings = ClaimsSettings(**settings.model_dump())
    runtime = build_runtime(claims_settings, build_clearinghouse(claims_settings),
                            SystemClock(claims_settings.practice_time_zone))
    await runtime.migrate()
    await runtime.db.dispose()


def build_app(settings: ServiceSettings | None = None, clearinghouse: Clearinghouse | None = None,
              clock: Clock | None = None) -> FastAPI:
    claims_settings = settings if isinstance(settings, ClaimsSettings) else ClaimsSettings(
        **(settings.model_dump() if settings else {}))
    clearinghouse = clearinghouse or build_clearinghouse(claims_settings)
    clock = clock or SystemClock(claims_settings.practice_time_zone)
    app = create_service_app(
        claims_settings, build_runtime(claims_settings, clearinghouse, clock), title="Claims",
        description="Charge capture and coding, clean-claim edits, 837P batches through the clearinghouse, "
                    "the claim's life cycle and work queues.",
        routers=[router],
        domain_errors={IllegalClaimTransition: (409, "illegal-transition"), InvalidClaim: (422, "invalid-claim"),
                       RulesetNotFound: (422, "no-rules-for-date")},
        clock=clock)
    app.state.clearinghouse = clearinghouse
    app.state.submission = handlers.SubmissionSettings(claims_settings.submitter_id, claims_settings.receiver_id,
                                                       claims_settings.usage_indicator,
                                                       claims_settings.max_claims_per_file)
    return app
