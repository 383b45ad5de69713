"""The patient ledger on real PostgreSQL through HTTP: the A/R filter in dollars, books that agree after charges,
payments, refunds and write-offs, a copay at the visit applied to its assessment, guarantors, and one payment for
fifty concurrent requests with the same Idempotency-Key."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

import pytest
from patient_billing.bootstrap import build_app
from patient_billing.config import PatientBillingSettings
from rcm_shared.contracts import PatientResponsibilityAssessedV1, VisitCompletedV1, envelope_for, topics
from rcm_shared.testing.fixtures import auth, running, settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes

pytestmark = pytest.mark.integration


def assessed(patient: str, copay: str, assessment_id: str, dos: date, deductible: str = "0"):  # type: ignore[no-untyped-def]
    total = Decimal(copay) + Decimal(deductible)
    return envelope_for(PatientResponsibilityAssessedV1(
        assessment_id=assessment_id, posting_id="post-1", claim_id=f"claim-{assessment_id}", patient_id=patient,
        practice_id="practice-a", date_of_service=dos, deductible=Decimal(deductible), coinsurance=Decimal("0"),
        copay=Decimal(copay), total=total), source="remittance", subject="claim-1", practice_id="practice-a")


def insured_visit(patient: str, visit_id: str, dos: date):  # type: ignore[no-untyped-def]
    return envelope_for(VisitCompletedV1(
        visit_id=visit_id, practice_id="practice-a", patient_id=patient, billing_model="insurance", payer_id="SBX",
        date_of_service=dos, rendering_npi="1234567893", program="iop", services=[]), source="claims", subject=visit_id,
        practice_id="practice-a")


async def test_min_balance_is_in_dollars_and_the_books_agree(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(PatientBillingSettings, databases.create("pb"), broker)
    async with running(build_app(settings)) as client:
        await publish_envelopes(broker.bootstrap, topics.PATIENT_RESPONSIBILITY_ASSESSED, [
            assessed("pt-small", "0.50", "a-small", date(2026, 10, 1)),
            assessed("pt-big", "40.00", "a-big", date(2026, 10, 1), deductible="60.00")])

        async def both() -> list[str] | None:
            items = (await client.get("/v1/accounts", params={"min_balance": "0.01"}, headers=auth())).json()["items"]
            return sorted(i["patient_id"] for i in items) if len(items) == 2 else None

        assert await eventually(both, what="both accounts") == ["pt-big", "pt-small"]
        above = (await client.get("/v1/accounts", params={"min_balance": "1.00"}, headers=auth())).json()["items"]
        assert [i["patient_id"] for i in above] == ["pt-big"], "1.00 means one dollar, not a hundred"
        big = (await client.get("/v1/patients/pt-big/account", headers=auth())).json()
        reasons = {r["category"]: r["carc"] for r in big["entries"][0]["reasons"]}
        assert reasons == {"deductible": "1", "copay": "3"}, "the patient can be told why"

        pay = await client.post("/v1/patients/pt-big/payments", json={"amount": "150.00", "method": "card"},
                                headers={**auth(), "Idempotency-Key": "k-1"})
        assert pay.status_code == 201
        body = pay.json()
        assert Decimal(body["balance"]) == Decimal("-50.00") and Decimal(body["refund_due"]) == Decimal("50.00")
        items = (await client.get("/v1/work-items/refunds", headers=auth())).json()["items"]
        assert [Decimal(i["refund_due"]) for i in items] == [Decimal("50.00")]
        clerk = auth(scopes=["patient-billing:read", "patient-billing:write"])
        refund = await client.post(f"/v1/accounts/{body['account_id']}/refunds", headers=clerk,
                                   json={"payment_id": body["payment_id"], "amount": "50.00", "reason": "overpaid"})
        assert refund.status_code == 403, "money going back needs patient-billing:adjust"
        refund = await client.post(f"/v1/accounts/{body['account_id']}/refunds", headers=auth(),
                                   json={"payment_id": body["payment_id"], "amount": "150.01", "reason": "overpaid"})
        assert refund.status_code == 422
        assert refund.headers["content-type"].startswith("application/problem+json")
        refund = await client.post(f"/v1/accounts/{body['account_id']}/refunds", headers=auth(),
                                   json={"payment_id": body["payment_id"], "amount": "50.00", "reason": "overpaid"})
        assert refund.status_code == 201 and Decimal(refund.json()["balance"]) == Decimal("0.00")
        small = (await client.get("/v1/patients/pt-small/account", headers=auth())).json()
        off = await client.post(f"/v1/accounts/{small['account_id']}/adjustments", headers=auth(),
                                json={"amount": "0.50", "reason": "small balance", "write_off": True})
        assert off.status_code == 201 and Decimal(off.json()["balance"]) == Decimal("0.00")
        too_much = await client.post(f"/v1/accounts/{small['account_id']}/adjustments", headers=auth(),
                                     json={"amount": "0.01", "reason": "again", "write_off": True})
        assert too_much.status_code == 422

        books = (await client.get("/v1/ledger/trial-balance", headers=auth())).json()
        assert books["balanced"] is True and books["sub_ledger_agrees"] is True
        accounts = books["accounts"]
        assert Decimal(accounts["insurance_transfer"]["balance"]) == Decimal("-100.50")
        assert Decimal(accounts["patient_cash"]["balance"]) == Decimal("100.00")
        assert Decimal(accounts["patient_write_offs"]["balance"]) == Decimal("0.50")
        assert Decimal(books["patient_ar"]) == Decimal("0.00")
        assert Decimal(books["payments"]["refunded"]) == Decimal("50.00")


async def test_a_copay_at_the_visit_waits_for_its_assessment(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(PatientBillingSettings, databases.create("pb"), broker)
    async with running(build_app(settings)) as client:
        dos = date(2026, 10, 5)
        await publish_envelopes(broker.bootstrap, topics.VISIT_COMPLETED, [insured_visit("pt-c", "v-1", dos)])

        async def pending() -> bool | None:
            r = await client.get("/v1/patients/pt-c/account", headers=auth())
            return True if r.status_code == 200 else None

        await eventually(pending, what="the account, pending insurance")
        paid = await client.post("/v1/patients/pt-c/payments", headers=auth(),
                                 json={"amount": "25.00", "method": "card", "for_visit_on": dos.isoformat()})
        assert paid.status_code == 201
        assert Decimal(paid.json()["refund_due"]) == Decimal("0.00"), "a copay waiting for its claim is no overpayment"
        assert (await client.get("/v1/work-items/refunds", headers=auth())).json()["items"] == []
        await publish_envelopes(broker.bootstrap, topics.PATIENT_RESPONSIBILITY_ASSESSED,
                                [assessed("pt-c", "30.00", "a-c", dos)])

        async def balance() -> Decimal | None:
            body = (await client.get("/v1/patients/pt-c/account", headers=auth())).json()
            return Decimal(body["balance"]) if body["open_items"] else None

        got = await eventually(balance, what="the assessment applied")
        assert got == Decimal("5.00")
        body = (await client.get("/v1/patients/pt-c/account", headers=auth())).json()
        assert [Decimal(i["open"]) for i in body["open_items"]] == [Decimal("5.00")]
        by_program = (await client.get("/v1/reports/aging", params={"by": "program", "as_of": "2026-10-20"},
                                       headers=auth())).json()
        assert [(g["key"], g["buckets"]["0-30"]) for g in by_program["groups"]] == [("iop", "5.00")], \
            "the assessed amount ages under the insured visit's program"


async def test_a_minors_bills_go_to_the_guardian_from_the_day_named(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(PatientBillingSettings, databases.create("pb"), broker)
    async with running(build_app(settings)) as client:
        await publish_envelopes(broker.bootstrap, topics.PATIENT_RESPONSIBILITY_ASSESSED,
                                [assessed("pt-kid", "20.00", "a-kid", date(2026, 10, 1))])

        async def kid() -> dict | None:  # type: ignore[type-arg]
            r = await client.get("/v1/patients/pt-kid/account", headers=auth())
            return r.json() if r.status_code == 200 else None

        own = await eventually(kid, what="the child's own account")
        named = await client.post("/v1/patients/pt-kid/guarantors", headers=auth(), json={
            "guarantor_id": "gu-parent", "relationship": "child", "effective_from": "2026-09-01", "family": True})
        assert named.status_code == 201, named.text
        family = named.json()
        assert family["guarantor_id"] == "gu-parent" and family["kind"] == "family"
        assert Decimal(family["balance"]) == Decimal("20.00"), "the open item moved with the child"
        assert (await client.get(f"/v1/accounts/{own['account_id']}", headers=auth())).json()["balance"] == "0.00"
        now = (await client.get("/v1/patients/pt-kid/account", headers=auth())).json()
        assert now["account_id"] == family["account_id"]
        books = (await client.get("/v1/ledger/trial-balance", headers=auth())).json()
        assert books["balanced"] and books["sub_ledger_agrees"]
        bad = await client.post("/v1/patients/pt-kid/guarantors", headers=auth(), json={
            "guarantor_id": "pt-kid", "relationship": "child", "effective_from": "2026-09-01"})
        assert bad.status_code == 422


async def test_fifty_concurrent_payments_with_one_key_record_one(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(PatientBillingSettings, databases.create("pb"), broker, run_workers=False)
    async with running(build_app(settings)) as client:
        headers = {**auth(), "Idempotency-Key": "same-key"}
        body = {"amount": "10.00", "method": "card"}
        answers = await asyncio.gather(*(client.post("/v1/patients/pt-race/payments", json=body, headers=headers)
                                         for _ in range(50)))
        assert {a.status_code for a in answers} == {201}
        assert len({a.json()["payment_id"] for a in answers}) == 1
        account = (await client.get("/v1/patients/pt-race/account", headers=auth())).json()
        assert Decimal(account["balance"]) == Decimal("-10.00") and len(account["entries"]) == 1
