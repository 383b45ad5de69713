"""Prior-authorization requests through the API on real PostgreSQL and the real broker, answered by the sandbox
payer with real 278 responses: approved, denied, rejected (AAA) and pended-then-decided, each recorded and - when
an authorization changes - announced on authorization-changed."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from authorizations.bootstrap import build_app, load_sandbox_reviewer
from authorizations.config import AuthorizationsSettings
from authorizations.edi.x12_278_response import build_278_response
from authorizations.entrypoints.schemas import AuthorizationRequestIn
from rcm_shared.contracts import topics
from rcm_shared.testing.fixtures import TEST_INSTANT, auth, fixed_clock, running, settings_for
from rcm_shared.testing.kafka import read_topic
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties

pytestmark = pytest.mark.integration
TODAY = fixed_clock().today()  # the practice's date at the tests' instant
BODY: dict[str, Any] = {
    "patient_id": "pt-40", "payer_id": "SBXHP", "payer_name": "SANDBOX HEALTH PLAN", "requester_npi": "1245319599",
    "requester_name": "RIVERSIDE COUNSELING", "member_id": "SBX000040", "subscriber_first_name": "CASEY",
    "subscriber_last_name": "EXAMPLE", "subscriber_birth_date": "1991-04-05", "rendering_npi": "1234567893",
    "rendering_first_name": "JO", "rendering_last_name": "RIVERA", "diagnoses": ["F41.1"],
    "services": [{"cpt_code": "90837", "units": 10}], "start": TODAY.isoformat(),
    "end": (TODAY + timedelta(days=60)).isoformat(),
}
PHI = ("SBX000040", "CASEY", "EXAMPLE", "1991-04-05", "F41.1", "F411")


async def test_certified_denied_and_rejected_requests(broker, databases, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    clock = fixed_clock()
    app = build_app(settings_for(AuthorizationsSettings, databases.create("auth"), broker), clock=clock)
    async with running(app) as client:
        approved = await client.post("/v1/authorization-requests", json=BODY, headers=auth())
        assert approved.status_code == 201, approved.text
        outcome = approved.json()
        assert (outcome["decision"], outcome["action_code"], outcome["channel"]) == ("approved", "A1", "sandbox")
        number = outcome["certification_number"]
        assert number.startswith("SBX") and outcome["authorization"]["number"] == number
        assert (outcome["authorization"]["approved_units"], outcome["authorization"]["status"]) == (10, "approved")
        assert outcome["authorization"]["end"] == BODY["end"]

        denied = (await client.post("/v1/authorization-requests", headers=auth(), json={
            **BODY, "patient_id": "pt-41", "diagnoses": ["Z63.0"]})).json()
        assert (denied["decision"], denied["action_code"], denied["reason_code"]) == ("denied", "A3", "SBX02")
        assert denied["reason"].startswith("Medical necessity not shown")
        assert denied["authorization"]["status"] == "denied" and denied["authorization"]["approved_units"] == 0
        (kept,) = (await client.get("/v1/patients/pt-41/authorizations", headers=auth())).json()["items"]
        assert kept["review"]["decision"] == "denied" and kept["review"]["reason"] == denied["reason"], \
            "the authorization shows why it was denied"

        bad_member = await client.post("/v1/authorization-requests", headers=auth(), json={
            **BODY, "patient_id": "pt-42", "member_id": "sbx-40"})
        assert bad_member.status_code == 201
        rejected = bad_member.json()
        assert rejected["decision"] == "rejected" and rejected["authorization"] is None
        assert [(r["loop"], r["reason_code"], r["fix"], r["follow_up"]) for r in rejected["rejections"]] == [
            ("2010C", "72", "member_id", "C")]
        unknown_requester = (await client.post("/v1/authorization-requests", headers=auth(), json={
            **BODY, "patient_id": "pt-43", "requester_npi": "1999999984"})).json()
        assert [(r["party"], r["reason_code"], r["fix"]) for r in unknown_requester["rejections"]] == [
            ("requester", "15", "requester_npi")]

        work = (await client.get("/v1/work-queue", headers=auth())).json()
        assert [(w["patient_id"], w["status"], [r["fix"] for r in w["rejections"]])
                for w in work["rejected_requests"]] == [("pt-42", "rejected", ["member_id"]),
                                                        ("pt-43", "rejected", ["requester_npi"])]
        assert "sbx-40" not in json.dumps(work), "the refused value is not echoed"
        clock.advance(timedelta(minutes=5))  # the biller corrects the member id and sends it again
        fixed = (await client.post("/v1/authorization-requests", headers=auth(), json={
            **BODY, "patient_id": "pt-42"})).json()
        assert fixed["decision"] == "approved"
        work = (await client.get("/v1/work-queue", headers=auth())).json()
        assert [w["patient_id"] for w in work["rejected_requests"]] == ["pt-43"], "the resubmission replaced it"

        changes = await read_topic(broker.bootstrap, topics.AUTHORIZATION_CHANGED, expect=3)
        data = [json.loads(r.value)["data"] for r in changes]
        assert sorted((d["patient_id"], d["change"], d["status"], d["units_remaining"]) for d in data) == [
            ("pt-40", "status_changed", "approved", 10), ("pt-41", "status_changed", "denied", 0),
            ("pt-42", "status_changed", "approved", 10)]
        assert {r.key.decode() for r in changes} == {d["authorization_id"] for d in data}, "keyed by id, not PHI"
    for secret in PHI:
        assert secret not in caplog.text


async def test_a_pended_review_waits_in_the_work_queue_until_the_payer_answers(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(AuthorizationsSettings, databases.create("auth"), broker), clock=fixed_clock())
    body = {**BODY, "patient_id": "pt-50", "payer_id": "SBXUM", "services": [{"cpt_code": "90837", "units": 6}]}
    async with running(app) as client:
        pended = (await client.post("/v1/authorization-requests", json=body, headers=auth())).json()
        assert (pended["decision"], pended["action_code"], pended["reason_code"]) == ("pended", "A4", "SBX03")
        assert pended["authorization"] is None and pended["follow_up_on"] == (TODAY + timedelta(days=3)).isoformat()
        (item,) = (await client.get("/v1/work-queue", headers=auth())).json()["pended_reviews"]
        assert (item["trace_number"], item["overdue"]) == (pended["trace_number"], False)
        later = (await client.get("/v1/work-queue", headers=auth(),
                                  params={"today": (TODAY + timedelta(days=4)).isoformat()})).json()
        assert later["pended_reviews"][0]["overdue"] is True, "past the follow-up day"

        # The payer's reviewer decides; its 278 response arrives later (e.g. from the clearinghouse mailbox).
        request = AuthorizationRequestIn.model_validate(body).to_domain(pended["trace_number"])
        final = load_sandbox_reviewer().final_review(request, "9RCMPLATFM")
        answer_278 = build_278_response(request, final, ControlNumbers(90, 90, 1, TEST_INSTANT),
                                        InterchangeParties("SBXUMO", "RCMPLATFORM"))
        decided = await client.post("/v1/authorization-responses", content=answer_278, headers={
            **auth(), "Content-Type": "application/edi-x12"})
        assert decided.status_code == 200, decided.text
        result = decided.json()
        assert result["decision"] in ("approved", "modified") and result["authorization"]["approved_units"] == 6
        assert result["request_id"] == pended["request_id"] and result["channel"] == "sandbox"
        assert (await client.get("/v1/work-queue", headers=auth())).json()["pended_reviews"] == []
        listed = (await client.get("/v1/patients/pt-50/authorizations", headers=auth())).json()["items"]
        assert [(a["number"], a["remaining_units"]) for a in listed] == [(final.certification_number, 6)]

        again = await client.post("/v1/authorization-responses", content=answer_278, headers={
            **auth(), "Content-Type": "application/edi-x12"})
        assert again.status_code == 409 and again.json()["type"].endswith("/review-decided")
        other_practice = await client.post("/v1/authorization-responses", content=answer_278, headers={
            **auth("practice-b"), "Content-Type": "application/edi-x12"})
        assert other_practice.status_code == 404, "another practice's request is not found"
        garbage = await client.post("/v1/authorization-responses", content="ISA*not a 278", headers={
            **auth(), "Content-Type": "application/edi-x12"})
        assert garbage.status_code == 422 and garbage.json()["type"].endswith("/unreadable-response")
        wrong_type = await client.post("/v1/authorization-responses", content="{}", headers={
            **auth(), "Content-Type": "application/pdf"})
        assert wrong_type.status_code == 415

        changes = await read_topic(broker.bootstrap, topics.AUTHORIZATION_CHANGED, expect=1)
        assert [json.loads(r.value)["data"]["change"] for r in changes] == ["status_changed"]
