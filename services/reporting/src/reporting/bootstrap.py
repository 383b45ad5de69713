"""Composition root of reporting: the only place that wires anything. The database, the rules (read here, handed
to the projections and reports), the clock, the unit-of-work factory, the consumers (the message map, a poll at a
time), the HTTP app and its one typed dependency; and the one mapping of domain refusals to problem+json."""

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
from sqlalchemy.ext.asyncio import AsyncSession

from reporting.adapters.orm import metadata, platform
from reporting.config import ReportingSettings
from reporting.domain.exceptions import BadFilter, RulesNotInForce
from reporting.domain.facts import FactRules
from reporting.domain.targets import ReportingRules, measurements, target_sets
from reporting.entrypoints.api import router
from reporting.entrypoints.console import build_console
from reporting.entrypoints.dependencies import ReportingServices
from reporting.service_layer.handlers import message_map
from reporting.service_layer.unit_of_work import ReportingUnitOfWork, UnitsOfWork, announces_nothing

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
RULES = "reporting.domain"
SOURCE = "reporting"

#: Every refusal of the domain as problem+json, once.
DOMAIN_ERRORS: Mapping[type[Exception], tuple[int, str]] = {
    BadFilter: (422, "validation"),
    RulesNotInForce: (422, "rules-not-in-force"),
}

#: The consumer groups and the topics each reads. One group keeps every fact a claim's row is computed from (so
#: one claim's row is recomputed by one consumer at a time); patient money and coverage answers have their own.
CONSUMER_GROUPS: Mapping[str, list[str]] = {
    "claim-facts": [topics.VISIT_COMPLETED, topics.CLAIM_SUBMITTED, topics.CLAIM_STATUS_CHANGED,
                    topics.CLAIM_PAYMENT_POSTED, topics.DENIAL_RAISED],
    "patient-ar": [topics.PATIENT_RESPONSIBILITY_ASSESSED, topics.PATIENT_BALANCE_CHANGED],
    "coverage": [topics.VISIT_AUTHORIZATION_DETERMINED, topics.ELIGIBILITY_CHECKED],
}

T = TypeVar("T")


def _typed(rules: RulesFile, parse: Callable[[Mapping[str, Any]], T]) -> T:
    """A rules file as its domain object; a problem in it names the file."""
    try:
        return parse(rules.data)
    except RulesError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise RulesError(rules.name, "document", str(exc)) from None


def load_reporting_rules(rules_dir: str | None = None) -> ReportingRules:
    targets = load_rules(RULES, "kpi_targets.yaml", override_dir=rules_dir)
    measuring = load_rules(RULES, "reporting.yaml", override_dir=rules_dir)
    return ReportingRules(_typed(targets, target_sets), _typed(measuring, measurements),
                          {targets.name: targets.version, measuring.name: measuring.version})


def fact_rules(rules: ReportingRules, clock: Clock) -> FactRules:
    """What the projection needs of the rules: the outcomes that make a first pass clean, as in force today."""
    return FactRules(rules.measurement_on(clock.today()).clean_first_outcomes)


def build_services(settings: ReportingSettings, clock: Clock, rules: ReportingRules | None = None
                   ) -> ReportingServices:
    db = Database(settings, metadata, platform)
    outbox = TableOutbox(db, SOURCE)

    def unit_of_work(db: Database | None, *, session: AsyncSession | None = None, causation: Any = None
                     ) -> ReportingUnitOfWork:
        return ReportingUnitOfWork(db, announces_nothing, outbox, session=session, causation=causation)

    uows: UnitsOfWork = UnitOfWorkFactory(unit_of_work, db)
    return ReportingServices(settings, db, clock, rules or load_reporting_rules(settings.rules_dir), uows)


def build_runtime(services: ReportingServices) -> ServiceRuntime:
    settings, db = services.settings, services.db
    handler = batch_dispatcher(message_map(services.uows, fact_rules(services.rules, services.clock),
                                           services.clock))
    consumers = [EventConsumer(settings, db.sessions, platform, name=name, topics=list(group_topics),
                               batch_handler=handler) for name, group_topics in CONSUMER_GROUPS.items()]
    return ServiceRuntime(settings, db, MIGRATIONS, consumers=consumers)


def build_app(settings: ReportingSettings | None = None, clock: Clock | None = None,
              rules: ReportingRules | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    clock = clock or SystemClock(settings.practice_time_zone)
    services = build_services(settings, clock, rules)
    app = create_service_app(
        settings, build_runtime(services), title="Reporting",
        description="The reporting read model: every billing topic projected into per-claim facts; the KPIs "
                    "practices steer by against their targets, with trends by week and month; A/R aging split "
                    "payer vs patient; the clinician monthly summary; every figure opened down to its claims. The "
                    "operators' console is served under /console.",
        routers=[router], domain_errors=DOMAIN_ERRORS, clock=clock)
    app.state.services = services
    build_console(app, services)
    return app
