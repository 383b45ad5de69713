"""What the unattended jobs do when one payer answer or one exchange goes wrong (real PostgreSQL, the sandbox
payer): the rest of the work goes on, the bad one is retried within the rules and then handed to a person; a payer
file holding a NUL is kept instead of failing the write after the payer has answered."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from eligibility.adapters.orm import batch_runs as batch_runs_table
from eligibility.adapters.orm import coverage_checks
from eligibility.bootstrap import build_app, sandbox_plan_table
from eligibility.config import EligibilitySettings
from eligibility.domain.model import RecheckReason
from eligibility.sandbox.gateway import SandboxPayerGateway
from eligibility.service_layer import nightly_runs, rechecks
from rcm_shared.testing.fixtures import TEST_INSTANT, auth, fixed_clock, running, settings_for
from sqlalchemy import select

from .conftest import RULES, evening, services_of, today

pytestmark = pytest.mark.integration
SUBSCRIBERS = {"pt-1": ("SBX000001", "1988-04-12"), "pt-2": ("SBX000004", "2001-11-11")}


def app_for(broker: Any, databases: Any, gateway: SandboxPayerGateway) -> Any:
    # The periodic jobs run once at start (nothing is due then); the tests drive them with a chosen clock.
    settings = settings_for(EligibilitySettings, databases.create("elig"), broker, nightly_batch_enabled=False,
                            recheck_poll_seconds=3600)
    return build_app(settings, gateway=gateway, clock=fixed_clock())


def booked(patient_id: str, day: date) -> dict[str, Any]:
    member_id, born = SUBSCRIBERS[patient_id]
    return {"visit_id": f"appt-{patient_id}", "patient_id": patient_id, "payer_id": "SBXHP",
            "service_date": day.isoformat(), "insurance": {
                "provider_npi": "1234567893", "provider_name": "RIVERSIDE COUNSELING", "subscriber": {
                    "first_name": "ALEX", "last_name": "SAMPLE", "member_id": member_id, "birth_date": born}}}


class NulInAnswer(SandboxPayerGateway):
    """The sandbox's 271 with a NUL in the subscriber's name: X12 does not allow it, PostgreSQL cannot store it."""

    async def exchange(self, request_270: str) -> str:
        return (await super().exchange(request_270)).replace("NM1*IL*1*SAMPLE", "NM1*IL*1*SAM\x00PLE")


async def test_a_271_holding_a_nul_is_kept_not_a_500(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = app_for(broker, databases, NulInAnswer(sandbox_plan_table()))
    async with running(app) as client:
        member_id, born = SUBSCRIBERS["pt-1"]
        checked = await client.post("/v1/coverage-checks", headers=auth(), json={
            "patient_id": "pt-1", "payer_id": "SBXHP", "provider_npi": "1234567893", "provider_name": "RIVERSIDE",
            "service_date": today().isoformat(),
            "subscriber": {"first_name": "ALEX", "last_name": "SAMPLE", "member_id": member_id, "birth_date": born}})
        assert checked.status_code == 201, checked.text
        async with services_of(app).db.sessions() as session:
            stored = (await session.execute(select(coverage_checks.c.response_x12).where(
                coverage_checks.c.check_id == checked.json()["check_id"]))).scalar_one()
        assert stored.startswith("ISA*") and "\x00" not in stored


class FailsFor(SandboxPayerGateway):
    """The sandbox payer, except that exchanges for one member fail with an error no one planned for."""

    def __init__(self, member_id: str) -> None:
        super().__init__(sandbox_plan_table())
        self.member_id = member_id
        self.asked: list[str] = []

    async def exchange(self, request_270: str) -> str:
        member = next(m for m, _ in SUBSCRIBERS.values() if f"*MI*{m}~" in request_270)
        self.asked.append(member)
        if member == self.member_id:
            raise RuntimeError("an unwrapped transport bug")
        return await super().exchange(request_270)

    async def retrieve_batch(self, payload_id: str) -> str | None:
        answer = await super().retrieve_batch(payload_id)
        if answer is not None and f"*MI*{self.member_id}~" in answer:
            raise RuntimeError("an unwrapped transport bug")
        return answer


async def test_one_failing_recheck_neither_strands_the_others_nor_repeats_forever(broker, databases) -> None:  # type: ignore[no-untyped-def]
    gateway = FailsFor("SBX000001")
    app = app_for(broker, databases, gateway)
    services = services_of(app)
    now = TEST_INSTANT + timedelta(days=1)  # due only on the test's clock, not the periodic job's
    async with running(app) as client:
        schedule = await client.post("/v1/schedule", headers=auth(), json={"visits": [
            booked("pt-1", today()), booked("pt-2", today())]})
        assert schedule.status_code == 200, schedule.text
        async with services.uows() as uow:
            for patient_id, queued_at in (("pt-1", now - timedelta(seconds=2)), ("pt-2", now - timedelta(seconds=1))):
                await rechecks.enqueue_recheck(uow, services.rules, practice_id="practice-a", patient_id=patient_id,
                                               payer_id="SBXHP", reason=RecheckReason.ELIGIBILITY_DENIAL,
                                               service_date=today(), now=queued_at)

        assert await rechecks.send_due_rechecks(services.uows, services.payer, services.rules, now=now) == 2
        by_patient = {r["patient_id"]: r for r in (await client.get("/v1/rechecks", headers=auth())).json()["items"]}
        assert by_patient["pt-2"]["status"] == "done", "the other re-check went out"
        failing = by_patient["pt-1"]
        assert (failing["status"], failing["last_error"]) == ("pending", "RuntimeError")

        # Retried after each of the payer's retry delays, then handed to a person: never an endless resend.
        retries = RULES.payer_limits.for_payer("SBXHP", now.date()).retry_after_minutes
        clock = now
        for _ in retries:
            clock += timedelta(days=1)
            await rechecks.send_due_rechecks(services.uows, services.payer, services.rules, now=clock)
        assert gateway.asked.count("SBX000001") == len(retries) + 1
        await rechecks.send_due_rechecks(services.uows, services.payer, services.rules,
                                         now=clock + timedelta(days=1))
        assert gateway.asked.count("SBX000001") == len(retries) + 1
        failed = (await client.get("/v1/rechecks?status=failed", headers=auth())).json()["items"]
        assert [r["patient_id"] for r in failed] == ["pt-1"]
        items = (await client.get("/v1/work-items", headers=auth())).json()["items"]
        assert [(i["patient_id"], i["kind"]) for i in items] == [("pt-1", "payer_unavailable")]
        assert all("SAMPLE" not in i["detail"] and "SBX" not in i["detail"] for i in items)


async def test_one_practice_s_unusable_batch_answer_does_not_hold_up_the_others(broker, databases) -> None:  # type: ignore[no-untyped-def]
    gateway = FailsFor("SBX000001")
    app = app_for(broker, databases, gateway)
    services = services_of(app)
    schedule = RULES.nightly_batch.in_force(today())
    now, day = evening()
    async with running(app) as client:
        for practice, patient in (("practice-a", "pt-1"), ("practice-b", "pt-2")):
            posted = await client.post("/v1/schedule", headers=auth(practice), json={"visits": [booked(patient, day)]})
            assert posted.status_code == 200, posted.text

        await nightly_runs.nightly_batch_tick(services.uows, services.payer, services.rules, now=now)
        (good,) = (await client.get("/v1/batch-runs", headers=auth("practice-b"))).json()["items"]
        assert good["status"] == "completed", "practice b's answers are in"
        (stuck,) = (await client.get("/v1/batch-runs", headers=auth("practice-a"))).json()["items"]
        assert stuck["status"] == "submitted", "practice a's is tried again on the next tick"

        later = now + timedelta(hours=schedule.results_wait_hours, minutes=1)
        await nightly_runs.nightly_batch_tick(services.uows, services.payer, services.rules, now=later)
        (expired,) = (await client.get("/v1/batch-runs", headers=auth("practice-a"))).json()["items"]
        assert (expired["status"], expired["last_error"]) == ("expired", "batch_results_unusable")
        items = (await client.get("/v1/work-items", headers=auth("practice-a"))).json()["items"]
        assert [(i["patient_id"], i["kind"]) for i in items] == [("pt-1", "payer_unavailable")]
        async with services.db.sessions() as session:
            statuses = (await session.execute(select(batch_runs_table.c.status))).scalars().all()
        assert sorted(statuses) == ["completed", "expired"]
