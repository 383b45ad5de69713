"""Composition root: the one place that wires patient-billing's parts."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from rcm_shared.clock import Clock
from rcm_shared.config import ServiceSettings
from rcm_shared.contracts import PatientResponsibilityAssessedV1, VisitCompletedV1, topics
from rcm_shared.db.database import Database
from rcm_shared.messaging import EventConsumer, event_dispatcher
from rcm_shared.service import ServiceRuntime, create_service_app

from patient_billing.adapters.orm import metadata, platform
from patient_billing.config import PatientBillingSettings
from patient_billing.domain.exceptions import AccountNotFound, InvalidAmount
from patient_billing.entrypoints.api import router
from patient_billing.service_layer import handlers

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build_runtime(settings: ServiceSettings) -> ServiceRuntime:
    db = Database(settings, metadata, platform)
    consumer = EventConsumer(
        settings, db.sessions, platform, name="patient-accounts",
        topics=[topics.PATIENT_RESPONSIBILITY_ASSESSED, topics.VISIT_COMPLETED],
        handler=event_dispatcher({
            PatientResponsibilityAssessedV1: handlers.assess_patient_responsibility,
            VisitCompletedV1: handlers.charge_self_pay_visit,
        }),
    )
    return ServiceRuntime(settings, db, MIGRATIONS, consumers=[consumer])


def build_app(settings: ServiceSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or PatientBillingSettings()
    return create_service_app(
        settings, build_runtime(settings), title="Patient billing",
        description="Patient accounts: self-pay charges, patient responsibility from ERAs, payments, aging.",
        routers=[router],
        domain_errors={InvalidAmount: (422, "invalid-amount"), AccountNotFound: (404, "not-found")},
        clock=clock,
    )
