"""Composition root of authorizations."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import yaml
from fastapi import FastAPI
from rcm_shared.clock import Clock, SystemClock
from rcm_shared.config import ServiceSettings
from rcm_shared.contracts import VisitCompletedV1, topics
from rcm_shared.db.database import Database
from rcm_shared.messaging import EventConsumer, event_dispatcher
from rcm_shared.service import ServiceRuntime, create_service_app
from rcm_shared.x12.envelope import InterchangeParties

from authorizations.adapters.orm import metadata, platform
from authorizations.adapters.utilization_review import (
    PasFhirUtilizationReview,
    RoutedUtilizationReview,
    SandboxUtilizationReview,
    UtilizationReview,
    X12HttpsUtilizationReview,
    load_sandbox_reviewer,
    packaged_rules,
)
from authorizations.config import AuthorizationsSettings
from authorizations.domain.review_routes import ReviewRoutes, Route
from authorizations.entrypoints.api import router
from authorizations.service_layer import handlers

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build_runtime(settings: ServiceSettings, clock: Clock) -> ServiceRuntime:
    db = Database(settings, metadata, platform)
    consumer = EventConsumer(settings, db.sessions, platform, name="unit-ledger", topics=[topics.VISIT_COMPLETED],
                             handler=event_dispatcher({
                                 VisitCompletedV1: partial(handlers.consume_for_visit, clock=clock)}))
    return ServiceRuntime(settings, db, MIGRATIONS, consumers=[consumer])


def load_review_routes(settings: ServiceSettings) -> ReviewRoutes:
    path = settings.utilization_review_routes_file if isinstance(settings, AuthorizationsSettings) else None
    text = Path(path).read_text(encoding="utf-8") if path else packaged_rules("utilization_review.yaml")
    return ReviewRoutes.from_dict(yaml.safe_load(text))


def build_utilization_review(settings: ServiceSettings, routes: ReviewRoutes) -> RoutedUtilizationReview:
    """One connection per routed (channel, endpoint, payer): the sandbox in-process, the others over HTTPS."""
    config = settings if isinstance(settings, AuthorizationsSettings) else AuthorizationsSettings()
    parties = InterchangeParties(sender_id=config.submitter_id, receiver_id="SBXUMO",
                                 trace_originator=config.trace_originator)
    sandbox = SandboxUtilizationReview(load_sandbox_reviewer(), parties)
    verify: bool | str = config.utilization_review_ca_bundle or config.utilization_review_verify_tls

    def connect(route: Route) -> UtilizationReview:
        secret = config.utilization_review_tokens.get(route.payer_id) or config.utilization_review_tokens.get("*")
        token = secret.get_secret_value() if secret is not None else None
        timeout = config.utilization_review_timeout_seconds
        if route.channel == "x12-278":
            partner = InterchangeParties(sender_id=config.submitter_id,
                                         receiver_id=route.receiver_id or route.payer_id[:15],
                                         trace_originator=config.trace_originator)
            return X12HttpsUtilizationReview(route.endpoint, partner, bearer_token=token, timeout=timeout,
                                             verify=verify)
        if route.channel == "pas-fhir":
            return PasFhirUtilizationReview(route.endpoint, originator=config.trace_originator, bearer_token=token,
                                            timeout=timeout, verify=verify)
        return sandbox

    return RoutedUtilizationReview(routes, connect)


def build_app(settings: ServiceSettings | None = None,
              utilization_review: UtilizationReview | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or AuthorizationsSettings()
    clock = clock or SystemClock(settings.practice_time_zone)
    app = create_service_app(
        settings, build_runtime(settings, clock), title="Prior authorizations and credentialing",
        description="Authorizations and their unit ledger (consumed exactly once per visit), prior-authorization "
                    "requests (X12 278 or Da Vinci PAS, per payer), renewal work, and the credentialing registry "
                    "the claims scrubber asks.",
        routers=[router], clock=clock)
    routes = load_review_routes(settings)
    app.state.review_routes = routes
    app.state.utilization_review = utilization_review or build_utilization_review(settings, routes)
    return app
