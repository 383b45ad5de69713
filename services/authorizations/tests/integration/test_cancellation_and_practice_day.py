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
from authorizations.domain.x12_278_response import build_278_response
from authorizations.entrypoints.api import AuthorizationRequestIn
from authorizations.service_layer import handlers
from rcm_shared.contracts import topics
from rcm_shared.testing.fixtures import auth, running, settings_for
from rcm_shared.testing.kafka import read_topic
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties

pytestmark = pytest.mark.integration
TODAY = handlers.practice_today()
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
    app = build_app(settings_for(AuthorizationsSettings, databases.create("auth"), broker))
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
                                    ControlNumbers(91, 91, 1, datetime.now(UTC)),
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


async def test_a_pended_review_sent_on_a_new_york_evening_is_followed_up_from_that_day(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(AuthorizationsSettings, databases.create("auth"), broker))
    body = {**BODY, "patient_id": "pt-81", "payer_id": "SBXUM", "services": [{"cpt_code": "90837", "units": 6}]}
    evening = datetime(2026, 3, 3, 2, 30, tzinfo=UTC)  # 21:30 on 2 March in New York, already 3 March in UTC
    async with running(app):
        command = handlers.RequestAuthorization("practice-a", "pt-81",
                                                AuthorizationRequestIn.model_validate(body).to_domain("TRACE81"))
        outcome = await handlers.request_authorization(app.state.db, app.state.utilization_review,
                                                       app.state.review_routes, command, now=evening)
    assert outcome["decision"] == "pended"
    assert outcome["follow_up_on"] == date(2026, 3, 2) + timedelta(days=3)  # SBXUM: 3 days (utilization_review.yaml)
