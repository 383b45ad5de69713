"""Eligibility against the sandbox payer, real PostgreSQL and the real broker."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from eligibility.bootstrap import build_app
from eligibility.config import EligibilitySettings
from rcm_shared.contracts import CodedService, DenialRaisedV1, VisitCompletedV1, envelope_for, topics
from rcm_shared.testing.fixtures import auth, fixed_clock, running, settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes, read_topic

from .conftest import today

pytestmark = pytest.mark.integration


BIRTH_DATES = {"SBX000001": "1988-04-12", "SBX000003": "1992-01-20", "SBX000004": "2001-11-11"}


def check_body(member_id: str, patient_id: str, **extra: object) -> dict[str, object]:
    return {"patient_id": patient_id, "payer_id": "SBXHP", "payer_name": "SANDBOX HEALTH PLAN",
            "provider_npi": "1234567893", "provider_name": "RIVERSIDE COUNSELING",
            "subscriber": {"first_name": "ALEX", "last_name": "SAMPLE", "member_id": member_id,
                           "birth_date": BIRTH_DATES.get(member_id, "1990-01-01")},
            "service_date": today().isoformat(), **extra}


async def test_round_trip_carve_out_and_session_limit(broker, databases) -> None:  # type: ignore[no-untyped-def]
    # Re-checks only at start-up: the advice after the denial below stays put (test_nightly_batch sends them).
    app = build_app(settings_for(EligibilitySettings, databases.create("elig"), broker, recheck_poll_seconds=3600),
                    clock=fixed_clock())
    async with running(app) as client:
        active = await client.post("/v1/coverage-checks", json=check_body("SBX000001", "pt-1"), headers=auth())
        assert active.status_code == 201, active.text
        assert active.json()["results"][0]["status"] == "active"

        carve = await client.post("/v1/coverage-checks", json=check_body("SBX000003", "pt-3"), headers=auth())
        assert carve.status_code == 201
        result = carve.json()
        assert result["results"][0]["next_action"] == "check_other_payer"
        assert len(result["follow_up_check_ids"]) == 1, "the carve-out payer is asked next"
        history = (await client.get("/v1/patients/pt-3/coverage-checks", headers=auth())).json()["checks"]
        assert {c["payer_id"] for c in history} == {"SBXHP", "SBXBH"}

        unknown = await client.post("/v1/coverage-checks", json=check_body("SBX123456", "pt-9"), headers=auth())
        assert unknown.status_code == 201
        assert unknown.json()["results"][0]["status"] == "rejected"

        nearly = await client.post("/v1/coverage-checks", json=check_body("SBX000004", "pt-4"), headers=auth())
        assert nearly.status_code == 201
        coverage = (await client.get("/v1/patients/pt-4/coverage", headers=auth())).json()["coverage"][0]
        assert coverage["visit_limit"] == 20
        assert coverage["payer_visits_remaining"] == 2

        visit = VisitCompletedV1(
            visit_id="v-1", practice_id="practice-a", patient_id="pt-4", billing_model="insurance",
            payer_id="SBXHP", date_of_service=today(), rendering_npi="1234567893",
            services=[CodedService(procedure_code="90837")])
        await publish_envelopes(broker.bootstrap, topics.VISIT_COMPLETED,
                                [envelope_for(visit, source="claims", subject="v-1", practice_id="practice-a")])

        async def alerts() -> list[dict[str, object]] | None:
            items = (await client.get("/v1/session-limit-alerts", headers=auth())).json()["items"]
            return items or None

        raised = await eventually(alerts, what="a session-limit alert")
        assert raised[0]["patient_id"] == "pt-4"
        assert raised[0]["remaining"] <= 3

        checked = await read_topic(broker.bootstrap, topics.ELIGIBILITY_CHECKED, expect=5)
        payloads = [json.loads(r.value)["data"] for r in checked]
        assert any(p["session_limit_alert"] for p in payloads)
        assert all(r.key != b"pt-4" for r in checked), "keys are check ids, never patient ids"

        elsewhere = await client.get("/v1/patients/pt-4/coverage", headers=auth("practice-b"))
        assert elsewhere.status_code == 404

        fresh = (await client.get("/v1/patients/pt-1/coverage", headers=auth())).json()["coverage"][0]
        assert fresh["recheck_needed"] is False
        denial = DenialRaisedV1(denial_id="d-1", claim_id="c-1", practice_id="practice-a", patient_id="pt-1",
                                payer_id="SBXHP", era_id="e-1", category="eligibility", reason_codes=["27"],
                                amount=Decimal("150.00"), suggested_action="verify_eligibility", queue="billing")
        await publish_envelopes(broker.bootstrap, topics.DENIAL_RAISED,
                                [envelope_for(denial, source="remittance", subject="c-1", practice_id="practice-a")])

        async def stale() -> list[str] | None:
            item = (await client.get("/v1/patients/pt-1/coverage", headers=auth())).json()["coverage"][0]
            return item["recheck_reasons"] if item["recheck_needed"] else None

        assert "eligibility_denial" in await eventually(stale, what="a re-check asked after an eligibility denial")


async def test_bad_input_is_a_problem_naming_the_field(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(EligibilitySettings, databases.create("elig"), broker), clock=fixed_clock())
    async with running(app) as client:
        bad = await client.post("/v1/coverage-checks", json=check_body("SBX000001", "pt-1", provider_npi="123"),
                                headers=auth())
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "body.provider_npi"
        assert "SAMPLE" not in bad.text



class GarbledPayer:
    async def exchange(self, request_270: str) -> str:
        return "ISA*00*not really an interchange"


async def test_a_malformed_271_is_a_clear_result_not_a_500(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(EligibilitySettings, databases.create("elig"), broker), gateway=GarbledPayer(),
                    clock=fixed_clock())
    async with running(app) as client:
        r = await client.post("/v1/coverage-checks", json=check_body("SBX000001", "pt-1"), headers=auth())
        assert r.status_code == 201
        assert r.json()["results"] == []
        assert r.json()["unreadable_response"]["segment_number"] == 1
        history = (await client.get("/v1/patients/pt-1/coverage-checks", headers=auth())).json()["checks"]
        assert history[0]["status"] == "unknown" and history[0]["next_action"] == "contact_payer"
