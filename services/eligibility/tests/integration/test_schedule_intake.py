"""Schedule intake and operator runs on real PostgreSQL: concurrent writers of the same visits; input that can
never become a 270 refused at the door (naming the field) instead of a 500 or a failure in the night's batch; a
batch run only for a date the night would run."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import pytest
from eligibility.adapters.orm import insurance_on_file, scheduled_visits
from eligibility.bootstrap import build_app
from eligibility.config import EligibilitySettings
from rcm_shared.testing.fixtures import auth, fixed_clock, running, settings_for
from sqlalchemy import func, select

from .conftest import RULES, sandbox, services_of, today

pytestmark = pytest.mark.integration


def visit(visit_id: str, patient_id: str, **insurance: Any) -> dict[str, Any]:
    subscriber = {"first_name": "ALEX", "last_name": "SAMPLE", "member_id": "SBX000001", "birth_date": "1988-04-12",
                  **insurance}
    return {"visit_id": visit_id, "patient_id": patient_id, "payer_id": "SBXHP", "service_date": "2026-12-01",
            "insurance": {"provider_npi": "1234567893", "provider_name": "RIVERSIDE COUNSELING",
                          "subscriber": subscriber}}


def app_for(broker: Any, databases: Any) -> Any:
    settings = settings_for(EligibilitySettings, databases.create("elig"), broker, nightly_batch_enabled=False)
    return build_app(settings, gateway=sandbox(), clock=fixed_clock())


async def test_the_same_schedule_posted_at_once_is_recorded_once(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = app_for(broker, databases)
    body = {"visits": [visit(f"appt-{i}", f"pt-{i}") for i in range(40)]}
    async with running(app) as client:
        answers = await asyncio.gather(*[client.post("/v1/schedule", json=body, headers=auth()) for _ in range(4)])
        assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
        coverage = await asyncio.gather(*[client.post("/v1/coverage-checks", headers=auth(), json={
            "patient_id": "pt-0", "payer_id": "SBXHP", "provider_npi": "1234567893",
            "provider_name": "RIVERSIDE COUNSELING", "service_date": "2026-12-01",
            "subscriber": visit("x", "pt-0")["insurance"]["subscriber"]}) for _ in range(3)])
        assert [c.status_code for c in coverage] == [201] * 3, [c.text for c in coverage]
        async with services_of(app).db.sessions() as session:
            assert (await session.execute(select(func.count()).select_from(scheduled_visits))).scalar() == 40
            assert (await session.execute(select(func.count()).select_from(insurance_on_file))).scalar() == 40


@pytest.mark.parametrize(("insurance", "field"), [
    ({"last_name": "SAMPLE*JR"}, "body.visits.0.insurance.subscriber.last_name"),
    ({"member_id": "SBX~0001"}, "body.visits.0.insurance.subscriber.member_id"),
    ({"first_name": "AL\x00EX"}, "body.visits.0.insurance.subscriber.first_name"),
])
async def test_member_details_a_270_cannot_carry_are_refused_naming_the_field(
        broker, databases, insurance: dict[str, str], field: str) -> None:  # type: ignore[no-untyped-def]
    app = app_for(broker, databases)
    async with running(app) as client:
        refused = await client.post("/v1/schedule", json={"visits": [visit("appt-1", "pt-1", **insurance)]},
                                    headers=auth())
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == [field]
        for value in insurance.values():
            assert value not in refused.text, "the refused value is not echoed"
        nul_payer = await client.post("/v1/schedule", headers=auth(), json={"visits": [
            {**visit("appt-2", "pt-2"), "payer_id": "SBX\x00HP"}]})
        assert nul_payer.status_code == 422 and nul_payer.json()["errors"][0]["field"] == "body.visits.0.payer_id"
        check = await client.post("/v1/coverage-checks", headers=auth(), json={
            "patient_id": "pt-1", "payer_id": "SBXHP", "provider_npi": "1234567893", "provider_name": "RIVERSIDE",
            "service_date": "2026-12-01", "subscriber": visit("x", "pt-1", **insurance)["insurance"]["subscriber"]})
        assert check.status_code == 422, check.text
        assert [e["field"] for e in check.json()["errors"]] == [field.replace("body.visits.0.insurance.", "body.")]
        lookup = await client.get("/v1/patients/pt-1/coverage", params={"payer_id": "SBX\x00HP"}, headers=auth())
        assert lookup.status_code == 422, lookup.text


async def test_a_batch_run_only_for_a_date_the_night_would_run(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = app_for(broker, databases)
    schedule = RULES.nightly_batch.in_force(today())
    async with running(app) as client:
        for day in (today() - timedelta(days=1), today() + timedelta(days=schedule.days_ahead + 1), date.max):
            refused = await client.post("/v1/batch-runs", json={"schedule_date": day.isoformat()}, headers=auth())
            assert refused.status_code == 422, refused.text
            assert [e["field"] for e in refused.json()["errors"]] == ["body.schedule_date"]
        assert (await client.get("/v1/batch-runs", headers=auth())).json()["items"] == [], "no run was claimed"
        for day in (today(), today() + timedelta(days=schedule.days_ahead)):
            ran = await client.post("/v1/batch-runs", json={"schedule_date": day.isoformat()}, headers=auth())
            assert ran.status_code == 201, ran.text

