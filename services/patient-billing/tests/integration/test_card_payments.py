"""Card payments end to end in patient billing: the real ``stripe`` client against the sandbox processor on a local
port, real PostgreSQL and the real broker. One charge per Idempotency-Key however concurrent, an outage that leaves
the payment pending and a retry that charges once, declines as a clear outcome and a work item, refunds never above
what was paid, signed webhooks taken once, cards on file only with consent, the hosted payment page."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from patient_billing.adapters.payment_processor import StripeProcessor
from patient_billing.bootstrap import build_app
from patient_billing.config import PatientBillingSettings
from patient_billing.entrypoints.dependencies import PatientBillingServices
from patient_billing.sandbox.processor import sign
from patient_billing.sandbox.server import RunningSandbox, sandbox_processor
from patient_billing.service_layer import card_payments
from rcm_shared.clock import FixedClock
from rcm_shared.testing.fixtures import auth, fixed_clock, running, settings_for

pytestmark = pytest.mark.integration


@dataclass
class Harness:
    client: httpx.AsyncClient
    sandbox: RunningSandbox
    services: PatientBillingServices
    clock: FixedClock
    webhooks: list[tuple[bytes, str]]

    async def deliver(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Post the sandbox's signed webhooks (of ``kind``) to the service, as the processor would."""
        results = []
        for payload, signature in list(self.webhooks):
            if kind is None or json.loads(payload)["type"] == kind:
                response = await self.client.post("/v1/processor-events", content=payload,
                                                  headers={"Stripe-Signature": signature})
                assert response.status_code == 200, response.text
                results.append(response.json())
        return results

    async def balance(self, patient_id: str) -> Decimal:
        response = await self.client.get(f"/v1/patients/{patient_id}/account", headers=auth())
        return Decimal(response.json()["balance"])

    async def trial_balance_agrees(self) -> None:
        trial = (await self.client.get("/v1/ledger/trial-balance", headers=auth())).json()
        assert Decimal(trial["total_debits"]) == Decimal(trial["total_credits"]), trial


@pytest.fixture
async def harness(broker, databases) -> AsyncIterator[Harness]:  # type: ignore[no-untyped-def]
    webhooks: list[tuple[bytes, str]] = []
    with sandbox_processor() as sandbox:
        sandbox.state.deliver = lambda payload, signature: webhooks.append((payload, signature))
        settings = settings_for(PatientBillingSettings, databases.create("pb_cards"), broker,
                                processor_webhook_secret=sandbox.webhook_secret, payment_retry_seconds=3600,
                                installments_seconds=3600, collections_seconds=3600)
        clock = fixed_clock()
        processor = StripeProcessor(sandbox.api_key, sandbox.webhook_secret, api_base=sandbox.url,
                                    max_network_retries=0)
        app = build_app(settings, clock=clock, processor=processor)
        async with running(app) as client:
            yield Harness(client, sandbox, app.state.services, clock, webhooks)


async def pay(h: Harness, patient: str, amount: str, card: str = "pm_card_visa", key: str | None = None
              ) -> httpx.Response:
    headers = {**auth(), **({"Idempotency-Key": key} if key else {})}
    return await h.client.post(f"/v1/patients/{patient}/card-payments", headers=headers,
                               json={"amount": amount, "payment_method": card})


