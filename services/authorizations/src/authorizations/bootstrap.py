"""Composition root of authorizations."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from rcm_shared.config import ServiceSettings
from rcm_shared.contracts import VisitCompletedV1, topics
from rcm_shared.db.database import Database
from rcm_shared.messaging import EventConsumer, event_dispatcher
from rcm_shared.service import ServiceRuntime, create_service_app

from authorizations.adapters.orm import metadata, platform
from authorizations.adapters.utilization_review import SandboxUtilizationReview
from authorizations.config import AuthorizationsSettings
from authorizations.entrypoints.api import router
from authorizations.service_layer import handlers

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build_runtime(settings: ServiceSettings) -> ServiceRuntime:
    db = Database(settings, metadata, platform)
    consumer = EventConsumer(settings, db.sessions, platform, name="unit-ledger", topics=[topics.VISIT_COMPLETED],
                             handler=event_dispatcher({VisitCompletedV1: handlers.consume_for_visit}))
    return ServiceRuntime(settings, db, MIGRATIONS, consumers=[consumer])


def build_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or AuthorizationsSettings()
    app = create_service_app(
        settings, build_runtime(settings), title="Prior authorizations and credentialing",
        description="Authorizations and their unit ledger (consumed exactly once per visit), renewal work, "
                    "and the credentialing registry the claims scrubber asks.",
        routers=[router])
    app.state.utilization_review = SandboxUtilizationReview()
    return app
