"""Authorizations against real PostgreSQL and the real broker: units consumed exactly once, in any order."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from authorizations.bootstrap import build_app
from authorizations.config import AuthorizationsSettings
from rcm_shared.contracts import CodedService, EventEnvelope, VisitCompletedV1, VisitScheduledV1, envelope_for, topics
from rcm_shared.testing.fixtures import auth, fixed_clock, running, settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes, read_topic

pytestmark = pytest.mark.integration
TODAY = fixed_clock().today()  # the practice's date at the tests' instant


def booking(appointment: str, days_ahead: int, *, cancelled: bool = False) -> EventEnvelope:
    payload = VisitScheduledV1(visit_id=appointment, practice_id="practice-a", patient_id="pt-1", payer_id="SBXHP",
                               service_date=TODAY + timedelta(days=days_ahead), cpt_code="90837", cancelled=cancelled)
    return envelope_for(payload, source="eligibility", subject=appointment, practice_id="practice-a")


def visit(visit_id: str, *, voided: bool = False, days_ago: int = 1, replaces: str | None = None):  # type: ignore[no-untyped-def]
    payload = VisitCompletedV1(
        visit_id=visit_id, practice_id="practice-a", patient_id="pt-1", billing_model="insurance",
        payer_id="SBXHP", date_of_service=TODAY - timedelta(days=days_ago), rendering_npi="1234567893",
        services=[CodedService(procedure_code="90837")], voided=voided, replaces_visit_id=replaces)
    return envelope_for(payload, source="claims", subject=visit_id, practice_id="practice-a")


async def test_units_consumed_once_despite_duplicates_and_reordering(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(AuthorizationsSettings, databases.create("auth"), broker), clock=fixed_clock())
    async with running(app) as client:
        created = await client.post("/v1/authorizations", headers=auth(), json={
            "number": "AUTH-1", "patient_id": "pt-1", "payer_id": "SBXHP", "cpt_codes": ["90834", "90837"],
            "approved_units": 4, "start": (TODAY - timedelta(days=30)).isoformat(),
            "end": (TODAY + timedelta(days=10)).isoformat()})
        assert created.status_code == 201, created.text
        v1, v2, v3 = visit("v-1"), visit("v-2", days_ago=2), visit("v-3", days_ago=3)
        # v-3's void arrives before its completion; v-1 arrives twice.
        await publish_envelopes(broker.bootstrap, topics.VISIT_COMPLETED,
                                [v1, visit("v-3", voided=True, days_ago=3), v2, v1, v3])

        async def remaining() -> int | None:
            items = (await client.get("/v1/patients/pt-1/authorizations", headers=auth())).json()["items"]
            left = items[0]["remaining_units"]
            return left if left == 2 else None

        assert await eventually(remaining, what="two units consumed") == 2
        work = (await client.get("/v1/work-queue", headers=auth())).json()
        assert [t["authorization_number"] for t in work["renewals_due"]] == ["AUTH-1"], \
            "ending within 14 days with 2 units left: a renewal task"
        # The schedule is eligibility's: it arrives here as visit-scheduled, into a copy the forecast reads.
        booked = [booking(f"appt-{n}", n) for n in (2, 4, 6)]
        await publish_envelopes(broker.bootstrap, topics.VISIT_SCHEDULED, booked)

        async def forecast() -> list[str] | None:
            work = (await client.get("/v1/work-queue", headers=auth())).json()
            triggers = work["renewals_due"][0]["triggers"]
            return triggers if "schedule_exceeds_units" in triggers else None

        assert await eventually(forecast, what="3 booked, 2 units left")
        # a booking cancelled later (a later event for the same appointment) leaves the forecast
        await publish_envelopes(broker.bootstrap, topics.VISIT_SCHEDULED, [booking("appt-4", 4, cancelled=True)])

        async def fits() -> list[str] | None:
            work = (await client.get("/v1/work-queue", headers=auth())).json()
            triggers = work["renewals_due"][0]["triggers"]
            return triggers if "schedule_exceeds_units" not in triggers else None

        assert await eventually(fits, what="2 booked, 2 units left")
        assert (await client.post("/v1/schedule", json={}, headers=auth())).status_code in (404, 405), \
            "the schedule has one home: eligibility"

        changes = await read_topic(broker.bootstrap, topics.AUTHORIZATION_CHANGED, expect=2)
        consumed = {json.loads(r.value)["data"]["visit_id"] for r in changes
                    if json.loads(r.value)["data"]["change"] == "unit_consumed"}
        assert consumed == {"v-1", "v-2"}

        lookup = (await client.get("/v1/authorization-lookup", headers=auth(), params={
            "visit_id": "v-9", "patient_id": "pt-1", "payer_id": "SBXHP",
            "date_of_service": TODAY.isoformat(), "cpt_code": "90837"})).json()
        assert lookup == {"required": True, "authorization_number": "AUTH-1", "missing_reason": None}
        outside = (await client.get("/v1/authorization-lookup", headers=auth(), params={
            "visit_id": "v-10", "patient_id": "pt-1", "payer_id": "SBXHP",
            "date_of_service": (TODAY + timedelta(days=60)).isoformat(), "cpt_code": "90837"})).json()
        assert outside["authorization_number"] is None and outside["missing_reason"] == "outside_dates"


async def test_credentialing_dates_and_supervisor_billing(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(AuthorizationsSettings, databases.create("auth"), broker), clock=fixed_clock())
    async with running(app) as client:
        r = await client.post("/v1/credentialing/enrollments", headers=auth(), json={
            "npi": "1234567893", "payer_id": "SBXHP", "effective_from": "2026-01-01", "effective_to": "2026-06-30"})
        assert r.status_code == 201
        check = {"npi": "1234567893", "payer_id": "SBXHP"}
        inside = (await client.get("/v1/credentialing/check", headers=auth(),
                                   params={**check, "date_of_service": "2026-06-30"})).json()
        after = (await client.get("/v1/credentialing/check", headers=auth(),
                                  params={**check, "date_of_service": "2026-07-01"})).json()
        assert inside["allowed"] is True
        assert after["allowed"] is False and after["reason"] == "enrollment_not_in_force"
        bad = await client.post("/v1/credentialing/enrollments", headers=auth(), json={
            "npi": "1234567893", "payer_id": "SBXHP", "effective_from": "2026-01-01", "effective_to": "2025-01-01"})
        assert bad.status_code == 422



async def test_a_278_request_is_reviewed_and_its_authorization_recorded(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(AuthorizationsSettings, databases.create("auth"), broker), clock=fixed_clock())
    async with running(app) as client:
        body = {"patient_id": "pt-7", "payer_id": "SBXHP", "payer_name": "SANDBOX HEALTH PLAN",
                "requester_npi": "1245319599", "requester_name": "RIVERSIDE COUNSELING", "member_id": "SBX000004",
                "subscriber_first_name": "CASEY", "subscriber_last_name": "EXAMPLE", "rendering_npi": "1234567893",
                "rendering_first_name": "JO", "rendering_last_name": "RIVERA", "diagnoses": ["F41.1"],
                "services": [{"cpt_code": "90837", "units": 12}], "start": TODAY.isoformat(),
                "end": (TODAY + timedelta(days=90)).isoformat()}
        r = await client.post("/v1/authorization-requests", json=body, headers=auth())
        assert r.status_code == 201, r.text
        outcome = r.json()
        assert outcome["decision"] in ("approved", "modified", "denied")
        listed = (await client.get("/v1/patients/pt-7/authorizations", headers=auth())).json()["items"]
        assert [a["number"] for a in listed] == [outcome["authorization"]["number"]]
        kpi = (await client.get("/v1/reports/coverage", headers=auth())).json()
        assert kpi["target_percent"] == "97.00"
        review = await client.post("/v1/concurrent-reviews", headers=auth(), json={
            "reference": "CR-1", "authorization_number": listed[0]["number"], "submitted_on": TODAY.isoformat(),
            "requested_units": 6, "requested_end": (TODAY + timedelta(days=120)).isoformat()})
        assert review.json()["recorded"] is True