async def test_a_card_payment_posts_once_and_refunds_never_exceed_it(harness: Harness) -> None:
    h = harness
    paid = await pay(h, "pat-card-1", "45.00", key="k-1")
    assert paid.status_code == 201, paid.text
    body = paid.json()
    assert body["state"] == "succeeded" and body["processor_ref"].startswith("pi_")
    assert await h.balance("pat-card-1") == Decimal("-45.00")  # a credit on the account
    entries = (await h.client.get(f"/v1/accounts/{body['account_id']}/entries", headers=auth())).json()["items"]
    assert [e["kind"] for e in entries] == ["payment"]
    refund = await h.client.post(f"/v1/card-payments/{body['payment_id']}/refunds", headers=auth(),
                                 json={"amount": "20.00", "reason": "overpaid"})
    assert refund.status_code == 201, refund.text
    too_much = await h.client.post(f"/v1/card-payments/{body['payment_id']}/refunds", headers=auth(),
                                   json={"amount": "25.01", "reason": "overpaid"})
    assert too_much.status_code == 422 and too_much.json()["type"].endswith("refund-exceeds-paid")
    rest = await h.client.post(f"/v1/card-payments/{body['payment_id']}/refunds", headers=auth(),
                               json={"amount": "25.00", "reason": "overpaid"})
    assert rest.status_code == 201
    assert await h.balance("pat-card-1") == Decimal("0.00")
    [charge] = h.sandbox.charges()
    assert charge["amount_refunded"] == 4500
    shown = (await h.client.get(f"/v1/card-payments/{body['payment_id']}", headers=auth())).json()
    assert [r["amount"] for r in shown["refunds"]] == ["20.00", "25.00"] and shown["refunded"] == "45.00"
    await h.trial_balance_agrees()
    for bad in ("-5", "4.999", 12.5):
        refused = await h.client.post(f"/v1/card-payments/{body['payment_id']}/refunds", headers=auth(),
                                      json={"amount": bad, "reason": "x"})
        assert refused.status_code == 422, bad


async def test_fifty_concurrent_payments_with_one_key_are_one_charge(harness: Harness) -> None:
    h = harness
    answers = await asyncio.gather(*(pay(h, "pat-card-2", "30.00", key="same-key") for _ in range(50)))
    assert {a.status_code for a in answers} == {201}, {a.status_code for a in answers}
    assert len({a.json()["payment_id"] for a in answers}) == 1
    assert len(h.sandbox.charges()) == 1
    assert await h.balance("pat-card-2") == Decimal("-30.00")
    other = await pay(h, "pat-card-2", "30.00", key="another-key")
    assert other.status_code == 201 and len(h.sandbox.charges()) == 2


async def test_an_outage_leaves_the_payment_pending_and_the_retry_charges_once(harness: Harness) -> None:
    h = harness
    h.sandbox.state.outage = True
    pending = await pay(h, "pat-card-3", "60.00", key="k-out")
    assert pending.status_code == 202, pending.text
    assert pending.json()["state"] == "pending" and pending.json()["attempts"] == 1
    assert await h.balance("pat-card-3") == Decimal("0.00") and h.sandbox.charges() == []
    services = h.services
    h.clock.advance(timedelta(seconds=6))
    await card_payments.retry_pending(services.uows, services.processor, h.clock, services.payment_rules.plans)
    still = (await h.client.get(f"/v1/card-payments/{pending.json()['payment_id']}", headers=auth())).json()
    assert still["state"] == "pending" and still["attempts"] == 2  # still down: kept, asked again later
    h.sandbox.state.outage = False
    h.clock.advance(timedelta(minutes=1))
    asked = await card_payments.retry_pending(services.uows, services.processor, h.clock,
                                              services.payment_rules.plans)
    assert asked == 1
    done = (await h.client.get(f"/v1/card-payments/{pending.json()['payment_id']}", headers=auth())).json()
    assert done["state"] == "succeeded"
    again = await pay(h, "pat-card-3", "60.00", key="k-out")  # the client retries with its key: the same payment
    assert again.json()["payment_id"] == pending.json()["payment_id"]
    h.clock.advance(timedelta(hours=1))
    assert await card_payments.retry_pending(services.uows, services.processor, h.clock,
                                             services.payment_rules.plans) == 0
    await h.deliver()  # the processor's webhook for the same charge changes nothing
    assert len(h.sandbox.charges()) == 1 and await h.balance("pat-card-3") == Decimal("-60.00")
    await h.trial_balance_agrees()


async def test_a_declined_card_is_a_clear_outcome_and_a_work_item(harness: Harness) -> None:
    h = harness
    declined = await pay(h, "pat-card-4", "80.00", card="pm_card_chargeDeclinedInsufficientFunds", key="k-d")
    assert declined.status_code == 402
    body = declined.json()
    assert body["state"] == "declined" and body["decline_code"] == "insufficient_funds"
    assert body["message"] == "The card has insufficient funds."
    assert await h.balance("pat-card-4") == Decimal("0.00")
    items = (await h.client.get("/v1/work-items?queue=card-declined", headers=auth())).json()["items"]
    assert [(i["subject_id"], i["amount"], i["category"]) for i in items] == [
        (body["payment_id"], "80.00", "insufficient_funds")]
    await h.deliver("payment_intent.payment_failed")  # the processor's webhook of the same decline: no second item
    items = (await h.client.get("/v1/work-items?queue=card-declined", headers=auth())).json()["items"]
    assert len(items) == 1
    refused = await h.client.post(f"/v1/card-payments/{body['payment_id']}/refunds", headers=auth(),
                                  json={"amount": "1.00", "reason": "x"})
    assert refused.status_code == 409


