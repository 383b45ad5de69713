"""The schedule, the nightly batch and automatic re-checks: sandbox payer, real PostgreSQL, real broker.

The nightly job is driven here with a chosen clock (``nightly_batch_tick(now=...)``, the function the periodic job
calls) so the tests do not depend on the hour they run at; the re-check job runs as it does in production."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from eligibility.adapters.orm import metadata, platform
from eligibility.bootstrap import build_app, sandbox_plan_table
from eligibility.config import EligibilitySettings
from eligibility.domain.exceptions import PayerUnavailable
from eligibility.sandbox.gateway import SandboxPayerGateway
from eligibility.service_layer import nightly_runs, rechecks
from eligibility.service_layer.unit_of_work import units_of_work
from rcm_shared.contracts import DenialRaisedV1, envelope_for, topics
from rcm_shared.db.database import Database
from rcm_shared.testing.fixtures import auth, fixed_clock, running, settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes, read_topic

from .conftest import evening, services_of, today

pytestmark = pytest.mark.integration

BIRTH_DATES = {"SBX000001": "1988-04-12", "SBX000002": "1975-09-03", "SBX000003": "1992-01-20",
               "SBX000004": "2001-11-11", "SBX000005": "1969-02-28"}


class RecordingSandbox(SandboxPayerGateway):
    """The sandbox payer, keeping every batch handed to it; the first ``refuse`` hand-overs fail as an outage."""

    def __init__(self, refuse: int = 0) -> None:
        super().__init__(sandbox_plan_table())
        self.submitted: list[tuple[str | None, str]] = []
        self.refuse = refuse

    async def submit_batch(self, request_270: str, payload_id: str | None = None) -> str:
        self.submitted.append((payload_id, request_270))
        if self.refuse:
            self.refuse -= 1
            raise PayerUnavailable("clearinghouse down", error_code="HTTP503")
        return await super().submit_batch(request_270, payload_id)


def insurance(member_id: str) -> dict[str, Any]:
    return {"payer_name": "SANDBOX HEALTH PLAN", "provider_npi": "1234567893", "provider_name": "RIVERSIDE COUNSELING",
            "subscriber": {"first_name": "ALEX", "last_name": "SAMPLE", "member_id": member_id,
                           "birth_date": BIRTH_DATES.get(member_id, "1990-01-01")}}


def booked(visit_id: str, patient_id: str, day: date, member_id: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"visit_id": visit_id, "patient_id": patient_id, "payer_id": "SBXHP",
                            "service_date": day.isoformat(), **extra}
    if member_id:
        body["insurance"] = insurance(member_id)
    return body


def check_body(member_id: str, patient_id: str, day: date) -> dict[str, Any]:
    return {"patient_id": patient_id, "payer_id": "SBXHP", "payer_name": "SANDBOX HEALTH PLAN",
            "provider_npi": "1234567893", "provider_name": "RIVERSIDE COUNSELING", "service_date": day.isoformat(),
            "subscriber": insurance(member_id)["subscriber"]}


def app_for(broker: Any, databases: Any, gateway: SandboxPayerGateway) -> Any:
    settings = settings_for(EligibilitySettings, databases.create("elig"), broker, nightly_batch_enabled=False,
                            recheck_poll_seconds=0.2)
    return build_app(settings, gateway=gateway, clock=fixed_clock())


async def test_schedule_nightly_run_snapshots_events_and_work_queue(broker, databases) -> None:  # type: ignore[no-untyped-def]
    gateway = RecordingSandbox()
    app = app_for(broker, databases, gateway)
    now, day = evening()
    async with running(app) as client:
        fresh = await client.post("/v1/coverage-checks", json=check_body("SBX000004", "pt-fresh", day),
                                  headers=auth())
        assert fresh.status_code == 201, fresh.text
        schedule = await client.post("/v1/schedule", headers=auth(), json={"visits": [
            booked("a-1", "pt-active", day, "SBX000001"),
            booked("a-2", "pt-unknown", day, "SBX123456"),
            booked("a-3", "pt-inactive", day, "SBX000002"),
            booked("a-4", "pt-busy", day, "SBX999999"),
            booked("a-10", "pt-carve", day, "SBX000003"),  # mental health carved out to SBXBH
            booked("a-5", "pt-fresh", day),  # checked this afternoon: its details are on file already
            booked("a-6", "pt-nodetails", day),
            booked("a-7", "pt-cancelled", day, "SBX000005", cancelled=True),
            booked("a-8", "pt-active", day + timedelta(days=1), "SBX000001"),  # the night after
        ]})
        assert schedule.status_code == 200, schedule.text
        assert schedule.json() == {"recorded": 9, "rechecks_queued": 0}

        services = services_of(app)
        await nightly_runs.nightly_batch_tick(services.uows, services.payer, services.rules, now=now)

        assert len(gateway.submitted) == 1, "one batch for the practice's night"
        assert gateway.submitted[0][1].count("ST*270*") == 5
        runs = (await client.get("/v1/batch-runs", headers=auth())).json()["items"]
        assert len(runs) == 1
        run = runs[0]
        assert (run["schedule_date"], run["status"], run["trigger"]) == (day.isoformat(), "completed", "schedule")
        assert (run["inquiry_count"], run["fresh_count"], run["no_insurance_count"]) == (5, 1, 1)
        assert run["payload_id"] == gateway.submitted[0][0] and "request_x12" not in run
        detail = (await client.get(f"/v1/batch-runs/{run['run_id']}", headers=auth())).json()
        inquiries = {i["patient_id"]: i for i in detail["inquiries"]}
        assert set(inquiries) == {"pt-active", "pt-unknown", "pt-inactive", "pt-busy", "pt-carve"}
        assert all(i["status"] == "answered" and i["check_id"] for i in inquiries.values())
        assert inquiries["pt-active"]["reasons"] == ["never_checked"]

        coverage = (await client.get("/v1/patients/pt-active/coverage", headers=auth())).json()["coverage"][0]
        assert coverage["active"] is True and coverage["checked_on"] == day.isoformat()
        assert coverage["check_id"] == inquiries["pt-active"]["check_id"]
        history = (await client.get("/v1/patients/pt-active/coverage-checks", headers=auth())).json()["checks"]
        assert [(h["origin"], h["batch_run_id"]) for h in history] == [("nightly_batch", run["run_id"])]

        items = (await client.get("/v1/work-items", headers=auth())).json()["items"]
        found = {i["patient_id"]: (i["kind"], i["reason_codes"], i["next_action"]) for i in items}
        assert found == {
            "pt-unknown": ("rejected", ["75"], "correct_and_resend"),
            "pt-inactive": ("inactive_coverage", [], "collect_new_coverage"),
            "pt-busy": ("payer_unavailable", ["42"], "retry_later"),
            "pt-nodetails": ("no_insurance_on_file", [], "check_coverage"),
        }
        assert {i["run_id"] for i in items} == {run["run_id"]}
        assert all("SAMPLE" not in i["detail"] and "SBX" not in i["detail"] for i in items)

        (carve_out,) = [r for r in (await client.get("/v1/rechecks", headers=auth())).json()["items"]
                        if r["reason"] == "carve_out"]
        assert (carve_out["patient_id"], carve_out["payer_id"]) == ("pt-carve", "SBXBH")
        assert carve_out["follows_check_id"] == inquiries["pt-carve"]["check_id"]

        checked = await read_topic(broker.bootstrap, topics.ELIGIBILITY_CHECKED, expect=6)
        keys = {r.key.decode() for r in checked if r.key}
        assert {i["check_id"] for i in inquiries.values()} <= keys, "an event per answered inquiry"
        by_check = {json.loads(r.value)["data"]["check_id"]: json.loads(r.value)["data"] for r in checked}
        assert by_check[inquiries["pt-active"]["check_id"]]["active"] is True
        assert by_check[inquiries["pt-inactive"]["check_id"]]["active"] is False

        # The same night again (the job's next tick, a restart, an operator): nothing more is sent.
        await nightly_runs.nightly_batch_tick(services.uows, services.payer, services.rules,
                                              now=now + timedelta(hours=2))
        again = await client.post("/v1/batch-runs", json={"schedule_date": day.isoformat()}, headers=auth())
        assert again.status_code == 200, again.text
        assert again.json()["created"] is False and again.json()["run"]["run_id"] == run["run_id"]
        assert len(gateway.submitted) == 1
        assert len((await client.get("/v1/batch-runs", headers=auth())).json()["items"]) == 1

        # Two replicas racing for another practice's night: one batch.
        other = await client.post("/v1/schedule", headers=auth("practice-b"),
                                  json={"visits": [booked("b-1", "pt-b", day, "SBX000001")]})
        assert other.status_code == 200
        replica = Database(services.settings, metadata, platform)
        try:
            await asyncio.gather(
                nightly_runs.nightly_batch_tick(services.uows, services.payer, services.rules, now=now),
                nightly_runs.nightly_batch_tick(units_of_work(replica), services.payer, services.rules, now=now))
        finally:
            await replica.dispose()
        assert len(gateway.submitted) == 2
        b_runs = (await client.get("/v1/batch-runs", headers=auth("practice-b"))).json()["items"]
        assert [(r["status"], r["inquiry_count"]) for r in b_runs] == [("completed", 1)]

        # Booked after the night's run: checked at once, in real time, if stale.
        late = await client.post("/v1/schedule", headers=auth(),
                                 json={"visits": [booked("a-9", "pt-late", day, "SBX000005")]})
        assert late.json() == {"recorded": 1, "rechecks_queued": 1}

        async def late_checked() -> list[dict[str, Any]] | None:
            done = (await client.get("/v1/rechecks?status=done", headers=auth())).json()["items"]
            return [r for r in done if r["reason"] != "carve_out"] or None  # the carve-out's is due at 'now'

        (recheck,) = await eventually(late_checked, what="the late booking's re-check")
        assert (recheck["patient_id"], recheck["reason"]) == ("pt-late", "booked_after_nightly_run")
        late_history = (await client.get("/v1/patients/pt-late/coverage-checks", headers=auth())).json()["checks"]
        assert [h["origin"] for h in late_history] == ["recheck"]

        resolved = await client.post(f"/v1/work-items/{items[0]['item_id']}/resolve", headers=auth())
        assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
        assert (await client.post(f"/v1/work-items/{items[0]['item_id']}/resolve",
                                  headers=auth("practice-b"))).status_code == 404
        assert len((await client.get("/v1/work-items", headers=auth())).json()["items"]) == 3

        # each item is on the work-item kernel too (same id): resolved by the old route, closed there as well
        closed = (await client.get(f"/v1/work-items/{items[0]['item_id']}", headers=auth())).json()
        assert (closed["queue"], closed["state"], closed["resolution_code"]) == ("eligibility", "resolved", "resolved")
        assert closed["category"] == items[0]["kind"]
        # ... and worked through the kernel's actions: assigned, then resolved, and the eligibility item with it
        other = items[1]
        kernel = (await client.get(f"/v1/work-items/{other['item_id']}", headers=auth())).json()
        assert kernel["state"] == "open" and kernel["payer_id"] == other["payer_id"]
        assigned = await client.post(f"/v1/work-items/{other['item_id']}/actions", headers=auth(), json={
            "action": "assign", "assignee": "front-desk", "version": kernel["version"]})
        assert assigned.status_code == 200, assigned.text
        stale = await client.post(f"/v1/work-items/{other['item_id']}/actions", headers=auth(), json={
            "action": "resolve", "resolution_code": "coverage_updated", "version": kernel["version"]})
        assert stale.status_code == 409
        done = await client.post(f"/v1/work-items/{other['item_id']}/actions", headers=auth(), json={
            "action": "resolve", "resolution_code": "coverage_updated", "version": assigned.json()["version"]})
        assert done.status_code == 200, done.text
        assert len((await client.get("/v1/work-items", headers=auth())).json()["items"]) == 2
        counts = (await client.get("/v1/work-queues", headers=auth())).json()
        assert sum(c["count"] for c in counts if c["queue"] == "eligibility") == 2


async def test_a_refused_batch_is_resent_with_its_payload_id(broker, databases) -> None:  # type: ignore[no-untyped-def]
    gateway = RecordingSandbox(refuse=1)
    app = app_for(broker, databases, gateway)
    now, day = evening()
    async with running(app) as client:
        await client.post("/v1/schedule", headers=auth(), json={"visits": [booked("a-1", "pt-1", day, "SBX000001")]})
        services = services_of(app)
        await nightly_runs.nightly_batch_tick(services.uows, services.payer, services.rules, now=now)
        (run,) = (await client.get("/v1/batch-runs", headers=auth())).json()["items"]
        assert (run["status"], run["attempts"], run["last_error"]) == ("send_failed", 1, "HTTP503")

        await nightly_runs.nightly_batch_tick(services.uows, services.payer, services.rules,
                                              now=now + timedelta(minutes=1))
        assert len(gateway.submitted) == 1, "the backoff (rules) is respected"

        caught_up = await client.post("/v1/batch-runs", json={"schedule_date": day.isoformat()}, headers=auth())
        assert caught_up.status_code == 200, caught_up.text
        assert caught_up.json()["run"]["status"] == "completed"
        assert [p for p, _ in gateway.submitted] == [run["payload_id"], run["payload_id"]], "the same batch again"
        coverage = (await client.get("/v1/patients/pt-1/coverage", headers=auth())).json()["coverage"][0]
        assert coverage["active"] is True

        tonight = await client.post("/v1/batch-runs", headers=auth())  # no body: the next schedule date
        assert tonight.status_code == 200 and tonight.json()["run"]["run_id"] == run["run_id"]
        assert len(gateway.submitted) == 2

        denied = await client.post("/v1/batch-runs", headers=auth(scopes=["eligibility:read"]))
        assert denied.status_code == 403
        bad_date = await client.post("/v1/batch-runs", json={"schedule_date": "tomorrow"}, headers=auth())
        assert bad_date.status_code == 422 and bad_date.json()["errors"][0]["field"] == "body.schedule_date"
        no_member = booked("a-2", "pt-2", day, "SBX000001")
        no_member["insurance"]["subscriber"]["member_id"] = ""
        bad_visit = await client.post("/v1/schedule", json={"visits": [no_member]}, headers=auth())
        assert bad_visit.status_code == 422
        assert bad_visit.json()["errors"][0]["field"] == "body.visits.0.insurance.subscriber.member_id"
        assert "SAMPLE" not in bad_visit.text


async def test_an_eligibility_denial_is_rechecked_automatically(broker, databases) -> None:  # type: ignore[no-untyped-def]
    gateway = RecordingSandbox()
    app = app_for(broker, databases, gateway)
    async with running(app) as client:
        first = await client.post("/v1/coverage-checks", headers=auth(),
                                  json=check_body("SBX000001", "pt-1", today()))
        assert first.status_code == 201

        def denial(denial_id: str, patient_id: str) -> Any:
            event = DenialRaisedV1(denial_id=denial_id, claim_id=f"c-{denial_id}", practice_id="practice-a",
                                   patient_id=patient_id, payer_id="SBXHP", era_id="e-1", category="eligibility",
                                   reason_codes=["27"], amount=Decimal("150.00"), suggested_action="verify_eligibility",
                                   queue="billing")
            return envelope_for(event, source="remittance", subject=event.claim_id, practice_id="practice-a")

        await publish_envelopes(broker.bootstrap, topics.DENIAL_RAISED, [denial("d-1", "pt-1"), denial("d-2", "pt-9")])

        async def rechecked() -> list[dict[str, Any]] | None:
            done = (await client.get("/v1/rechecks?status=done", headers=auth())).json()["items"]
            return done or None

        (recheck,) = await eventually(rechecked, what="an automatic re-check after the eligibility denial")
        assert (recheck["patient_id"], recheck["reason"]) == ("pt-1", "eligibility_denial")
        history = (await client.get("/v1/patients/pt-1/coverage-checks", headers=auth())).json()["checks"]
        assert [h["origin"] for h in history] == ["recheck", "request"]
        assert history[0]["check_id"] == recheck["check_id"]
        coverage = (await client.get("/v1/patients/pt-1/coverage", headers=auth())).json()["coverage"][0]
        assert coverage["recheck_needed"] is False and coverage["check_id"] == recheck["check_id"]

        async def no_details() -> list[dict[str, Any]] | None:
            items = (await client.get("/v1/work-items", headers=auth())).json()["items"]
            return [i for i in items if i["patient_id"] == "pt-9"] or None

        (item,) = await eventually(no_details, what="a work item for a denied patient with no member details")
        assert item["kind"] == "no_insurance_on_file"

        checked = await read_topic(broker.bootstrap, topics.ELIGIBILITY_CHECKED, expect=2)
        assert recheck["check_id"] in {r.key.decode() for r in checked if r.key}

        # Another denial of the same member right after: noted, but inside the payer's window no second inquiry.
        await publish_envelopes(broker.bootstrap, topics.DENIAL_RAISED, [denial("d-3", "pt-1")])

        async def noted() -> list[str] | None:
            item = (await client.get("/v1/patients/pt-1/coverage", headers=auth())).json()["coverage"][0]
            return item["recheck_reasons"] if item["recheck_needed"] else None

        assert "eligibility_denial" in await eventually(noted, what="the second denial noted")
        services = services_of(app)
        assert await rechecks.send_due_rechecks(services.uows, services.payer, services.rules,
                                                now=services.clock.now()) == 0
        assert len((await client.get("/v1/rechecks", headers=auth())).json()["items"]) == 1
