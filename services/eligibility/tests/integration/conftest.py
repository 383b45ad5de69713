"""Helpers for eligibility's integration tests: the app's own parts (typed), the shipped rules and sandbox payer,
and the evening the nightly batch runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from eligibility.bootstrap import load_rulebook, sandbox_plan_table
from eligibility.domain.rulebook import EligibilityRules
from eligibility.entrypoints.dependencies import EligibilityServices
from eligibility.sandbox.gateway import SandboxPayerGateway
from eligibility.service_layer import practice_day
from fastapi import FastAPI
from rcm_shared.clock import time_zone
from rcm_shared.testing.fixtures import TEST_INSTANT

RULES: EligibilityRules = load_rulebook()


def services_of(app: FastAPI) -> EligibilityServices:
    services: EligibilityServices = app.state.services
    return services


def sandbox() -> SandboxPayerGateway:
    return SandboxPayerGateway(sandbox_plan_table())


def today() -> date:
    """The practice's date at the tests' instant."""
    return practice_day.today(RULES.nightly_batch, TEST_INSTANT)


def evening(after: timedelta = timedelta(minutes=30)) -> tuple[datetime, date]:
    """A moment after tonight's run time in the rules' time zone (as UTC), and the schedule date it runs for."""
    schedule = RULES.nightly_batch.in_force(today())
    local = datetime.combine(today(), schedule.run_at, tzinfo=time_zone(schedule.time_zone)) + after
    return local.astimezone(UTC), local.date() + timedelta(days=schedule.days_ahead)
