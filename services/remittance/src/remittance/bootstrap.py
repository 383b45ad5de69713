"""Composition root of remittance: the only place that wires anything. The database, the rules (read here, handed
to the use cases), the unit-of-work factory, the consumers (the message map), the periodic jobs (mailbox pickup,
the unapplied-cash sweep), the HTTP app and its one typed dependency; and the one mapping of domain refusals to
problem+json."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from fastapi import FastAPI
from rcm_shared.clearinghouse import ClearinghouseMailbox, HttpsMailbox, SftpMailbox
from rcm_shared.clock import Clock
from rcm_shared.config import ServiceSettings
from rcm_shared.contracts import topics
from rcm_shared.db.database import Database
from rcm_shared.messaging import EventConsumer, event_dispatcher
from rcm_shared.rules import RulesError, RulesFile, load_rules
from rcm_shared.service import ServiceRuntime, create_service_app
from rcm_shared.unit_of_work import TableOutbox, UnitOfWorkFactory
from rcm_shared.work_items.api import work_items_router
from sqlalchemy.ext.asyncio import AsyncSession

from remittance.adapters import event_mapper
from remittance.adapters.era_mailbox import ClearinghouseEraPickup, EraMailbox, EraSource
from remittance.adapters.orm import metadata, platform, work_item_tables
from remittance.config import RemittanceSettings
from remittance.domain.appeals import AppealRules
from remittance.domain.contracts import ContractedRates
from remittance.domain.denials import DenialRules
from remittance.domain.duplicates import load_duplicate_payments
from remittance.domain.exceptions import (
    AlreadySettled,
    IllegalEraTransition,
    NotADuplicatePayment,
    UnknownDecision,
    UnknownEra,
    UnknownEraException,
)
from remittance.domain.posting import (
    ACCOUNTS,
    RemittancePosting,
    load_coordination,
    load_plb_accounts,
    load_plb_claim_reasons,
)
from remittance.domain.rulebook import Rulebook
from remittance.domain.secondary_balances import load_secondary_follow_up
from remittance.entrypoints.api import router
from remittance.entrypoints.dependencies import RemittanceServices
from remittance.entrypoints.fhir import routers as fhir_routers
from remittance.service_layer import intake, unapplied, work_queues
from remittance.service_layer.handlers import message_map
from remittance.service_layer.unit_of_work import RemittanceUnitOfWork, UnitsOfWork

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
RULES = "remittance.domain"
RULES_FILES = ("posting.yaml", "denials.yaml", "contracted_rates.yaml", "appeals.yaml")

#: Every refusal of the domain as problem+json, once.
DOMAIN_ERRORS: Mapping[type[Exception], tuple[int, str]] = {
    UnknownEra: (404, "not-found"),
    UnknownEraException: (404, "not-found"),
    NotADuplicatePayment: (409, "not-a-duplicate-payment"),
    AlreadySettled: (409, "already-resolved"),
    UnknownDecision: (422, "validation"),
    IllegalEraTransition: (409, "era-already-processed"),
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


def load_rulebook(rules_dir: str | Path | None = None) -> Rulebook:
    """Every rules file of the service (a deployment's own copies in ``rules_dir`` first)."""
    files = {name: load_rules(RULES, name, override_dir=rules_dir) for name in RULES_FILES}
    posting = files["posting.yaml"]
    return Rulebook(
        posting=_typed(posting, lambda d: RemittancePosting(load_plb_accounts(d), load_coordination(d),
                                                            load_plb_claim_reasons(d))),
        duplicate_payments=_typed(posting, lambda d: load_duplicate_payments(d, ACCOUNTS)),
        secondary_follow_up=_typed(posting, load_secondary_follow_up),
        denials=_typed(files["denials.yaml"], DenialRules.from_mapping),
        contracted_rates=_typed(files["contracted_rates.yaml"], ContractedRates.from_dict),
        appeals=_typed(files["appeals.yaml"], AppealRules.from_mapping),
        versions={name: f.version for name, f in files.items()})


def _settings(settings: ServiceSettings | None) -> RemittanceSettings:
    return settings if isinstance(settings, RemittanceSettings) else RemittanceSettings(
        **(settings.model_dump() if settings else {}))


def units_of_work(db: Database) -> UnitsOfWork:
    """Units of work on ``db``: the event mapper and the outbox table of this service."""
    outbox = TableOutbox(db, event_mapper.SOURCE)

    def unit_of_work(db: Database | None, *, session: AsyncSession | None = None, causation: Any = None
                     ) -> RemittanceUnitOfWork:
        return RemittanceUnitOfWork(db, event_mapper.announcements, outbox, session=session, causation=causation)

    return UnitOfWorkFactory(unit_of_work, db)


def build_services(settings: ServiceSettings | None = None, rules: Rulebook | None = None) -> RemittanceServices:
    settings = _settings(settings)
    db = Database(settings, metadata, platform)
    return RemittanceServices(settings, db, rules or load_rulebook(settings.rules_dir), units_of_work(db))


def build_runtime(services: RemittanceServices | ServiceSettings) -> ServiceRuntime:
    if not isinstance(services, RemittanceServices):
        services = build_services(services)
    settings, db, uows, rules = services.settings, services.db, services.uows, services.rules
    handler = event_dispatcher(message_map(uows, rules))
    # Two groups: claim copies must never wait behind a large ERA being posted.
    claims_copy = EventConsumer(settings, db.sessions, platform, name="submitted-claims",
                                topics=[topics.CLAIM_SUBMITTED], handler=handler)
    posting = EventConsumer(settings, db.sessions, platform, name="era-posting", topics=[topics.ERA_RECEIVED],
                            handler=handler)
    periodic: list[tuple[str, float, Callable[[], Awaitable[None]]]] = []
    for name, source in era_sources(settings):

        async def pick_up(source: EraSource = source) -> None:
            await intake.pick_up_eras(uows, source)

        periodic.append((name, settings.era_pickup_seconds, pick_up))

    async def rematch_unapplied() -> None:
        async with uows() as uow:
            await unapplied.apply_waiting_payments(uow, rules)

    periodic.append(("unapplied-rematch", settings.unapplied_rematch_seconds, rematch_unapplied))
    return ServiceRuntime(settings, db, MIGRATIONS, consumers=[claims_copy, posting], periodic=periodic)


def era_sources(settings: RemittanceSettings) -> list[tuple[str, EraSource]]:
    """The mailboxes ERAs are picked up from: the folder (sandbox, bulk drops) and a clearinghouse's."""
    sources: list[tuple[str, EraSource]] = []
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


def build_app(settings: ServiceSettings | None = None, clock: Clock | None = None,
              rules: Rulebook | None = None) -> FastAPI:
    services = build_services(settings, rules)
    app = create_service_app(
        services.settings, build_runtime(services), title="Remittance",
        description="835 ERAs: intake, streaming parse, balancing, exactly-once double-entry posting, "
                    "denial classification and routing, underpayments against contracted rates, reports.",
        routers=[router, work_items_router(
            service=event_mapper.SOURCE, tables=work_item_tables, queues=work_queues.queues(services.rules),
            read_scope="remittance:read", write_scope="remittance:write", unit_of_work=services.uows), *fhir_routers],
        domain_errors=DOMAIN_ERRORS, clock=clock)
    app.state.services = services
    return app
