"""The reporting read model on real PostgreSQL and the real broker: every billing topic projected, the KPIs, A/R
aging and clinician summary computed from it and opened down to claims, one practice never seeing another's; a
duplicate changes nothing, and a replay of the topics from the beginning into an empty database gives the same
tables (the state hash)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from rcm_shared.contracts import (
    ClaimLineV1,
    ClaimPaymentPostedV2,
    ClaimStatusChangedV1,
    ClaimSubmittedV1,
    CodedService,
    DenialRaisedV1,
    EligibilityCheckedV1,
    EventEnvelope,
    EventPayload,
    PatientBalanceChangedV1,
    PatientResponsibilityAssessedV1,
    VisitAuthorizationDeterminedV1,
    VisitCompletedV1,
    envelope_for,
)
from rcm_shared.observability import metrics
from rcm_shared.testing.fixtures import auth, fixed_clock, running, settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes
from reporting.adapters.orm import claim_facts
from reporting.bootstrap import build_app, build_runtime, build_services
from reporting.config import ReportingSettings
from reporting.domain.facts import FactRules
from reporting.service_layer import handlers, projections, views
from sqlalchemy import func, select, text

pytestmark = pytest.mark.integration
CLOCK = fixed_clock()
TODAY = CLOCK.today()
NOW = CLOCK.now()
ALICE, BOB = "1234567893", "1245319599"
PRACTICE = "practice-a"


def at(days_ago: int) -> datetime:
    return NOW - timedelta(days=days_ago)


def env(payload: EventPayload, subject: str, when: datetime, practice: str = PRACTICE) -> EventEnvelope:
    envelope = envelope_for(payload, source="test", subject=subject, practice_id=practice)
    return envelope.model_copy(update={"time": when})


def visit(visit_id: str, npi: str, days_ago: int, *, payer: str | None = "SBXHP", practice: str = PRACTICE
          ) -> EventEnvelope:
    return env(VisitCompletedV1(
        visit_id=visit_id, practice_id=practice, patient_id=f"pt-{visit_id}",
        billing_model="insurance" if payer else "self_pay", payer_id=payer,
        date_of_service=TODAY - timedelta(days=days_ago), rendering_npi=npi, program="outpatient",
        services=[CodedService(procedure_code="90837")],
        self_pay_charge=None if payer else Decimal("120.00")), visit_id, at(days_ago))


def submitted(claim_id: str, npi: str, dos_days_ago: int, lag: int, charge: str = "150.00", *,
              payer: str = "SBXHP", practice: str = PRACTICE) -> EventEnvelope:
    return env(ClaimSubmittedV1(
        claim_id=claim_id, visit_id=f"v-{claim_id}", practice_id=practice, patient_id=f"pt-{claim_id}",
        payer_id=payer, patient_control_number=claim_id.upper(), frequency_code="1", total_charge=Decimal(charge),
        date_of_service=TODAY - timedelta(days=dos_days_ago), rendering_npi=npi, program="outpatient",
        batch_id="b-1", interchange_control_number="000000001",
        lines=[ClaimLineV1(line_number=1, procedure_code="90837", units=1, charge=Decimal(charge))]),
        claim_id, at(dos_days_ago - lag))


def status(claim_id: str, previous: str, new: str, days_ago: int) -> EventEnvelope:
    return env(ClaimStatusChangedV1(claim_id=claim_id, practice_id=PRACTICE, previous_status=previous, status=new),
               claim_id, at(days_ago))


def posted(claim_id: str, outcome: str, paid: str, patient: str, contractual: str, days_ago: int) -> EventEnvelope:
    return env(ClaimPaymentPostedV2(
        posting_id=f"post-{claim_id}", era_id="era-1", claim_id=claim_id, practice_id=PRACTICE, outcome=outcome,
        claim_status_code="1", charge=Decimal("150.00"), paid=Decimal(paid), patient_responsibility=Decimal(patient),
        contractual_adjustment=Decimal(contractual)), claim_id, at(days_ago))


def scenario() -> dict[str, list[EventEnvelope]]:
    """Four claims of Alice and Bob: c-1 paid clean (patient owes $20, pays $15), c-2 denied for coding, c-3
    rejected then paid, c-4 still with the payer (75 days old); a self-pay visit; coverage answers."""
    return {
        "visit-completed": [visit("v-c-1", ALICE, 40), visit("v-c-2", ALICE, 30), visit("v-c-3", BOB, 20),
                            visit("v-c-4", BOB, 75), visit("v-self", BOB, 10, payer=None)],
        "claim-submitted": [submitted("c-1", ALICE, 40, 1), submitted("c-2", ALICE, 30, 2),
                            submitted("c-3", BOB, 20, 3), submitted("c-4", BOB, 75, 5)],
        "claim-status-changed": [status("c-1", "submitted", "paid", 20), status("c-2", "submitted", "denied", 10),
                                 status("c-3", "submitted", "rejected", 16),
                                 status("c-3", "rejected", "paid", 5)],
        "claim-payment-posted": [posted("c-1", "paid", "100.00", "20.00", "30.00", 20),
                                 posted("c-2", "denied", "0.00", "0.00", "150.00", 10),
                                 posted("c-3", "paid", "120.00", "0.00", "30.00", 5)],
        "denial-raised": [env(DenialRaisedV1(
            denial_id="d-1", claim_id="c-2", practice_id=PRACTICE, payer_id="SBXHP", era_id="era-1",
            category="coding", reason_codes=["16"], amount=Decimal("150.00"), suggested_action="correct_and_resubmit",
            queue="coding"), "c-2", at(10))],
        "patient-responsibility-assessed": [env(PatientResponsibilityAssessedV1(
            assessment_id="a-1", posting_id="post-c-1", claim_id="c-1", patient_id="pt-c-1", practice_id=PRACTICE,
            date_of_service=TODAY - timedelta(days=40), deductible=Decimal("0"), coinsurance=Decimal("0"),
            copay=Decimal("20.00"), total=Decimal("20.00")), "c-1", at(20))],
        "patient-balance-changed": [
            env(PatientBalanceChangedV1(account_id="acct-1", patient_id="pt-c-1", practice_id=PRACTICE,
                                        entry_id="e-1", entry_kind="patient_responsibility",
                                        amount=Decimal("20.00"), balance=Decimal("20.00")), "acct-1", at(20)),
            env(PatientBalanceChangedV1(account_id="acct-1", patient_id="pt-c-1", practice_id=PRACTICE,
                                        entry_id="e-2", entry_kind="payment", amount=Decimal("15.00"),
                                        balance=Decimal("5.00")), "acct-1", at(2)),
            env(PatientBalanceChangedV1(account_id="acct-2", patient_id="pt-v-self", practice_id=PRACTICE,
                                        entry_id="e-3", entry_kind="self_pay_charge", amount=Decimal("120.00"),
                                        balance=Decimal("120.00")), "acct-2", at(10))],
        "eligibility-checked": [env(EligibilityCheckedV1(
            check_id="k-1", practice_id=PRACTICE, patient_id="pt-v-c-1", payer_id="SBXHP",
            as_of=TODAY - timedelta(days=42), active=True), "k-1", at(42))],
        "visit-authorization-determined": [
            env(VisitAuthorizationDeterminedV1(
                visit_id="v-c-1", practice_id=PRACTICE, patient_id="pt-1", payer_id="SBXHP",
                date_of_service=TODAY - timedelta(days=40), sequence=1, determined_at=at(40),
                authorization_required=True, authorization_number="AUTH-1"), "v-c-1", at(40)),
            env(VisitAuthorizationDeterminedV1(
                visit_id="v-c-2", practice_id=PRACTICE, patient_id="pt-1", payer_id="SBXHP",
                date_of_service=TODAY - timedelta(days=30), sequence=1, determined_at=at(30),
                authorization_required=True, missing_reason="exhausted"), "v-c-2", at(30)),
            env(VisitAuthorizationDeterminedV1(  # a later answer: covered after all (a higher sequence wins)
                visit_id="v-c-2", practice_id=PRACTICE, patient_id="pt-1", payer_id="SBXHP",
                date_of_service=TODAY - timedelta(days=30), sequence=2, determined_at=at(29),
                authorization_required=True, authorization_number="AUTH-2"), "v-c-2", at(29))],
    }


async def publish_all(bootstrap: str, events: dict[str, list[EventEnvelope]], *, reverse: bool = False) -> None:
    for topic, envelopes in (reversed(events.items()) if reverse else events.items()):
        await publish_envelopes(bootstrap, topic, envelopes)


def kpis(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k["kpi"]: k for k in board["kpis"]}


async def test_every_billing_topic_feeds_the_kpis_and_each_figure_opens_to_its_claims(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(ReportingSettings, databases.create("reporting"), broker), clock=CLOCK)
    async with running(app) as client:
        await publish_all(broker.bootstrap, scenario())

        async def settled() -> dict[str, Any] | None:
            board = (await client.get("/v1/kpis", headers=auth())).json()
            figures = kpis(board)
            done = (figures["net_collection_rate"]["denominator"] and figures["ar_over_60_share"]["denominator"]
                    and figures["uninterrupted_coverage_rate"]["value"] == "100.00")
            return board if done else None

        board = await eventually(settled, what="the events projected")
        figures = kpis(board)
        # c-1 clean, c-3 rejected first; c-2 denied; c-4 undecided
        assert (figures["first_pass_clean_rate"]["value"], figures["first_pass_clean_rate"]["numerator"],
                figures["first_pass_clean_rate"]["denominator"]) == ("33.33", 1, 3)
        assert figures["first_pass_clean_rate"]["judgement"] == "trouble"
        assert (figures["denial_rate"]["value"], figures["coding_denial_rate"]["value"]) == ("33.33", "33.33")
        # A/R: c-2 $150 (denied, being worked), c-4 $150 (75 days), c-1's patient $5, the self-pay $120
        assert figures["ar_over_60_share"]["denominator"] == 15000 + 15000 + 500 + 12000
        assert figures["ar_over_60_share"]["numerator"] == 15000
        assert figures["days_in_ar"]["numerator"] == 15000 + 15000 + 500, "days in A/R counts A/R on claims"
        # collected: 100 + 15 (c-1) + 0 (c-2) + 120 (c-3); collectible: 120 + 0 + 120
        assert figures["net_collection_rate"]["numerator"] == 23500
        assert figures["net_collection_rate"]["denominator"] == 24000
        assert figures["submission_lag_days"]["value"] == "2.8"
        assert figures["uninterrupted_coverage_rate"]["value"] == "100.00", "the later answer replaced the gap"
        assert figures["days_in_ar"]["target"]["trouble"] == "50"
        # one of the four insured visits had its coverage checked in the 30 days before it
        assert (figures["eligibility_verified_rate"]["value"], figures["eligibility_verified_rate"]["judgement"]) == (
            "25.00", "no_target")
        unverified = (await client.get("/v1/kpis/eligibility_verified_rate/claims", headers=auth())).json()
        assert unverified["claim_ids"] == ["c-1"] and unverified["visit_ids"] == ["v-c-2", "v-c-3", "v-c-4"]

        drill = (await client.get("/v1/kpis/denial_rate/claims", headers=auth())).json()
        assert drill["claim_ids"] == ["c-2"] and drill["base_claim_ids"] == ["c-1", "c-2", "c-3"]
        rows = (await client.get("/v1/claims", params=[("ids", "c-2"), ("ids", "c-4")], headers=auth())).json()
        assert [(r["claim_id"], r["status"], r["denial_category"], r["payer_open_cents"]) for r in rows["items"]] == [
            ("c-2", "denied", "coding", 15000), ("c-4", "submitted", None, 15000)]

        aging = (await client.get("/v1/ar-aging", params={"by": "clinician"}, headers=auth())).json()
        assert aging["payer"][BOB]["buckets"]["61-90"] == {"cents": 15000, "claim_ids": ["c-4"], "charges": 1}
        assert aging["payer"][ALICE]["buckets"]["0-30"]["claim_ids"] == ["c-2"]
        assert aging["patient"][ALICE]["total_cents"] == 500
        assert aging["patient"]["(none)"]["total_cents"] == 12000, "a self-pay charge names no claim"

        by_payer = (await client.get("/v1/denials", params={"by": "clinician"}, headers=auth())).json()
        assert [(g["group"], g["denial_rate"]) for g in by_payer["groups"]] == [(ALICE, "50.00"), (BOB, "0.00")]

        month = (TODAY - timedelta(days=20)).strftime("%Y-%m")
        trend = (await client.get("/v1/kpis/trend", params={"period": "week"}, headers=auth())).json()
        assert sum(p["claims"] for p in trend["points"]) == 4, "the default window is the last 90 days"
        # A/R as it stood at the end of each week: today's is the board's; before c-1 was paid (20 days ago) its
        # $150 was still owed by the payer, and before c-4 was submitted (70 days ago) there was no A/R at all.
        last = trend["points"][-1]
        assert (last["ar_as_of"], last["ar_cents"]) == (TODAY.isoformat(), figures["ar_over_60_share"]["denominator"])
        by_day = {p["ar_as_of"]: p for p in trend["points"]}
        # The board and the aging as of a past day: the claims and the patient ledger as they stood then
        then = (TODAY - timedelta(days=22)).isoformat()
        past = kpis((await client.get("/v1/kpis", params={"as_of": then}, headers=auth())).json())
        assert past["ar_over_60_share"]["denominator"] == 3 * 15000
        past_aging = (await client.get("/v1/ar-aging", params={"as_of": then}, headers=auth())).json()
        assert past_aging["total_cents"] == 3 * 15000 and past_aging["patient"] == {}
        week_of_c1 = next(p for p in trend["points"] if TODAY - timedelta(days=25) <= date.fromisoformat(
            p["ar_as_of"]) < TODAY - timedelta(days=20))
        assert week_of_c1["ar_cents"] == 3 * 15000, "c-4, c-1 (paid 20 days ago) and c-2 owed; c-3 not sent yet"
        first = min(by_day)
        assert date.fromisoformat(first) < TODAY - timedelta(days=70) and by_day[first]["ar_cents"] == 0
        summary = (await client.get("/v1/clinician-summary", params={"month": month}, headers=auth())).json()
        assert summary["clinicians"], summary

        # Another practice sees nothing of this one
        other = kpis((await client.get("/v1/kpis", headers=auth("practice-b"))).json())
        assert other["denial_rate"]["denominator"] == 0 and other["ar_over_60_share"]["value"] is None
        assert (await client.get("/v1/claims", params={"ids": "c-2"}, headers=auth("practice-b"))).json() == {
            "items": []}

        # Bad filters are problem+json naming the field; no scope, no figures
        bad = await client.get("/v1/kpis", params={"from": "2026-11-30", "to": "2026-11-01"}, headers=auth())
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
        assert bad.json()["errors"][0]["field"] == "from"
        bad = await client.get("/v1/ar-aging", params={"by": "zodiac"}, headers=auth())
        assert bad.status_code == 422 and "by" in str(bad.json()["errors"])
        assert (await client.get("/v1/kpis", headers=auth(scopes=["claims:read"]))).status_code == 403

        # A read of claim rows is audited
        async with app.state.services.db.sessions() as session:
            audited = await session.scalar(text("select count(*) from audit_log where object_type = 'claim_facts'"))
        assert audited >= 1


async def test_duplicates_change_nothing_and_a_replay_from_the_beginning_gives_the_same_tables(broker, databases  # type: ignore[no-untyped-def]
                                                                                              ) -> None:
    first = build_app(settings_for(ReportingSettings, databases.create("reporting_a"), broker), clock=CLOCK)
    events = scenario()

    async def state(app: Any) -> str:
        async with app.state.services.db.sessions() as session:
            return await views.state_hash(session)

    async with running(first):
        await publish_all(broker.bootstrap, events, reverse=True)  # postings before the claims they post to
        await eventually(lambda: _consumed(first), what="the consumers caught up")
        before = await state(first)
        async with first.state.services.db.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(claim_facts)) == 4
        duplicates = _duplicates_seen()
        await publish_all(broker.bootstrap, events)  # every event again (the same ids): duplicates
        total = sum(len(v) for v in events.values())
        await eventually(lambda: _async(_duplicates_seen() >= duplicates + total), what="duplicates consumed")
        assert await state(first) == before

    # A new database and new consumer groups: the topics replayed from the beginning (each event now twice).
    second = build_app(settings_for(ReportingSettings, databases.create("reporting_b"), broker), clock=CLOCK)
    async with running(second):
        await eventually(lambda: _consumed(second), what="the replay consumed")
        assert await state(second) == before


async def _consumed(app: Any) -> bool:
    """Every event of the scenario is in the inbox (each consumer group keeps its own rows)."""
    total = sum(len(v) for v in scenario().values())
    inbox = app.state.services.db.tables.inbox
    async with app.state.services.db.sessions() as session:
        seen = await session.scalar(select(func.count()).select_from(inbox))
    return bool(seen == total)


def _duplicates_seen() -> float:
    """Events the reporting consumers took as duplicates (the kernel's counter), over every group of the process."""
    return sum(sample.value for family in metrics.EVENTS_CONSUMED.collect() for sample in family.samples
               if sample.name.endswith("_total") and sample.labels.get("service") == "reporting"
               and sample.labels.get("outcome") == "duplicate")


async def _async(value: bool) -> bool:
    return value


async def test_two_writers_of_one_claims_facts_leave_a_row_with_both(databases) -> None:  # type: ignore[no-untyped-def]
    """Two replicas of the claim-facts group can hold one claim's submission and its posting at once (different
    topics' partitions): the second recomputation waits for the first to commit and reads both facts."""
    services = build_services(ReportingSettings(database_url=databases.create("reporting_lock"), run_workers=False),
                              CLOCK)
    await build_runtime(services).migrate()
    rules = FactRules()
    sub = handlers.submission(ClaimSubmittedV1.model_validate(submitted("c-9", ALICE, 10, 1).data), TODAY)
    post = handlers.posting(ClaimPaymentPostedV2.model_validate(
        posted("c-9", "paid", "100.00", "20.00", "30.00", 5).data), posted("c-9", "paid", "1", "0", "0", 5), TODAY)

    async def submit() -> None:
        async with services.uows() as uow:
            await projections.record_submissions(uow, [(PRACTICE, sub)], rules)

    async def waiting() -> bool:
        async with services.db.sessions() as session:
            return bool(await session.scalar(text(
                "select count(*) from pg_locks where locktype = 'advisory' and not granted")))

    async with services.uows() as first:
        await projections.record_postings(first, [(PRACTICE, post)], rules)
        second = asyncio.create_task(submit())
        await eventually(waiting, what="the second writer waiting for the claim")
        assert not second.done()
    await second
    async with services.db.sessions() as session:
        row = (await session.execute(select(claim_facts).where(claim_facts.c.claim_id == "c-9"))).one()
    assert (row.billed_cents, row.paid_cents, row.patient_cents) == (15000, 10000, 2000)
    await services.db.dispose()
