"""A poll of visit-completed is counted as one batch, and a batch that cannot be applied falls back to the
kernel's one-by-one path: nothing counted twice, the poison event dead-lettered, the rest applied (real
PostgreSQL, real broker)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from eligibility.adapters.orm import session_visits
from eligibility.bootstrap import build_app
from eligibility.config import EligibilitySettings
from rcm_shared.contracts import CodedService, EventEnvelope, VisitCompletedV1, envelope_for, topics
from rcm_shared.testing.fixtures import auth, fixed_clock, running, settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes, read_topic
from sqlalchemy import func, select

from .conftest import sandbox, services_of, today

pytestmark = pytest.mark.integration


def completed(visit_id: str, day_offset: int, practice_id: str = "practice-a") -> EventEnvelope:
    visit = VisitCompletedV1(visit_id=visit_id, practice_id=practice_id, patient_id="pt-4", billing_model="insurance",
                             payer_id="SBXHP", date_of_service=today() - timedelta(days=day_offset),
                             rendering_npi="1234567893", services=[CodedService(procedure_code="90837")])
    return envelope_for(visit, source="claims", subject=visit_id, practice_id="practice-a")


async def test_a_poll_is_counted_once_and_a_poison_event_does_not_stop_it(broker, databases, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="rcm.consumer")
    settings = settings_for(EligibilitySettings, databases.create("elig"), broker, nightly_batch_enabled=False,
                            recheck_poll_seconds=3600)
    app = build_app(settings, gateway=sandbox(), clock=fixed_clock())
    async with running(app) as client:
        # The sandbox's HMO member: 20 visits a year, 18 used: 2 left when checked.
        checked = await client.post("/v1/coverage-checks", headers=auth(), json={
            "patient_id": "pt-4", "payer_id": "SBXHP", "provider_npi": "1234567893", "provider_name": "RIVERSIDE",
            "service_date": today().isoformat(), "subscriber": {
                "first_name": "ALEX", "last_name": "SAMPLE", "member_id": "SBX000004", "birth_date": "2001-11-11"}})
        assert checked.status_code == 201, checked.text

        visits = [completed(f"v-{n}", n % 3) for n in range(40)]
        await publish_envelopes(broker.bootstrap, topics.VISIT_COMPLETED, [*visits, visits[0]])

        async def counted(expected: int) -> int | None:
            async with services_of(app).db.sessions() as session:
                n = (await session.execute(select(func.count()).select_from(session_visits))).scalar_one()
            return n if n == expected else None

        await eventually(lambda: counted(40), what="every visit counted")
        assert "applying its events one by one" not in caplog.text, "the polls were applied as batches"

        poison = completed("v-poison", 0, practice_id="practice-b")  # payload says b, envelope says a
        await publish_envelopes(broker.bootstrap, topics.VISIT_COMPLETED, [poison, completed("v-40", 0)])
        await eventually(lambda: counted(41), what="the good visit beside the poison counted")
        dead = await read_topic(broker.bootstrap, f"{topics.VISIT_COMPLETED}.dlq", expect=1, timeout=15)
        assert [r.key for r in dead] == [b"v-poison"]

        async def alerts() -> list[dict[str, Any]] | None:
            items = (await client.get("/v1/session-limit-alerts", headers=auth())).json()["items"]
            return items if len(items) == 3 else None

        raised = await eventually(alerts, what="three session-limit alerts")
        assert sorted(a["kind"] for a in raised) == ["exceeded", "nearly_reached", "reached"]
        events = await read_topic(broker.bootstrap, topics.ELIGIBILITY_CHECKED, expect=4, timeout=10)
        flagged = [json.loads(r.value)["data"] for r in events if json.loads(r.value)["data"]["session_limit_alert"]]
        assert len(flagged) == 3, "each alert announced once, however the poll was applied"
