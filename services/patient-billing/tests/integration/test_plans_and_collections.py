"""Payment plans with autopay through the sandbox processor and the collections follow-up, on real PostgreSQL and
the real broker: installments charged on their dates, a declined one retried then flagged as missed, the plan
re-amortized when a payment outside it lowers the balance, patient-plan-changed announced; dunning steps once each,
never on a disputed balance, and the collections queue."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from patient_billing.adapters.payment_processor import StripeProcessor
from patient_billing.bootstrap import build_app
from patient_billing.config import PatientBillingSettings
from patient_billing.entrypoints.dependencies import PatientBillingServices
from patient_billing.sandbox.server import RunningSandbox, sandbox_processor
from patient_billing.service_layer.card_payments import retry_pending
from rcm_shared.clock import FixedClock
from rcm_shared.contracts import topics
from rcm_shared.testing.fixtures import auth, running, settings_for
from rcm_shared.testing.kafka import read_topic

pytestmark = pytest.mark.integration
START = datetime(2026, 3, 2, 17, tzinfo=UTC)  # noon in New York


@dataclass
class Harness:
    client: httpx.AsyncClient
    sandbox: RunningSandbox
    clock: FixedClock
    bootstrap: str
    services: PatientBillingServices

    async def owes(self, patient: str, fees: int) -> str:
        """``fees`` no-show fees of 75.00 on the patient's account (the written policy, consent on file)."""
        signed = await self.client.post(f"/v1/patients/{patient}/financial-consent", headers=auth(),
                                        json={"signed_on": "2026-01-02"})
        assert signed.status_code == 201, signed.text
        account_id = ""
        for n in range(fees):
            fee = await self.client.post(f"/v1/patients/{patient}/missed-appointments", headers=auth(), json={
                "visit_id": f"{patient}-v{n}", "service_date": (self.clock.today() - timedelta(days=n)).isoformat(),
                "outcome": "no_show"})
            assert fee.status_code == 201, fee.text
            account_id = fee.json()["account_id"]
        return account_id

    async def card(self, patient: str, payment_method: str) -> dict[str, Any]:
        saved = await self.client.post(f"/v1/patients/{patient}/payment-methods", headers=auth(), json={
            "payment_method": payment_method, "autopay": True,
            "consent": {"signed_on": self.clock.today().isoformat(), "text": "autopay-2026-v1"}})
        assert saved.status_code == 201, saved.text
        body: dict[str, Any] = saved.json()
        return body

    async def run(self) -> int:
        ran = await self.client.post("/v1/plans/run", headers=auth())
        assert ran.status_code == 200, ran.text
        return int(ran.json()["installments_handled"])

    async def plan(self, plan_id: str) -> dict[str, Any]:
        body: dict[str, Any] = (await self.client.get(f"/v1/plans/{plan_id}", headers=auth())).json()
        return body

    async def balance(self, account_id: str) -> Decimal:
        return Decimal((await self.client.get(f"/v1/accounts/{account_id}", headers=auth())).json()["balance"])


@pytest.fixture
async def harness(broker, databases) -> AsyncIterator[Harness]:  # type: ignore[no-untyped-def]
    with sandbox_processor() as sandbox:
        settings = settings_for(PatientBillingSettings, databases.create("pb_plans"), broker,
                                processor_webhook_secret=sandbox.webhook_secret, payment_retry_seconds=3600,
                                installments_seconds=3600, collections_seconds=3600)
        clock = FixedClock(START)
        processor = StripeProcessor(sandbox.api_key, sandbox.webhook_secret, api_base=sandbox.url,
                                    max_network_retries=0)
        app = build_app(settings, clock=clock, processor=processor)
        async with running(app) as client:
            yield Harness(client, sandbox, clock, broker.bootstrap, app.state.services)


