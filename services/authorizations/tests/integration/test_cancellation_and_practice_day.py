"""A payer's cancellation of a certified authorization (278 HCR*C) on real PostgreSQL and the broker: the
authorization is cancelled, covers nothing after the day it was cancelled, shows so in the patient's list and is
announced; and the dates the service takes from the clock are the practice's, not UTC's."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from authorizations.bootstrap import build_app
from authorizations.config import AuthorizationsSettings
from authorizations.domain.review import ReviewResponse
from authorizations.edi.x12_278_response import build_278_response
from authorizations.entrypoints.schemas import AuthorizationRequestIn
from rcm_shared.contracts import topics
from rcm_shared.testing.fixtures import TEST_INSTANT, auth, fixed_clock, running, settings_for
from rcm_shared.testing.kafka import read_topic
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties

pytestmark = pytest.mark.integration
TODAY = fixed_clock().today()  # the practice's date at the tests' instant
BODY: dict[str, Any] = {
    "patient_id": "pt-80", "payer_id": "SBXHP", "payer_name": "SANDBOX HEALTH PLAN", "requester_npi": "1245319599",
    "requester_name": "RIVERSIDE COUNSELING", "member_id": "SBX000040", "subscriber_first_name": "CASEY",
    "subscriber_last_name": "EXAMPLE", "subscriber_birth_date": "1991-04-05", "rendering_npi": "1234567893",
    "rendering_first_name": "JO", "rendering_last_name": "RIVERA", "diagnoses": ["F41.1"],
    "services": [{"cpt_code": "90837", "units": 10}], "start": (TODAY - timedelta(days=20)).isoformat(),
    "end": (TODAY + timedelta(days=60)).isoformat(),
}
X12 = {**auth(), "Content-Type": "application/edi-x12"}


def lookup(day: date, visit: str) -> dict[str, Any]:
    return {"visit_id": visit, "patient_id": "pt-80", "payer_id": "SBXHP", "date_of_service": day.isoformat(),
            "cpt_code": "90837"}


async def test_a_cancelled_certification_covers_nothing_after_it(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(AuthorizationsSettings, databases.create("auth"), broker), clock=fixed_clock())
    async with running(app) as client:
        approved = (await client.post("/v1/authorization-requests", json=BODY, headers=auth())).json()
        assert approved["decision"] == "approved", approved
        number = approved["certification_number"]
        after = (await client.get("/v1/authorization-lookup", headers=auth(),
                                  params=lookup(TODAY + timedelta(days=1), "v-after"))).json()
        assert after["authorization_number"] == number, "certified: tomorrow's visit is covered"

        request = AuthorizationRequestIn.model_validate(BODY).to_domain(approved["trace_number"])
        cancel = build_278_response(request, ReviewResponse(trace_number=approved["trace_number"],
                                                            trace_originator="9RCMPLATFM", action="C",
                                                            certification_number=number),
                                    ControlNumbers(91, 91, 1, TEST_INSTANT),
                                    InterchangeParties("SBXUMO", "RCMPLATFORM"))
        posted = await client.post("/v1/authorization-responses", content=cancel, headers=X12)
        assert posted.status_code == 200, posted.text
        result = posted.json()
        assert (result["decision"], result["action_code"]) == ("cancelled", "C")
        assert (result["authorization"]["number"], result["authorization"]["status"]) == (number, "cancelled")

        (listed,) = (await client.get("/v1/patients/pt-80/authorizations", headers=auth())).json()["items"]
        assert (listed["status"], listed["cancelled_on"]) == ("cancelled", TODAY.isoformat())
        after = (await client.get("/v1/authorization-lookup", headers=auth(),
                                  params=lookup(TODAY + timedelta(days=1), "v-after"))).json()
        assert (after["authorization_number"], after["missing_reason"]) == (None, "cancelled")
        before = (await client.get("/v1/authorization-lookup", headers=auth(),
                                   params=lookup(TODAY - timedelta(days=1), "v-before"))).json()
        assert before["authorization_number"] == number, "a visit before the cancellation keeps its unit"

        again = await client.post("/v1/authorization-responses", content=cancel, headers=X12)
        assert again.status_code == 409, "cancelled once; the same answer twice changes nothing"

        changes = await read_topic(broker.bootstrap, topics.AUTHORIZATION_CHANGED, expect=2)
        data = [json.loads(r.value)["data"] for r in changes]
        assert sorted((d["change"], d["status"]) for d in data) == [
            ("status_changed", "approved"), ("status_changed", "cancelled")]


async def test_the_same_pended_review_either_side_of_the_practices_midnight(broker, databases) -> None:  # type: ignore[no-untyped-def]
    # 23:59 on 2 December in New York is 04:59 on 3 December in UTC; two minutes later it is 3 December in New York
    # and still 3 December in UTC: only the practice's date moves, and the follow-up dates move with it.
    clock = fixed_clock(datetime(2026, 12, 3, 4, 59, tzinfo=UTC))
    app = build_app(settings_for(AuthorizationsSettings, databases.create("auth"), broker), clock=clock)
    body = {**BODY, "payer_id": "SBXUM", "services": [{"cpt_code": "90837", "units": 6}]}
    async with running(app) as client:
        before = (await client.post("/v1/authorization-requests", json={**body, "patient_id": "pt-81"},
                                    headers=auth())).json()
        clock.advance(timedelta(minutes=2))
        after = (await client.post("/v1/authorization-requests", json={**body, "patient_id": "pt-82"},
                                   headers=auth())).json()
        assert (before["decision"], after["decision"]) == ("pended", "pended")
        # SBXUM: follow up 3 days after the practice's date the request went out (utilization_review.yaml)
        assert (before["follow_up_on"], after["follow_up_on"]) == ("2026-12-05", "2026-12-06")

        async def overdue() -> dict[str, bool]:
            queue = (await client.get("/v1/work-queue", headers=auth())).json()["pended_reviews"]
            return {item["patient_id"]: item["overdue"] for item in queue}

        clock.set(datetime(2026, 12, 6, 4, 59, tzinfo=UTC))  # 23:59 on 5 December in New York
        assert await overdue() == {"pt-81": False, "pt-82": False}
        clock.advance(timedelta(minutes=2))  # 6 December there (UTC's date has not changed)
        assert await overdue() == {"pt-81": True, "pt-82": False}

        # the payer's later answer counts from the practice's date the request went out, not the answer's
        request = AuthorizationRequestIn.model_validate({**body, "patient_id": "pt-81"}).to_domain(
            before["trace_number"])
        pended_again = build_278_response(request, ReviewResponse(
            trace_number=before["trace_number"], trace_originator="9RCMPLATFM", action="A4", reason_code="SBX03"),
            ControlNumbers(92, 92, 1, clock.now()), InterchangeParties("SBXUMO", "RCMPLATFORM"))
        answered = await client.post("/v1/authorization-responses", content=pended_again, headers=X12)
        assert answered.status_code == 200, answered.text
        assert (answered.json()["decision"], answered.json()["follow_up_on"]) == ("pended", "2026-12-05")
