"""How a statement's payment link is made: a small port, so the link points at whichever processor's hosted
payment page the deployment uses.

``HostedPageLinks`` names the link after the statement (the same statement always gets the same link) on the
processor's hosted page at ``{processor_base}/pay/{link_id}`` (RCM_PAYMENT_PROCESSOR_URL). The hosted page learns
what a link is for from ``GET /v1/payment-links/{link_id}`` (the statement's account, amount due and expiry);
wiring ``create`` to a processor's own link API instead is one new class with the same method.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol


@dataclass(frozen=True)
class PaymentLink:
    link_id: str
    url: str


class PaymentLinks(Protocol):
    async def create(self, *, practice_id: str, statement_id: str, account_id: str, amount_cents: int,
                     expires_on: date) -> PaymentLink: ...


class HostedPageLinks:
    def __init__(self, processor_base: str) -> None:
        self.base = processor_base.rstrip("/")

    async def create(self, *, practice_id: str, statement_id: str, account_id: str, amount_cents: int,
                     expires_on: date) -> PaymentLink:
        link_id = "pl_" + hashlib.sha256(f"{practice_id}:{statement_id}".encode()).hexdigest()[:24]
        return PaymentLink(link_id, f"{self.base}/pay/{link_id}")


class ProcessorHostedLinks:
    """A statement's link is a hosted payment page of the card processor (``PaymentProcessor.hosted_payment``: the
    sandbox processor's ``/pay/{session}`` under ``make run``, Stripe Checkout in production). A payment made there
    reaches the ledger through the processor's webhook, on the account named in the page's metadata. Once per
    statement (the idempotency key is the statement's)."""

    def __init__(self, processor: Any) -> None:
        self.processor = processor

    async def create(self, *, practice_id: str, statement_id: str, account_id: str, amount_cents: int,
                     expires_on: date) -> PaymentLink:
        page = await self.processor.hosted_payment(
            amount=amount_cents, description="Statement balance", idempotency_key=f"rcm-statement-{statement_id}",
            metadata={"practice_id": practice_id, "account_id": account_id, "statement_id": statement_id},
            return_url=None)
        return PaymentLink(str(page.session_id), str(page.url))
