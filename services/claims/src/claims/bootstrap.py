"""Composition root of claims, the only wiring point: settings, the database, the rules files, the clock, the
clearinghouse, the message map and its consumers (the scrubber's projection, payments), the periodic jobs, the
FastAPI app. Tests call the same functions with their own clock, clearinghouse or rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from prometheus_client import Gauge
from rcm_shared.clock import Clock, SystemClock
from rcm_shared.config import ServiceSettings
from rcm_shared.contracts import topics
from rcm_shared.db.database import Database
from rcm_shared.http.group_commit import GroupCommit
from rcm_shared.messaging import EventConsumer, batch_dispatcher, event_dispatcher
from rcm_shared.rules import load_rules
from rcm_shared.service import ServiceRuntime, create_service_app
from rcm_shared.work_items.api import work_items_router
from sqlalchemy.ext.asyncio import AsyncSession

from claims.adapters.clearinghouse import (
    Clearinghouse,
    HttpsClearinghouse,
    SandboxClearinghouse,
    SftpClearinghouse,
)
from claims.adapters.orm import metadata, platform, work_item_tables
from claims.adapters.remittance_copies import HttpRemittanceCopies, RemittanceCopies
from claims.config import ClaimsSettings
from claims.domain.batch import IllegalBatchTransition
from claims.domain.commands import RecordVisit
from claims.domain.exceptions import (
    ClaimNotFound,
    ClaimsDomainError,
    ClaimUnreadable,
    IllegalClaimTransition,
    InvalidClaim,
    NoSuchLine,
    RulesetNotFound,
    VisitAlreadyRecorded,
)
from claims.domain.rulebook import Rulebook
from claims.entrypoints.api import router
from claims.entrypoints.dependencies import ClaimsServices
from claims.entrypoints.fhir import routers as fhir_routers
from claims.service_layer import handlers, reconciliation, responses, submission, views, visits, work_queues
from claims.service_layer.unit_of_work import units_of_work

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

# Every domain refusal, as the problem+json a client gets (a subclass takes its base's status).
DOMAIN_ERRORS: dict[type[Exception], tuple[int, str]] = {
    ClaimNotFound: (404, "not-found"),
    ClaimUnreadable: (409, "claim-unreadable"),
    VisitAlreadyRecorded: (409, "visit-exists"),
    IllegalClaimTransition: (409, "illegal-transition"),
    IllegalBatchTransition: (409, "illegal-transition"),
    NoSuchLine: (422, "validation"),
    InvalidClaim: (422, "invalid-claim"),
    RulesetNotFound: (422, "no-rules-for-date"),
}

AWAITING = Gauge("rcm_claims_awaiting_facts", "Claims waiting for another service's facts (awaiting_facts)")
AWAITING_OLDEST = Gauge("rcm_claims_awaiting_facts_oldest_seconds",
                        "How long the claim waiting longest for its facts has waited (0: none waits)")
FACT_AGE = Gauge("rcm_claims_projection_newest_fact_age_seconds",
                 "Age of the newest fact of each kind in claims' scrubber projection (-1: none yet)", ["kind"])


def load_rulebook(override_dir: Path | str | None = None) -> Rulebook:
    """The coding rulesets, payer terms and fee schedules (``domain/rules``, each with its ``version`` and
    ``decides``; a deployment's copy of a file in ``RCM_RULES_DIR`` replaces the packaged one), checked now: a bad
    file stops the start."""
    files = [load_rules("claims.domain", name, override_dir=override_dir).data
             for name in ("coding.yaml", "payers.yaml", "fees.yaml")]
    return Rulebook.from_documents(*files)


def build_clearinghouse(settings: ClaimsSettings) -> Clearinghouse:
    if settings.clearinghouse == "sftp":
        return SftpClearinghouse(settings.clearinghouse_sftp_host or "localhost", settings.clearinghouse_sftp_port,
                                 settings.clearinghouse_sftp_username or "",
                                 password=settings.clearinghouse_sftp_password,
                                 known_hosts=settings.clearinghouse_sftp_known_hosts or ())
    if settings.clearinghouse == "https":
        return HttpsClearinghouse(settings.clearinghouse_url or "", settings.clearinghouse_api_key or "")
    return SandboxClearinghouse(settings.clearinghouse_dir)


def build_services(settings: ClaimsSettings, *, clearinghouse: Clearinghouse | None = None,
                   clock: Clock | None = None, rules: Rulebook | None = None) -> ClaimsServices:
    db = Database(settings, metadata, platform)
    uows = units_of_work(db)
    clock = clock or SystemClock(settings.practice_time_zone)
    rulebook = rules or load_rulebook()

    async def record_visits(session: AsyncSession, commands: Sequence[RecordVisit]
                            ) -> list[visits.RecordedVisit | ClaimsDomainError]:
        async with uows.joining(session) as uow:
            return await visits.record_visits(uow, commands, rulebook, today=clock.today(), now=clock.now())

    return ClaimsServices(
        settings=settings, db=db, uows=uows, clock=clock, rules=rulebook,
        intake=GroupCommit(db, record_visits, max_batch=settings.intake_max_batch, writers=settings.intake_writers),
        clearinghouse=clearinghouse or build_clearinghouse(settings),
        submission=submission.SubmissionSettings(settings.submitter_id, settings.receiver_id,
                                                 settings.usage_indicator, settings.max_claims_per_file),
        inquiries=responses.StatusInquiryPolicy(settings.status_inquiry_after_days,
                                                settings.status_inquiry_every_days))


def build_runtime(services: ClaimsServices, copies: RemittanceCopies | None = None) -> ServiceRuntime:
    settings, db, clock, rules, clearinghouse = (services.settings, services.db, services.clock, services.rules,
                                                 services.clearinghouse)
    remittance = copies or HttpRemittanceCopies(settings)
    # The scrubber's projection: authorizations' determinations and eligibility's checks, a poll at a time, in one
    # consumer group (the claims a poll completes are scrubbed in its transaction).
    facts = EventConsumer(settings, db.sessions, platform, name="claim-facts",
                          topics=[topics.VISIT_AUTHORIZATION_DETERMINED, topics.ELIGIBILITY_CHECKED],
                          batch_handler=batch_dispatcher(handlers.scrub_facts_map(services.uows, rules, clock)))
    outcomes = EventConsumer(settings, db.sessions, platform, name="claim-outcomes",
                             topics=[topics.CLAIM_PAYMENT_POSTED],
                             handler=event_dispatcher(handlers.outcomes_map(services.uows)))

    async def submit() -> None:
        await submission.batch_ready_claims(db, services.submission, rules, clock=clock)
        await submission.send_queued_batches(db, clearinghouse)

    async def acknowledgments() -> None:
        await responses.collect_acknowledgments(db, clearinghouse)

    async def status_inquiries() -> None:
        await responses.inquire_claim_status(db, clearinghouse, services.submission, services.inquiries, clock=clock)

    async def awaiting_metrics() -> None:
        now = clock.now()
        async with db.sessions() as session:
            count, oldest = await views.awaiting_gauge(session)
            freshness = await views.projection_freshness(session)
        AWAITING.set(count)
        AWAITING_OLDEST.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0)
        for kind, at in freshness.items():
            FACT_AGE.labels(kind).set(max(0.0, (now - at).total_seconds()) if at else -1)

    async def reconcile() -> None:
        await reconciliation.reconcile(db, remittance, now=clock.now(),
                                       after=timedelta(seconds=settings.reconciliation_after_seconds),
                                       lookback=timedelta(days=settings.reconciliation_lookback_days))

    return ServiceRuntime(settings, db, MIGRATIONS, consumers=[facts, outcomes], periodic=[
        ("reconciliation", settings.reconciliation_poll_seconds, reconcile),
        ("claims-awaiting-facts-metrics", settings.awaiting_metrics_seconds, awaiting_metrics),
        ("submit-claims", settings.submission_interval_seconds, submit),
        ("collect-acknowledgments", settings.response_poll_seconds, acknowledgments),
        ("claim-status-inquiries", settings.status_inquiry_poll_seconds, status_inquiries),
        ("reconciliation", settings.reconciliation_poll_seconds, reconcile)])


async def migrate(settings: ServiceSettings) -> None:
    """The database alone (``rcm-claims migrate``): no consumers, no jobs, nothing sent."""
    runtime = ServiceRuntime(settings, Database(settings, metadata, platform), MIGRATIONS)
    await runtime.migrate()
    await runtime.db.dispose()


def build_app(settings: ServiceSettings | None = None, clearinghouse: Clearinghouse | None = None,
              clock: Clock | None = None, rules: Rulebook | None = None,
              copies: RemittanceCopies | None = None) -> FastAPI:
    claims_settings = settings if isinstance(settings, ClaimsSettings) else ClaimsSettings(
        **(settings.model_dump() if settings else {}))
    services = build_services(claims_settings, clearinghouse=clearinghouse, clock=clock, rules=rules)
    app = create_service_app(
        claims_settings, build_runtime(services, copies), title="Claims",
        description="Charge capture and coding, clean-claim edits from claims' own copy of other services' facts, "
                    "837P batches through the clearinghouse, the claim's life cycle and work queues.",
        routers=[router, work_items_router(
            service="claims", tables=work_item_tables, queues=work_queues.queues(services.rules, services.clock),
            read_scope="claims:read", write_scope="claims:write", unit_of_work=services.uows), *fhir_routers],
        domain_errors=DOMAIN_ERRORS, clock=services.clock)
    app.state.services = services
    app.state.clearinghouse = services.clearinghouse
    app.state.submission = services.submission
    return app