async def test_a_plan_with_autopay_pays_on_its_dates_and_follows_the_balance(harness: Harness) -> None:
    h = harness
    account_id = await h.owes("pat-plan-1", 4)  # 300.00
    card = await h.card("pat-plan-1", "pm_card_visa")
    offered = await h.client.post(f"/v1/accounts/{account_id}/plans", headers=auth(), json={
        "installments": 3, "first_due_on": "2026-03-05", "autopay_method_id": card["method_id"]})
    assert offered.status_code == 201, offered.text
    plan_id = offered.json()["plan_id"]
    assert [i["amount"] for i in offered.json()["installments"]] == ["100.00", "100.00", "100.00"]
    assert [i["due_on"] for i in offered.json()["installments"]] == ["2026-03-05", "2026-04-05", "2026-05-05"]
    again = await h.client.post(f"/v1/accounts/{account_id}/plans", headers=auth(), json={
        "installments": 2, "first_due_on": "2026-03-05"})
    assert again.status_code == 422 and again.json()["type"].endswith("plan-refused")

    assert await h.run() == 0  # nothing due before the 5th
    h.clock.set(datetime(2026, 3, 5, 15, tzinfo=UTC))
    assert await h.run() == 1
    assert await h.run() == 0  # asked twice on the day: one charge
    plan = await h.plan(plan_id)
    assert [i["state"] for i in plan["installments"]] == ["paid", "scheduled", "scheduled"]
    assert await h.balance(account_id) == Decimal("200.00") and len(h.sandbox.charges()) == 1

    outside = await h.client.post("/v1/patients/pat-plan-1/card-payments", headers=auth(),
                                  json={"amount": "50.01", "payment_method": "pm_card_visa"})
    assert outside.status_code == 201
    plan = await h.plan(plan_id)
    assert [i["amount"] for i in plan["installments"] if i["state"] == "scheduled"] == ["75.00", "74.99"]
    assert plan["remaining"] == "149.99"

    h.clock.set(datetime(2026, 4, 5, 15, tzinfo=UTC))
    assert await h.run() == 1
    h.clock.set(datetime(2026, 5, 5, 15, tzinfo=UTC))
    assert await h.run() == 1
    plan = await h.plan(plan_id)
    assert plan["state"] == "completed" and await h.balance(account_id) == Decimal("0.00")
    records = await read_topic(h.bootstrap, topics.PATIENT_PLAN_CHANGED, expect=6)
    changes = [e for e in (json.loads(r.value) for r in records) if e["data"]["plan_id"] == plan_id]
    assert [c["data"]["change"] for c in changes][:2] == ["created", "installment_paid"]
    assert changes[-1]["data"]["state"] == "completed" and changes[-1]["subject"] == account_id
    trial = (await h.client.get("/v1/ledger/trial-balance", headers=auth())).json()
    assert Decimal(trial["total_debits"]) == Decimal(trial["total_credits"])


async def test_a_declined_installment_is_retried_then_flagged_and_the_plan_defaults(harness: Harness) -> None:
    h = harness
    account_id = await h.owes("pat-plan-2", 2)  # 150.00
    card = await h.card("pat-plan-2", "pm_card_chargeCustomerFail")  # saved fine, every charge declines
    assert card["status"] == "active"
    offered = await h.client.post(f"/v1/accounts/{account_id}/plans", headers=auth(), json={
        "installments": 2, "first_due_on": "2026-03-02", "autopay_method_id": card["method_id"]})
    plan_id = offered.json()["plan_id"]
    first = offered.json()["installments"][0]["installment_id"]
    assert await h.run() == 1
    plan = await h.plan(plan_id)
    assert plan["installments"][0]["state"] == "retrying" and plan["installments"][0]["next_attempt_on"] == "2026-03-05"
    h.clock.set(datetime(2026, 3, 5, 15, tzinfo=UTC))
    assert await h.run() == 1
    h.clock.set(datetime(2026, 3, 9, 15, tzinfo=UTC))
    assert await h.run() == 1
    plan = await h.plan(plan_id)
    assert plan["installments"][0]["state"] == "missed" and plan["state"] == "active"
    assert plan["installments"][1]["amount"] == "150.00"  # the missed one is still owed, with the next
    missed = (await h.client.get("/v1/work-items?queue=installment-missed", headers=auth())).json()["items"]
    assert [m["subject_id"] for m in missed] == [first]
    declined = (await h.client.get("/v1/work-items?queue=card-declined", headers=auth())).json()["items"]
    assert len(declined) == 3  # one per declined charge, each its own payment
    h.clock.set(datetime(2026, 4, 2, 15, tzinfo=UTC))
    for day in (2, 5, 9):
        h.clock.set(datetime(2026, 4, day, 15, tzinfo=UTC))
        assert await h.run() == 1
    plan = await h.plan(plan_id)
    assert plan["state"] == "defaulted" and plan["missed"] == 2
    assert await h.balance(account_id) == Decimal("150.00") and h.sandbox.charges() == []


