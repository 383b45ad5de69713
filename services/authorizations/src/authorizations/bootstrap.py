"""Composition root of authorizations: the only place that wires anything. The database, the rules (read here,
handed to the use cases), the clock, the payers' utilization-review channels, the unit-of-work factory, the
consumers (the message map, a poll at a time), the HTTP app and its one typed dependency, the sandbox payer's app;
and the one mapping of domain refusals to problem+json."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from fastapi import FastAPI
from rcm_shared.clock import Clock, SystemClock
from rcm_shared.contracts import topics
from rcm_shared.db.database import Database
from rcm_shared.messaging import EventConsumer, batch_dispatcher
from rcm_shared.rules import RulesError, RulesFile, load_rules
from rcm_shared.service import ServiceRuntime, create_service_app
from rcm_shared.unit_of_work import TableOutbox, UnitOfWorkFactory
from rcm_shared.work_items.api import work_items_router
from rcm_shared.x12 import X12SyntaxError
from rcm_shared.x12.envelope import InterchangeParties
from rcm_shared.x12.writer import X12ValueError
from sqlalchemy.ext.asyncio import AsyncSession

from authorizations.adapters import event_mapper
from authorizations.adapters.orm import metadata, platform, work_item_tables
from authorizations.adapters.utilization_review import (
    PasFhirUtilizationReview,
    ReviewUnavailable,
    RoutedUtilizationReview,
    SandboxUtilizationReview,
    UtilizationReview,
    X12HttpsUtilizationReview,
)
from authorizations.config import AuthorizationsSettings
from authorizations.domain.cancellation import CancellationRules
from authorizations.domain.credentialing import supervision_policies
from authorizations.domain.determination import DeterminationRules
from authorizations.domain.exceptions import (
    InvalidRegistryEntry,
    NoReviewRoute,
    ReviewConflict,
    RulesNotInForce,
    UnknownTrace,
)
from authorizations.domain.kpi import CoverageKpiRules
from authorizations.domain.renewals import RenewalRules
from authorizations.domain.requirements import PayerAuthorizationRules
from authorizations.domain.review_routes import ReviewRoutes, Route
from authorizations.domain.rulebook import Rulebook
from authorizations.domain.unit_ledger import LedgerRules
from authorizations.edi.pas_resources import PasFormatError
from authorizations.entrypoints.api import router
from authorizations.entrypoints.dependencies import AuthorizationsServices
from authorizations.sandbox.payer_app import build_sandbox_payer_app
from authorizations.sandbox.reviewer import SandboxReviewer, SandboxRules
from authorizations.service_layer import work_items
from authorizations.service_layer.handlers import message_map
from authorizations.service_layer.unit_of_work import AuthorizationsUnitOfWork, UnitsOfWork

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
RULES = "authorizations.domain"

#: Every refusal of the domain (and of the payer channels) as problem+json, once.
DOMAIN_ERRORS: Mapping[type[Exception], tuple[int, str]] = {
    InvalidRegistryEntry: (422, "validation"),
    UnknownTrace: (404, "not-found"),
    ReviewConflict: (409, "review-decided"),
    NoReviewRoute: (422, "no-review-route"),
    RulesNotInForce: (422, "rules-not-in-force"),
    X12ValueError: (422, "unsendable-request"),  # names the segment and element, never the value
    X12SyntaxError: (422, "unreadable-response"),
    PasFormatError: (422, "unreadable-response"),
    ReviewUnavailable: (503, "payer-unavailable"),
}

T = TypeVar("T")


def _typed(rules: RulesFile, parse: Callable[[Mapping[str, Any]], T]) -> T:
    """A rules file as its domain object; a problem in it names the file."""
    try:
        return parse(rules.data)
    except RulesError:
        raise
    except ValueError as exc:
        raise RulesError(rules.name, "document", str(exc)) from None


def load_rulebook(rules_dir: str | None = None) -> Rulebook:
    """Every rules file of the service (a deployment's own copies in ``rules_dir`` first)."""
    files = {name: load_rules(RULES, name, override_dir=rules_dir) for name in (
        "prior_authorization_requirements.yaml", "cancellation.yaml", "supervision_policies.yaml", "renewal.yaml",
        "utilization_review.yaml", "coverage_kpi.yaml", "determinations.yaml")}
    return Rulebook(
        ledger=LedgerRules(_typed(files["prior_authorization_requirements.yaml"], PayerAuthorizationRules.from_dict),
                           _typed(files["cancellation.yaml"], CancellationRules.from_dict)),
        supervision_defaults=tuple(_typed(files["supervision_policies.yaml"], supervision_policies)),
        renewal=_typed(files["renewal.yaml"], RenewalRules.from_dict),
        review_routes=_typed(files["utilization_review.yaml"], ReviewRoutes.from_dict),
        coverage=_typed(files["coverage_kpi.yaml"], CoverageKpiRules.from_dict),
        determinations=_typed(files["determinations.yaml"], DeterminationRules.from_dict),
        versions={name: f.version for name, f in files.items()})


def load_sandbox_reviewer(rules_dir: str | None = None) -> SandboxReviewer:
    """The sandbox payer, answering from ``sandbox/rules/sandbox_reviewer.yaml``."""
    return SandboxReviewer(_typed(load_rules("authorizations.sandbox", "sandbox_reviewer.yaml", override_dir=rules_dir),
                                  SandboxRules.from_dict))


def build_utilization_review(settings: AuthorizationsSettings, routes: ReviewRoutes) -> RoutedUtilizationReview:
    """One connection per routed (channel, endpoint, payer): the sandbox in-process, the others over HTTPS."""
    parties = InterchangeParties(sender_id=settings.submitter_id, receiver_id="SBXUMO",
                                 trace_originator=settings.trace_originator)
    sandbox = SandboxUtilizationReview(load_sandbox_reviewer(settings.rules_dir), parties)
    verify: bool | str = settings.utilization_review_ca_bundle or settings.utilization_review_verify_tls

    def connect(route: Route) -> UtilizationReview:
        secret = settings.utilization_review_tokens.get(route.payer_id) or settings.utilization_review_tokens.get("*")
        token = secret.get_secret_value() if secret is not None else None
        timeout = settings.utilization_review_timeout_seconds
        if route.channel == "x12-278":
            partner = InterchangeParties(sender_id=settings.submitter_id,
                                         receiver_id=route.receiver_id or route.payer_id[:15],
                                         trace_originator=settings.trace_originator)
            return X12HttpsUtilizationReview(route.endpoint, partner, bearer_token=token, timeout=timeout,
                                             verify=verify)
        if route.channel == "pas-fhir":
            return PasFhirUtilizationReview(route.endpoint, originator=settings.trace_originator, bearer_token=token,
                                            timeout=timeout, verify=verify)
        return sandbox

    return RoutedUtilizationReview(routes, connect)


def build_services(settings: AuthorizationsSettings, clock: Clock,
                   utilization_review: UtilizationReview | None = None) -> AuthorizationsServices:
    db = Database(settings, metadata, platform)
    rules = load_rulebook(settings.rules_dir)
    outbox = TableOutbox(db, event_mapper.SOURCE)

    def unit_of_work(db: Database | None, *, session: AsyncSession | None = None, causation: Any = None
                     ) -> AuthorizationsUnitOfWork:
        return AuthorizationsUnitOfWork(db, event_mapper.announcements, outbox, session=session, causation=causation)

    uows: UnitsOfWork = UnitOfWorkFactory(unit_of_work, db)
    return AuthorizationsServices(settings, db, clock, rules, uows,
                                  utilization_review or build_utilization_review(settings, rules.review_routes))


def build_runtime(services: AuthorizationsServices) -> ServiceRuntime:
    settings, db = services.settings, services.db
    handler = batch_dispatcher(message_map(services.uows, services.rules, services.clock))
    consumers = [
        # visit-completed: units consumed, returned, moved; every visit's answer (visit-authorization-determined)
        EventConsumer(settings, db.sessions, platform, name="unit-ledger", topics=[topics.VISIT_COMPLETED],
                      batch_handler=handler),
        # visit-scheduled (eligibility owns the schedule): the local copy the renewal forecasts read
        EventConsumer(settings, db.sessions, platform, name="schedule-copy", topics=[topics.VISIT_SCHEDULED],
                      batch_handler=handler),
    ]

    async def sync_work_items() -> None:
        await work_items.sync_work_items(services.uows, services.rules, today=services.clock.today(),
                                         now=services.clock.now())

    return ServiceRuntime(settings, db, MIGRATIONS, consumers=consumers,
                          periodic=[("authorization-work-items", settings.work_item_sync_seconds, sync_work_items)])


def build_app(settings: AuthorizationsSettings | None = None, utilization_review: UtilizationReview | None = None,
              clock: Clock | None = None) -> FastAPI:
    settings = settings or AuthorizationsSettings()
    clock = clock or SystemClock(settings.practice_time_zone)
    services = build_services(settings, clock, utilization_review)
    app = create_service_app(
        settings, build_runtime(services), title="Prior authorizations and credentialing",
        description="Authorizations and their unit ledger (consumed exactly once per visit), each insured visit's "
                    "authorization and credentialing answer (visit-authorization-determined), prior-authorization "
                    "requests (X12 278 or Da Vinci PAS, per payer), renewal work, and the credentialing registry.",
        routers=[router, work_items_router(
            service=event_mapper.SOURCE, tables=work_item_tables, queues=work_items.queues(),
            read_scope="authorizations:read", write_scope="authorizations:write", unit_of_work=services.uows)],
        domain_errors=DOMAIN_ERRORS, clock=clock)
    app.state.services = services
    return app


def sandbox_payer_app() -> FastAPI:
    """``uvicorn --factory authorizations.bootstrap:sandbox_payer_app``: the sandbox payer over HTTP."""
    settings = AuthorizationsSettings()
    return build_sandbox_payer_app(load_sandbox_reviewer(settings.rules_dir),
                                   clock=SystemClock(settings.practice_time_zone))
