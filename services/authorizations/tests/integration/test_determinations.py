"""visit-authorization-determined on real PostgreSQL and the real broker: every insured visit is answered once
(authorization and credentialing, the NPIs the claim reports), and again - a higher sequence - when a later fact
changes the answer; the answer is the one the HTTP lookup and credentialing check give people and tools. A poll of
visits is applied in a handful of statements, however many visits it holds."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest
from authorizations.adapters.orm import visit_determinations
from authorizations.bootstrap import build_app, build_runtime, build_services
from authorizations.config import AuthorizationsSettings
from authorizations.service_layer.handlers import message_map
from rcm_shared.contracts import CodedService, EventEnvelope, VisitCompletedV1, envelope_for, topics
from rcm_shared.messaging import batch_dispatcher
from rcm_shared.testing.fixtures import auth, fixed_clock, running, settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes, read_topic
from sqlalchemy import event, func, select

pytestmark = pytest.mark.integration
TODAY = fixed_clock().today()
CLINICIAN, GROUP, SUPERVISOR = "1234567893", "1245319599", "1003000126"


def completed(visit_id: str, *, patient: str = "pt-1", payer: str | None = "SBXHP", days_ago: int = 2,
              voided: bool = False, **clinicians: Any) -> EventEnvelope:
    payload = VisitCompletedV1(
        visit_id=visit_id, practice_id="practice-a", patient_id=patient,
        billing_model="insurance" if payer else "self_pay", payer_id=payer,
        date_of_service=TODAY - timedelta(days=days_ago), rendering_npi=CLINICIAN, billing_npi=GROUP,
        services=[CodedService(procedure_code="90837")], voided=voided,
        **{"rendering_credential": "LCSW", **clinicians})
    return envelope_for(payload, source="claims", subject=visit_id, practice_id="practice-a")


async def answers_by_visit(bootstrap: str, expect: int) -> dict[str, list[dict[str, Any]]]:
    """Every answer published so far, per visit, in sequence order (keys checked against subjects)."""
    records = await read_topic(bootstrap, topics.VISIT_AUTHORIZATION_DETERMINED, expect=expect)
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        envelope = json.loads(record.value)
        assert record.key.decode() == envelope["subject"] == envelope["data"]["visit_id"], "keyed by visit id"
        found[envelope["subject"]].append(envelope["data"])
    return {visit: sorted(items, key=lambda d: d["sequence"]) for visit, items in found.items()}


async def test_each_insured_visit_is_answered_and_answered_again_when_a_fact_changes(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(AuthorizationsSettings, databases.create("auth"), broker), clock=fixed_clock())
    async with running(app) as client:
        assert (await client.post("/v1/credentialing/enrollments", headers=auth(), json={
            "npi": GROUP, "payer_id": "SBXHP", "effective_from": "2020-01-01"})).status_code == 201
        await publish_envelopes(broker.bootstrap, topics.VISIT_COMPLETED, [
            completed("v-1"), completed("v-self", payer=None), completed("v-2", patient="pt-2")])
        first = await answers_by_visit(broker.bootstrap, expect=2)
        assert sorted(first) == ["v-1", "v-2"], "the self-pay visit has nothing to determine"
        (v1,) = first["v-1"]
        assert (v1["sequence"], v1["authorization_required"], v1["authorization_number"], v1["missing_reason"]) == (
            1, True, None, "none_on_file")
        assert {p["role"]: (p["allowed"], p["reason"]) for p in v1["providers"]} == {
            "rendering": (False, "not_enrolled_with_payer"), "billing": (True, "enrolled")}
        assert v1["rendering_npi"] is None

        # An authorization recorded later: pt-1's visit is answered again, pt-2's is not touched.
        assert (await client.post("/v1/authorizations", headers=auth(), json={
            "number": "AUTH-1", "patient_id": "pt-1", "payer_id": "SBXHP", "cpt_codes": ["90837"],
            "approved_units": 4, "start": (TODAY - timedelta(days=30)).isoformat(),
            "end": (TODAY + timedelta(days=30)).isoformat()})).status_code == 201
        # The clinician enrolled later: both visits are answered again.
        assert (await client.post("/v1/credentialing/enrollments", headers=auth(), json={
            "npi": CLINICIAN, "payer_id": "SBXHP", "effective_from": "2020-01-01"})).status_code == 201
        later = await answers_by_visit(broker.bootstrap, expect=5)
        assert [a["sequence"] for a in later["v-1"]] == [1, 2, 3] and [a["sequence"] for a in later["v-2"]] == [1, 2]
        v1 = later["v-1"][-1]
        assert (v1["authorization_number"], v1["missing_reason"], v1["units_remaining"]) == ("AUTH-1", None, 3)
        assert (v1["rendering_npi"], v1["supervising_npi"]) == (CLINICIAN, None)

        # The answer is the one people and tools get over HTTP.
        lookup = (await client.get("/v1/authorization-lookup", headers=auth(), params={
            "visit_id": "v-1", "patient_id": "pt-1", "payer_id": "SBXHP", "cpt_code": "90837",
            "date_of_service": v1["date_of_service"]})).json()
        assert lookup == {"required": v1["authorization_required"], "authorization_number": "AUTH-1",
                          "missing_reason": None}
        check = (await client.get("/v1/credentialing/check", headers=auth(), params={
            "npi": CLINICIAN, "payer_id": "SBXHP", "date_of_service": v1["date_of_service"], "credential": "LCSW"}
        )).json()
        rendering = next(p for p in v1["providers"] if p["role"] == "rendering")
        assert (check["allowed"], check["reason"], check["rendering_npi"]) == (
            rendering["allowed"], rendering["reason"], v1["rendering_npi"])


async def test_a_supervised_clinicians_visit_names_the_npis_the_payer_wants(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(AuthorizationsSettings, databases.create("auth"), broker), clock=fixed_clock())
    async with running(app) as client:
        for payer in ("SBXBH", "ACME"):
            assert (await client.post("/v1/credentialing/enrollments", headers=auth(), json={
                "npi": SUPERVISOR, "payer_id": payer, "effective_from": "2020-01-01"})).status_code == 201
        assert (await client.post("/v1/credentialing/supervisions", headers=auth(), json={
            "supervisee_npi": CLINICIAN, "supervisor_npi": SUPERVISOR, "effective_from": "2025-01-01"})
        ).status_code == 201
        supervised = {"rendering_credential": "LMSW", "supervising_npi": SUPERVISOR, "supervising_credential": "LCSW"}
        await publish_envelopes(broker.bootstrap, topics.VISIT_COMPLETED, [
            completed("v-bh", payer="SBXBH", **supervised), completed("v-acme", payer="ACME", **supervised)])
        answers = await answers_by_visit(broker.bootstrap, expect=2)
        bh, acme = answers["v-bh"][-1], answers["v-acme"][-1]
        assert (bh["rendering_npi"], bh["supervising_npi"]) == (CLINICIAN, SUPERVISOR), "clinician 2310B, supervisor D"
        assert (acme["rendering_npi"], acme["supervising_npi"]) == (SUPERVISOR, None), "supervisor as rendering"
        assert {p["role"]: p["reason"] for p in acme["providers"]} == {
            "rendering": "billed_under_supervisor", "supervising": "enrolled", "billing": "not_enrolled_with_payer"}
        assert acme["authorization_required"] is True, "ACME's requirement lives here now"


async def test_a_poll_of_visits_is_applied_in_a_few_statements_however_many_it_holds(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(AuthorizationsSettings, databases.create("auth"), broker, run_workers=False)
    services = build_services(settings, fixed_clock())
    runtime = build_runtime(services)
    await runtime.migrate()
    handle = batch_dispatcher(message_map(services.uows, services.rules, services.clock))
    statements: list[str] = []
    event.listen(services.db.engine.sync_engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))
    try:
        counts = []
        for size, offset in ((40, 0), (400, 1000)):
            polled = [completed(f"v-{offset + n}", patient=f"pt-{offset + n % 40}", days_ago=1 + n % 30)
                      for n in range(size)]
            statements.clear()
            async with services.db.sessions() as session, session.begin():
                await handle(session, [(e, VisitCompletedV1.model_validate(e.data)) for e in polled])
            counts.append(len(statements))
        async with services.db.sessions() as session:
            determined = await session.scalar(select(func.count()).select_from(visit_determinations))
            staged = dict((await session.execute(select(
                services.db.tables.outbox.c.event_type, func.count()).group_by(
                services.db.tables.outbox.c.event_type))).all())
        assert determined == 440 and staged == {"visit-authorization.determined": 440}, staged
        print(f"statements for a poll of 40 and of 400 visits: {counts}")
        assert counts[1] <= counts[0] + 2, f"ten times the visits, the same statements: {counts}"
        assert counts[1] < 30, counts
    finally:
        await services.db.dispose()


async def test_answers_wait_for_eventually_consistent_order(broker, databases) -> None:  # type: ignore[no-untyped-def]
    """A void arriving before its completion: the completion stays void and is never answered."""
    app = build_app(settings_for(AuthorizationsSettings, databases.create("auth"), broker), clock=fixed_clock())
    async with running(app) as client:
        await publish_envelopes(broker.bootstrap, topics.VISIT_COMPLETED, [
            completed("v-void", voided=True), completed("v-void"), completed("v-live")])

        async def applied() -> bool:
            work = (await client.get("/v1/work-queue", headers=auth())).json()
            return {m["visit_id"] for m in work["missing_authorizations"]} == {"v-live"}

        await eventually(applied, what="the live visit applied, the voided one not")
        answers = await answers_by_visit(broker.bootstrap, expect=1)
        assert sorted(answers) == ["v-live"]