async def test_collections_steps_once_each_and_never_on_a_disputed_balance(harness: Harness) -> None:
    h = harness
    owing = await h.owes("pat-dun-1", 1)
    disputed = await h.owes("pat-dun-2", 1)
    small = await h.client.post("/v1/patients/pat-dun-3/card-payments", headers=auth(),
                                json={"amount": "1.00", "payment_method": "pm_card_visa"})
    assert small.status_code == 201
    marked = await h.client.post(f"/v1/accounts/{disputed}/dispute", headers=auth(), json={"reason": "says paid"})
    assert marked.status_code == 200
    ran = (await h.client.post("/v1/collections/run", headers=auth())).json()
    assert ran["accounts"] == [{"account_id": owing, "step": "statement", "days_past_due": 0}]
    assert (await h.client.post("/v1/collections/run", headers=auth())).json()["accounts"] == []
    queue = {i["account_id"]: i for i in (await h.client.get("/v1/collections/queue", headers=auth())).json()["items"]}
    assert queue[owing]["last_step"] == "statement" and queue[owing]["next_step"] == "reminder"
    assert queue[disputed]["excluded"] == "disputed" and queue[disputed]["last_step"] is None
    for step, day in (("reminder", 31), ("final_notice", 61), ("collections_hold", 91)):
        h.clock.set(START + timedelta(days=day))
        ran = (await h.client.post("/v1/collections/run", headers=auth())).json()
        assert [a["step"] for a in ran["accounts"]] == [step]
    held = (await h.client.get("/v1/work-items?queue=collections-hold", headers=auth())).json()["items"]
    assert [i["subject_id"] for i in held] == [owing]
    future = (await h.client.get("/v1/collections/queue?as_of=2026-12-31", headers=auth())).json()
    assert {i["account_id"]: i["excluded"] for i in future["items"]}[owing] == "all_steps_taken"
    assert date.fromisoformat(future["as_of"]) == date(2026, 12, 31)



async def test_a_statement_autopay_charges_on_its_date_no_more_than_is_owed(harness: Harness) -> None:
    h = harness
    account_id = await h.owes("pat-auto-1", 2)  # 150.00
    body = {"statement_id": "stmt-2026-03", "amount": "150.00", "due_on": "2026-03-10"}
    refused = await h.client.post(f"/v1/accounts/{account_id}/statement-autopay", headers=auth(), json=body)
    assert refused.status_code == 422 and refused.json()["type"].endswith("card-not-chargeable")
    await h.card("pat-auto-1", "pm_card_visa")
    scheduled = await h.client.post(f"/v1/accounts/{account_id}/statement-autopay", headers=auth(), json=body)
    assert scheduled.status_code == 201 and scheduled.json()["state"] == "pending"
    again = await h.client.post(f"/v1/accounts/{account_id}/statement-autopay", headers=auth(), json=body)
    assert again.json()["payment_id"] == scheduled.json()["payment_id"]
    services = h.services
    assert await retry_pending(services.uows, services.processor, h.clock, services.payment_rules.plans) == 0
    paid = await h.client.post("/v1/patients/pat-auto-1/card-payments", headers=auth(),
                               json={"amount": "100.00", "payment_method": "pm_card_visa"})
    assert paid.status_code == 201
    h.clock.set(datetime(2026, 3, 10, 12, tzinfo=UTC))  # 07:00 in New York on the due date
    assert await retry_pending(services.uows, services.processor, h.clock, services.payment_rules.plans) == 1
    done = (await h.client.get(f"/v1/card-payments/{scheduled.json()['payment_id']}", headers=auth())).json()
    assert (done["state"], done["amount"], done["purpose"]) == ("succeeded", "50.00", "autopay")
    assert await h.balance(account_id) == Decimal("0.00")
    assert sorted(c["amount"] for c in h.sandbox.charges()) == [5_000, 10_000]
