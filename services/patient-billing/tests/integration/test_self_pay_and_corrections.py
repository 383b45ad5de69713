"""Self-pay on real PostgreSQL and the broker: a completed self-pay visit is charged at once at patient billing's
own price (never the event's self_pay_charge), less the sliding-scale tier the proof of income gives on the date of
service; a no-show is the written policy's fee only with signed consent, and waivable; a corrected or voided visit
moves the patient's charges, once however often it arrives."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from patient_billing.bootstrap import build_app
from patient_billing.config import PatientBillingSettings
from rcm_shared.contracts import VisitCompletedV1, VisitScheduledV1, envelope_for, topics
from rcm_shared.contracts.claims import CodedService
from rcm_shared.testing.fixtures import auth, running, settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes, read_topic

pytestmark = pytest.mark.integration


def self_pay(visit_id: str, patient: str, dos: date, code: str = "90837", *, credential: str = "LCSW",
             replaces: str | None = None, voided: bool = False) -> Any:
    return envelope_for(VisitCompletedV1(
        visit_id=visit_id, practice_id="practice-a", patient_id=patient, billing_model="self_pay", payer_id=None,
        date_of_service=dos, rendering_npi="1234567893", rendering_credential=credential,
        program="adult-outpatient", services=[CodedService(procedure_code=code)],
        self_pay_charge=Decimal("999.00"), replaces_visit_id=replaces, voided=voided),
        source="claims", subject=visit_id, practice_id="practice-a")


async def _account(client: Any, patient: str) -> dict[str, Any] | None:
    r = await client.get(f"/v1/patients/{patient}/account", headers=auth())
    return r.json() if r.status_code == 200 else None


async def test_a_self_pay_visit_is_priced_here_with_its_sliding_scale_tier(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(PatientBillingSettings, databases.create("pb"), broker)
    async with running(build_app(settings)) as client:
        income = await client.post("/v1/patients/pt-sp/income-assessments", headers=auth(), json={
            "household_size": 3, "annual_income": "30000.00", "proof_received_on": "2026-09-01"})
        assert income.status_code == 201 and income.json()["tier"] == "B", income.text
        await publish_envelopes(broker.bootstrap, topics.VISIT_COMPLETED, [
            self_pay("v-1", "pt-sp", date(2026, 10, 1)),  # proof on file: tier B, 40% of 160.00
            self_pay("v-2", "pt-sp", date(2026, 8, 1), code="90791"),  # before the proof arrived: full intake fee
        ])

        async def two_visits() -> dict[str, Any] | None:
            body = await _account(client, "pt-sp")
            return body if body and len(body["open_items"]) == 2 else None

        body = await eventually(two_visits, what="both visits charged")
        assert Decimal(body["balance"]) == Decimal("64.00") + Decimal("200.00"), "not the event's 999.00"
        charges = (await client.get("/v1/visits/v-1/charges", headers=auth())).json()["items"]
        assert [(c["kind"], c["signed_amount"]) for c in charges] == [("charge", "160.00"), ("adjustment", "-96.00")]
        assert charges[0]["detail"]["price_rule"] == "fees-2026:psychotherapy-60/*/*"
        assert "tier B" in charges[1]["detail"]["reason"]
        posted = await read_topic(broker.bootstrap, topics.PATIENT_CHARGE_POSTED, expect=2)
        assert {r.key for r in posted} == {body["account_id"].encode()}, "keyed by account, never the patient"
        due = (await client.get("/v1/sliding-scale/reassessments-due", params={"within_days": 365},
                                headers=auth())).json()["items"]
        assert [d["patient_id"] for d in due] == ["pt-sp"]
        schedule = (await client.get("/v1/fee-schedules", params={"on": "2026-10-01"}, headers=auth())).json()
        assert schedule["schedule_id"] == "fees-2026" and schedule["appointment_types"]["90791"]["intake"]


async def test_a_no_show_fee_needs_signed_consent_and_can_be_waived(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(PatientBillingSettings, databases.create("pb"), broker)
    async with running(build_app(settings)) as client:
        refused = await client.post("/v1/patients/pt-ns/missed-appointments", headers=auth(), json={
            "visit_id": "appt-0", "service_date": "2026-10-01", "outcome": "no_show"})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "body.outcome"
        assert (await client.post("/v1/patients/pt-ns/financial-consent", headers=auth(),
                                  json={"signed_on": "2026-09-01"})).status_code == 201
        await publish_envelopes(broker.bootstrap, topics.VISIT_SCHEDULED, [envelope_for(VisitScheduledV1(
            visit_id="appt-1", practice_id="practice-a", patient_id="pt-ns", service_date=date(2026, 10, 2),
            outcome="no_show"), source="eligibility", subject="appt-1", practice_id="practice-a")])

        async def fee() -> dict[str, Any] | None:
            body = await _account(client, "pt-ns")
            return body if body and body["open_items"] else None

        body = await eventually(fee, what="the no-show fee")
        assert Decimal(body["balance"]) == Decimal("75.00")
        entry = body["entries"][0]
        assert entry["kind"] == "fee" and entry["detail"]["bill_to"] == "patient-only"
        waived = await client.post(f"/v1/fees/{entry['entry_id']}/waiver", headers=auth(),
                                   json={"reason": "first no-show, courtesy"})
        assert waived.status_code == 201 and Decimal(waived.json()["balance"]) == Decimal("0.00")
        again = await client.post(f"/v1/fees/{entry['entry_id']}/waiver", headers=auth(), json={"reason": "again"})
        assert again.status_code == 409


async def test_a_corrected_or_voided_visit_moves_the_patients_charges_once(broker, databases) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(PatientBillingSettings, databases.create("pb"), broker)
    async with running(build_app(settings)) as client:
        dos = date(2026, 10, 1)
        await publish_envelopes(broker.bootstrap, topics.VISIT_COMPLETED, [self_pay("v-a", "pt-cx", dos)])

        async def balance_is(expected: str) -> Any:
            async def check() -> bool | None:
                body = await _account(client, "pt-cx")
                return True if body and Decimal(body["balance"]) == Decimal(expected) else None
            return await eventually(check, what=f"balance {expected}")

        await balance_is("160.00")
        paid = await client.post("/v1/patients/pt-cx/payments", headers=auth(),
                                 json={"amount": "160.00", "method": "card"})
        assert paid.status_code == 201
        # Corrected to a 45-minute session: the 60-minute charge reversed, the new one charged; sent twice.
        corrected = self_pay("v-b", "pt-cx", dos, code="90834", replaces="v-a")
        await publish_envelopes(broker.bootstrap, topics.VISIT_COMPLETED, [corrected, corrected])
        await balance_is("-30.00")
        # The replacing visit voided (delivered twice, as two different events): its charge reversed once.
        await publish_envelopes(broker.bootstrap, topics.VISIT_COMPLETED, [
            self_pay("v-b", "pt-cx", dos, code="90834", voided=True),
            self_pay("v-b", "pt-cx", dos, code="90834", voided=True)])
        await balance_is("-160.00")
        old = (await client.get("/v1/visits/v-a/charges", headers=auth())).json()["items"]
        assert [c["kind"] for c in old] == ["charge", "reversal"]
        new = (await client.get("/v1/visits/v-b/charges", headers=auth())).json()["items"]
        assert [c["kind"] for c in new] == ["charge", "reversal"]
        books = (await client.get("/v1/ledger/trial-balance", headers=auth())).json()
        assert books["balanced"] and books["sub_ledger_agrees"]
        assert Decimal(books["accounts"]["self_pay_revenue"]["balance"]) == Decimal("0.00")
        work = (await client.get("/v1/work-items/refunds", headers=auth())).json()["items"]
        assert [Decimal(w["refund_due"]) for w in work] == [Decimal("160.00")]
