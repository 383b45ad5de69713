"""Composition root of patient billing: the only place that wires anything. The database, the clock, the
unit-of-work factory, the consumer (the message map), the HTTP app and its one typed dependency; and the one
mapping of domain refusals to problem+json."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from rcm_shared.clock import Clock, SystemClock
from rcm_shared.contracts import topics
from rcm_shared.db.database import Database
from rcm_shared.messaging import EventConsumer, event_dispatcher
from rcm_shared.service import ServiceRuntime, create_service_app
from rcm_shared.unit_of_work import TableOutbox, UnitOfWorkFactory
from sqlalchemy.ext.asyncio import AsyncSession

from patient_billing.adapters import event_mapper
from patient_billing.adapters.orm import metadata, platform
from patient_billing.config import PatientBillingSettings
from patient_billing.domain.exceptions import (
    AccountNotFound,
    AlreadyReversed,
    EntryNotFound,
    InvalidAmount,
    InvalidGuarantor,
    NotReversible,
    PaymentNotFound,
    RefundExceedsPaid,
)
from patient_billing.entrypoints.api import router
from patient_billing.entrypoints.dependencies import PatientBillingServices
from patient_billing.service_layer.handlers import message_map
from patient_billing.service_layer.unit_of_work import PatientBillingUnitOfWork, UnitsOfWork

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

#: Every refusal of the domain as problem+json, once.
DOMAIN_ERRORS: Mapping[type[Exception], tuple[int, str]] = {
    InvalidAmount: (422, "invalid-amount"),
    RefundExceedsPaid: (422, "refund-exceeds-paid"),
    InvalidGuarantor: (422, "validation"),
    AccountNotFound: (404, "not-found"),
    EntryNotFound: (404, "not-found"),
    PaymentNotFound: (404, "not-found"),
    AlreadyReversed: (409, "already-reversed"),
    NotReversible: (409, "not-reversible"),
}


def build_services(settings: PatientBillingSettings, clock: Clock) -> PatientBillingServices:
    db = Database(settings, metadata, platform)
    outbox = TableOutbox(db, event_mapper.SOURCE)

    def unit_of_work(db: Database | None, *, session: AsyncSession | None = None, causation: Any = None
                     ) -> PatientBillingUnitOfWork:
        return PatientBillingUnitOfWork(db, event_mapper.announcements, outbox, session=session, causation=causation)

    uows: UnitsOfWork = UnitOfWorkFactory(unit_of_work, db)
    return PatientBillingServices(settings, db, clock, uows)


def build_runtime(services: PatientBillingServices) -> ServiceRuntime:
    settings, db = services.settings, services.db
    consumer = EventConsumer(
        settings, db.sessions, platform, name="patient-accounts",
        topics=[topics.PATIENT_RESPONSIBILITY_ASSESSED, topics.VISIT_COMPLETED],
        handler=event_dispatcher(message_map(services.uows, services.clock)),
    )
    return ServiceRuntime(settings, db, MIGRATIONS, consumers=[consumer])


def build_app(settings: PatientBillingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or PatientBillingSettings()
    clock = clock or SystemClock(settings.practice_time_zone)
    services = build_services(settings, clock)
    app = create_service_app(
        settings, build_runtime(services), title="Patient billing",
        description="The patient ledger (double entry, integer cents): accounts per responsible party, self-pay "
                    "charges, patient responsibility from ERAs with its reasons, payments, refunds, adjustments, "
                    "reversals, aging and the trial balance. Patient billing owns patient A/R.",
        routers=[router], domain_errors=DOMAIN_ERRORS, clock=clock)
    app.state.services = services
    return app
