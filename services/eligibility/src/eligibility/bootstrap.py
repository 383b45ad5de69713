"""Composition root of eligibility, the only wiring point: settings, the database, the rules files, the clock, the
payer gateway, units of work, the message map and its consumers, the periodic jobs, the FastAPI app. Tests call
the same functions with their own clock, gateway or rules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from rcm_shared.clock import Clock, SystemClock
from rcm_shared.contracts import topics
from rcm_shared.db.database import Database
from rcm_shared.fhir.api import install_fhir_errors
from rcm_shared.messaging import EventConsumer, batch_dispatcher
from rcm_shared.rules import load_rules
from rcm_shared.service import ServiceRuntime, create_service_app
from rcm_shared.work_items.api import work_items_router
from rcm_shared.x12.envelope import InterchangeParties

from eligibility.adapters.caqh_core import CaqhCoreGateway
from eligibility.adapters.orm import metadata, platform, queue_item_tables
from eligibility.adapters.payer_gateway import BatchPayerGateway, PayerGateway
from eligibility.config import EligibilitySettings
from eligibility.domain.exceptions import (
    BatchModeUnsupported,
    IllegalMove,
    NotFound,
    PayerDidNotAnswer,
    ScheduleDateOutOfReach,
    UnsendableInquiry,
)
from eligibility.domain.freshness import FreshnessRules
from eligibility.domain.nightly_batch import NightlyBatchRules
from eligibility.domain.payer_limits import PayerLimitRules
from eligibility.domain.rulebook import EligibilityRules
from eligibility.domain.session_limits import SessionLimitRules
from eligibility.domain.telehealth import TelehealthPhrases
from eligibility.entrypoints.api import router
from eligibility.entrypoints.dependencies import EligibilityServices
from eligibility.entrypoints.fhir import capabilities
from eligibility.entrypoints.fhir import router as fhir_router
from eligibility.sandbox.gateway import SandboxPayerGateway
from eligibility.sandbox.payer import SandboxPlanTable
from eligibility.service_layer import nightly_runs, rechecks, work_queue
from eligibility.service_layer.coverage_checks import PayerLink
from eligibility.service_layer.handlers import message_map
from eligibility.service_layer.practice_day import check_time_zones
from eligibility.service_layer.unit_of_work import units_of_work

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

# Every domain refusal, as the problem+json a client gets (a subclass takes its base's status).
DOMAIN_ERRORS: dict[type[Exception], tuple[int, str]] = {
    NotFound: (404, "not-found"),
    PayerDidNotAnswer: (503, "payer-unavailable"),
    UnsendableInquiry: (422, "unsendable-request"),
    ScheduleDateOutOfReach: (422, "out-of-range"),
    BatchModeUnsupported: (409, "batch-unsupported"),
    IllegalMove: (409, "illegal-move"),
}


def load_rulebook(override_dir: Path | str | None = None) -> EligibilityRules:
    """Every rules file of ``domain/rules`` (or a deployment's override of it, ``RCM_RULES_DIR``), checked now: a
    bad file stops the start with its name and the field."""
    def rules(name: str) -> Any:
        return load_rules("eligibility.domain", name, override_dir=override_dir)

    nightly_batch = NightlyBatchRules.from_rules(rules("nightly_batch.yaml"))
    check_time_zones(nightly_batch)
    return EligibilityRules(
        freshness=FreshnessRules.from_rules(rules("freshness.yaml")),
        payer_limits=PayerLimitRules.from_rules(rules("payer_limits.yaml")),
        nightly_batch=nightly_batch,
        session_limits=SessionLimitRules.from_rules(rules("session_limits.yaml")),
        telehealth=TelehealthPhrases.from_rules(rules("telehealth_phrases.yaml")))


def sandbox_plan_table(override_dir: Path | str | None = None) -> SandboxPlanTable:
    return SandboxPlanTable.from_rules(load_rules("eligibility.sandbox", "sandbox_payer.yaml",
                                                  override_dir=override_dir))


def interchange_parties(settings: EligibilitySettings) -> InterchangeParties:
    return InterchangeParties(sender_id=settings.submitter_id, receiver_id=settings.receiver_id,
                              trace_originator="9RCMPLATFM")


def build_gateway(settings: EligibilitySettings) -> PayerGateway:
    if settings.payer_gateway == "sandbox":
        return SandboxPayerGateway(sandbox_plan_table())
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


def build_services(settings: EligibilitySettings, *, gateway: PayerGateway | None = None, clock: Clock | None = None,
                   rules: EligibilityRules | None = None) -> EligibilityServices:
    db = Database(settings, metadata, platform)
    return EligibilityServices(
        settings=settings, db=db, clock=clock or SystemClock(settings.practice_time_zone),
        rules=rules or load_rulebook(), uows=units_of_work(db),
        payer=PayerLink(gateway or build_gateway(settings), interchange_parties(settings)))


def build_runtime(services: EligibilityServices) -> ServiceRuntime:
    """The consumers (the message map, a poll at a time) and the periodic jobs. Every instant they decide with is
    ``clock.now()``; the practice's dates follow from it by the nightly batch rules."""
    settings, db, uows, clock, payer, rules = (services.settings, services.db, services.uows, services.clock,
                                               services.payer, services.rules)
    handler = batch_dispatcher(message_map(uows, rules, clock))
    consumers = [
        EventConsumer(settings, db.sessions, platform, name="session-limits", topics=[topics.VISIT_COMPLETED],
                      batch_handler=handler),
        EventConsumer(settings, db.sessions, platform, name="eligibility-denials", topics=[topics.DENIAL_RAISED],
                      batch_handler=handler),
    ]

    async def send_due_rechecks() -> None:
        await rechecks.send_due_rechecks(uows, payer, rules, now=clock.now())

    async def nightly_batch_tick() -> None:
        await nightly_runs.nightly_batch_tick(uows, payer, rules, now=clock.now())

    periodic: list[tuple[str, float, Callable[[], Awaitable[Any]]]] = [
        ("eligibility-rechecks", settings.recheck_poll_seconds, send_due_rechecks)]
    if isinstance(payer.gateway, BatchPayerGateway) and settings.nightly_batch_enabled:
        periodic.append(("nightly-eligibility-batch", settings.nightly_batch_poll_seconds, nightly_batch_tick))
    return ServiceRuntime(settings, db, MIGRATIONS, consumers=consumers, periodic=periodic)


def migration_runtime(settings: EligibilitySettings) -> ServiceRuntime:
    """The database alone (``rcm-eligibility migrate``): no consumers, no jobs, nothing sent to a payer."""
    return ServiceRuntime(settings, Database(settings, metadata, platform), MIGRATIONS)


def build_app(settings: EligibilitySettings | None = None, gateway: PayerGateway | None = None,
              clock: Clock | None = None, rules: EligibilityRules | None = None) -> FastAPI:
    settings = settings or EligibilitySettings()
    services = build_services(settings, gateway=gateway, clock=clock, rules=rules)
    app = create_service_app(
        settings, build_runtime(services), title="Eligibility and benefits",
        description="Coverage checks (X12 270/271) through a payer gateway, stored benefits snapshots, "
                    "session-limit tracking, the schedule, the nightly batch and automatic re-checks.",
        # the kernel's routes after eligibility's own: GET /v1/work-items keeps eligibility's shape (member, kind,
        # next action, run); one item, its actions and the queue counts are the kernel's (same ids)
        routers=[router, fhir_router, capabilities, work_items_router(
            service="eligibility", tables=queue_item_tables, queues=work_queue.QUEUES,
            read_scope="eligibility:read", write_scope="eligibility:write", unit_of_work=services.uows)],
        domain_errors=DOMAIN_ERRORS, clock=services.clock)
    install_fhir_errors(app)
    app.state.services = services
    return app
