"""The Stripe adapter (the official ``stripe`` client) against the sandbox processor on a local port: every test
card's outcome, idempotency, refunds never above the charge, the hosted page, and webhook signatures."""

from __future__ import annotations

import json

import httpx
import pytest
from patient_billing.adapters.payment_processor import BadSignature, StripeProcessor
from patient_billing.domain.card_payments import Outcome
from patient_billing.domain.exceptions import ProcessorRefused, ProcessorUnavailable
from patient_billing.sandbox.processor import sign
from patient_billing.sandbox.server import sandbox_processor

pytestmark = pytest.mark.integration


@pytest.fixture
def sandbox():  # type: ignore[no-untyped-def]
    with sandbox_processor() as running:
        yield running


def processor(sandbox) -> StripeProcessor:  # type: ignore[no-untyped-def]
    return StripeProcessor(sandbox.api_key, sandbox.webhook_secret, api_base=sandbox.url, max_network_retries=0)


async def test_each_test_card_gives_its_outcome(sandbox) -> None:  # type: ignore[no-untyped-def]
    stripe = processor(sandbox)
    ok = await stripe.charge(amount=4500, payment_method_ref="pm_card_visa", customer_ref=None, off_session=False,
                             idempotency_key="k1", metadata={"payment_id": "p1"})
    assert ok.outcome is Outcome.SUCCEEDED and ok.processor_ref and ok.processor_ref.startswith("pi_")
    declined = await stripe.charge(amount=4500, payment_method_ref="pm_card_chargeDeclinedInsufficientFunds",
                                   customer_ref=None, off_session=False, idempotency_key="k2", metadata={})
    assert declined.outcome is Outcome.DECLINED and declined.decline_code == "insufficient_funds"
    assert declined.message == "The card has insufficient funds."
    action = await stripe.charge(amount=4500, payment_method_ref="pm_card_authenticationRequired", customer_ref=None,
                                 off_session=False, idempotency_key="k3", metadata={})
    assert action.outcome is Outcome.REQUIRES_ACTION and action.action_url and "/authenticate/pi_" in action.action_url
    off = await stripe.charge(amount=4500, payment_method_ref="pm_card_authenticationRequired", customer_ref=None,
                              off_session=True, idempotency_key="k4", metadata={})
    assert off.outcome is Outcome.DECLINED and off.decline_code == "authentication_required"
    assert len(sandbox.charges()) == 1


async def test_a_card_saved_fine_can_fail_later(sandbox) -> None:  # type: ignore[no-untyped-def]
    stripe = processor(sandbox)
    customer = await stripe.create_customer(account_ref="acct-1", idempotency_key="c1")
    setup = await stripe.save_card(customer_ref=customer, payment_method_ref="pm_card_chargeCustomerFail",
                                   idempotency_key="s1", metadata={})
    assert setup.status == "succeeded" and setup.last4 == "0341"
    later = await stripe.charge(amount=2000, payment_method_ref="pm_card_chargeCustomerFail", customer_ref=customer,
                                off_session=True, idempotency_key="c2", metadata={})
    assert later.outcome is Outcome.DECLINED
    refused = await stripe.save_card(customer_ref=customer, payment_method_ref="pm_card_chargeDeclined",
                                     idempotency_key="s2", metadata={})
    assert refused.status == "declined"


async def test_the_same_idempotency_key_charges_once(sandbox) -> None:  # type: ignore[no-untyped-def]
    stripe = processor(sandbox)
    answers = [await stripe.charge(amount=1000, payment_method_ref="pm_card_visa", customer_ref=None,
                                   off_session=False, idempotency_key="same", metadata={"payment_id": "p"})
               for _ in range(3)]
    assert len({a.processor_ref for a in answers}) == 1
    assert len(sandbox.charges()) == 1
    with pytest.raises(ProcessorRefused):  # the same key with another amount
        await stripe.charge(amount=1001, payment_method_ref="pm_card_visa", customer_ref=None, off_session=False,
                            idempotency_key="same", metadata={"payment_id": "p"})


async def test_refunds_never_exceed_the_charge(sandbox) -> None:  # type: ignore[no-untyped-def]
    stripe = processor(sandbox)
    paid = await stripe.charge(amount=5000, payment_method_ref="pm_card_visa", customer_ref=None, off_session=False,
                               idempotency_key="r0", metadata={})
    assert paid.processor_ref is not None
    part = await stripe.refund(processor_ref=paid.processor_ref, amount=2000, idempotency_key="r1", metadata={})
    assert part.amount == 2000 and part.processor_ref.startswith("re_")
    with pytest.raises(ProcessorRefused) as refused:
        await stripe.refund(processor_ref=paid.processor_ref, amount=3001, idempotency_key="r2", metadata={})
    assert refused.value.field == "body.amount"
    assert (await stripe.refund(processor_ref=paid.processor_ref, amount=3000, idempotency_key="r3",
                                metadata={})).amount == 3000


async def test_an_outage_is_unavailable_not_a_decline(sandbox) -> None:  # type: ignore[no-untyped-def]
    stripe = processor(sandbox)
    sandbox.state.outage = True
    with pytest.raises(ProcessorUnavailable):
        await stripe.charge(amount=1000, payment_method_ref="pm_card_visa", customer_ref=None, off_session=False,
                            idempotency_key="o1", metadata={})
    sandbox.state.outage = False
    assert sandbox.charges() == []
    down = StripeProcessor("sk_test_sandbox", "x", api_base="http://127.0.0.1:9", max_network_retries=0)
    with pytest.raises(ProcessorUnavailable):
        await down.create_customer(account_ref="a", idempotency_key="o2")


async def test_the_hosted_page_takes_a_payment_and_signs_its_event(sandbox) -> None:  # type: ignore[no-untyped-def]
    received: list[tuple[bytes, str]] = []
    sandbox.state.deliver = lambda payload, signature: received.append((payload, signature))
    stripe = processor(sandbox)
    page = await stripe.hosted_payment(amount=7500, description="Statement", idempotency_key="h1",
                                       metadata={"account_id": "acct-9"}, return_url=None)
    assert page.url == f"{sandbox.url}/pay/{page.session_id}"
    async with httpx.AsyncClient() as client:
        shown = await client.get(page.url)
        assert shown.status_code == 200 and "$75.00" in shown.text
        paid = await client.post(page.url, data={"payment_method": "pm_card_visa"})
        assert paid.status_code == 200
    completed = [json.loads(p) for p, _ in received if json.loads(p)["type"] == "checkout.session.completed"]
    assert len(completed) == 1
    payload, signature = next((p, s) for p, s in received if json.loads(p)["type"] == "checkout.session.completed")
    event = stripe.verify_event(payload, signature)
    assert event.kind == "checkout.session.completed" and event.amount == 7500
    assert event.metadata == {"account_id": "acct-9"} and event.payment_intent
    with pytest.raises(BadSignature):
        stripe.verify_event(payload, sign(payload, "whsec_someone_else"))
    with pytest.raises(BadSignature):
        stripe.verify_event(payload.replace(b"7500", b"1"), signature)
    with pytest.raises(BadSignature):
        stripe.verify_event(payload, None)
