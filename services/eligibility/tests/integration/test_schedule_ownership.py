"""Eligibility is the schedule's one home: POST /v1/schedule keeps the visit (with its procedure) and announces it on
visit-scheduled, once per new or changed visit; a coverage check announces the coverage period claims scrubs
against (real PostgreSQL, real broker)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from eligibility.adapters.orm import scheduled_visits
from eligibility.bootstrap import build_app
from eligibility.config import EligibilitySettings
from rcm_shared.contracts import topics
from rcm_shared.testing.fixtures import auth, fixed_clock, running, settings_for
from rcm_shared.testing.kafka import read_topic
from sqlalchemy import select

from .conftest import sandbox, services_of, today

pytestmark = pytest.mark.integration


def booked(visit_id: str, patient_id: str, **extra: Any) -> dict[str, Any]:
    return {"visit_id": visit_id, "patient_id": patient_id, "payer_id": "SBXHP",
            "service_date": (today() + timedelta(days=7)).isoformat(), **extra}


async def test_the_schedule_is_announced_once_per_change_with_its_procedure(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(EligibilitySettings, databases.create("elig"), broker, nightly_batch_enabled=False)
    app = build_app(settings, gateway=sandbox(), clock=fixed_clock())
    async with running(app) as client:
        week = [booked("appt-1", "pt-1", cpt_code="90837"), booked("appt-2", "pt-2"), booked("appt-3", "pt-3")]
        assert (await client.post("/v1/schedule", json={"visits": week}, headers=auth())).status_code == 200
        week[1]["cancelled"] = True
        again = await client.post("/v1/schedule", json={"visits": week}, headers=auth())
        assert again.json() == {"recorded": 3, "rechecks_queued": 0}

        records = await read_topic(broker.bootstrap, topics.VISIT_SCHEDULED, expect=4, timeout=10)
        assert sorted(r.key.decode() for r in records if r.key) == ["appt-1", "appt-2", "appt-2", "appt-3"]
        data = [json.loads(r.value)["data"] for r in records]
        first = next(d for d in data if d["visit_id"] == "appt-1")
        assert (first["cpt_code"], first["payer_id"], first["cancelled"]) == ("90837", "SBXHP", False)
        assert [d["cancelled"] for d in data if d["visit_id"] == "appt-2"] == [False, True]
        assert "SAMPLE" not in str(data)

        async with services_of(app).db.sessions() as session:
            kept = (await session.execute(select(scheduled_visits.c.cpt_code).where(
                scheduled_visits.c.visit_id == "appt-1"))).scalar_one()
        assert kept == "90837"
        bad = await client.post("/v1/schedule", json={"visits": [booked("appt-9", "pt-9", cpt_code="9083")]},
                                headers=auth())
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.visits.0.cpt_code"


async def test_a_coverage_check_announces_the_coverage_period(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(EligibilitySettings, databases.create("elig"), broker, nightly_batch_enabled=False)
    async with running(build_app(settings, gateway=sandbox(), clock=fixed_clock())) as client:
        for member_id, born, patient in (("SBX000001", "1988-04-12", "pt-active"),
                                         ("SBX000002", "1975-09-03", "pt-ended")):
            checked = await client.post("/v1/coverage-checks", headers=auth(), json={
                "patient_id": patient, "payer_id": "SBXHP", "provider_npi": "1234567893",
                "provider_name": "RIVERSIDE", "service_date": today().isoformat(),
                "subscriber": {"first_name": "ALEX", "last_name": "SAMPLE", "member_id": member_id,
                               "birth_date": born}})
            assert checked.status_code == 201, checked.text
        records = await read_topic(broker.bootstrap, topics.ELIGIBILITY_CHECKED, expect=2, timeout=10)
        by_patient = {d["patient_id"]: d for d in (json.loads(r.value)["data"] for r in records)}
        assert (by_patient["pt-active"]["active"], by_patient["pt-active"]["coverage_from"],
                by_patient["pt-active"]["coverage_to"]) == (True, "2025-01-01", None)
        assert (by_patient["pt-ended"]["active"], by_patient["pt-ended"]["coverage_to"]) == (False, "2025-12-31")