async def test_webhooks_are_verified_and_taken_once(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    h = harness
    action = await pay(h, "pat-card-5", "25.00", card="pm_card_authenticationRequired", key="k-3ds")
    assert action.status_code == 202 and action.json()["state"] == "requires_action"
    async with httpx.AsyncClient() as browser:  # the cardholder completes 3-D Secure on the processor's page
        assert (await browser.post(action.json()["action_url"])).status_code == 200
    [first] = await h.deliver("payment_intent.succeeded")
    assert first["result"] == "payment_succeeded"
    assert await h.balance("pat-card-5") == Decimal("-25.00")
    [again] = await h.deliver("payment_intent.succeeded")
    assert again["result"] == "duplicate" and await h.balance("pat-card-5") == Decimal("-25.00")
    payload, _ = next(w for w in h.webhooks if b"payment_intent.succeeded" in w[0])
    caplog.set_level(logging.WARNING)
    for signature in (sign(payload, "whsec_not_ours"), "t=1,v1=deadbeef", None):
        headers = {"Stripe-Signature": signature} if signature else {}
        refused = await h.client.post("/v1/processor-events", content=payload, headers=headers)
        assert refused.status_code == 400 and refused.json()["type"].endswith("bad-signature")
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records if "signature" in r.getMessage())
    assert "bad signature" in logged and "pat-card-5" not in logged and action.json()["payment_id"] not in logged


async def test_a_card_is_kept_on_file_only_with_consent(harness: Harness) -> None:
    h = harness
    refused = await h.client.post("/v1/patients/pat-card-6/payment-methods", headers=auth(),
                                  json={"payment_method": "pm_card_visa", "autopay": True})
    assert refused.status_code == 422 and refused.json()["type"].endswith("consent-required")
    assert not [o for o in h.sandbox.state.objects.values() if o["object"] in ("customer", "setup_intent")]
    saved = await h.client.post("/v1/patients/pat-card-6/payment-methods", headers=auth(), json={
        "payment_method": "pm_card_visa", "autopay": True,
        "consent": {"signed_on": h.clock.today().isoformat(), "text": "card-on-file-2026-v1"}})
    assert saved.status_code == 201, saved.text
    card = saved.json()
    assert (card["status"], card["brand"], card["last4"]) == ("active", "visa", "4242")
    on_file = await h.client.post("/v1/patients/pat-card-6/card-payments", headers=auth(),
                                  json={"amount": "10.00", "method_id": card["method_id"]})
    assert on_file.status_code == 201 and on_file.json()["method_id"] == card["method_id"]
    listed = (await h.client.get(f"/v1/accounts/{card['account_id']}/payment-methods", headers=auth())).json()
    assert [c["method_id"] for c in listed["items"]] == [card["method_id"]]
    neither = await h.client.post("/v1/patients/pat-card-6/card-payments", headers=auth(), json={"amount": "1.00"})
    assert neither.status_code == 422


async def test_the_hosted_page_pays_an_account_through_the_webhook(harness: Harness) -> None:
    h = harness
    first = await pay(h, "pat-card-7", "5.00")
    account_id = first.json()["account_id"]
    link = await h.client.post(f"/v1/accounts/{account_id}/payment-links", headers=auth(),
                               json={"amount": "40.00", "description": "Statement 2026-11"})
    assert link.status_code == 201, link.text
    url = link.json()["url"]
    assert url.startswith(f"{h.sandbox.url}/pay/cs_")
    async with httpx.AsyncClient() as browser:
        assert "$40.00" in (await browser.get(url)).text
        assert (await browser.post(url, data={"payment_method": "pm_card_visa"})).status_code == 200
    [taken] = await h.deliver("checkout.session.completed")
    assert taken["result"] == "payment_succeeded"
    assert await h.balance("pat-card-7") == Decimal("-45.00")
    await h.trial_balance_agrees()
