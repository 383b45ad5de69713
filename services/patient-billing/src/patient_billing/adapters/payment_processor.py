"""The payment-processor port and its Stripe adapter.

:class:`PaymentProcessor` is what the use cases need of a card processor. :class:`StripeProcessor` implements it with
the official ``stripe`` package (PaymentIntents, SetupIntents, Refunds, Checkout Sessions for the hosted payment page,
webhook signature verification). Pointed at Stripe it charges real cards; pointed at the sandbox processor
(``patient_billing.sandbox.processor``, ``api_base``) the same client talks to a local look-alike. Unit tests use a
fake with the same methods.

Only our own ids go to the processor as metadata (payment, account, practice): never a name or a diagnosis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import stripe

from patient_billing.domain.card_payments import CardSetup, ChargeAnswer, Outcome, RefundAnswer
from patient_billing.domain.exceptions import ProcessorRefused, ProcessorUnavailable


class BadSignature(Exception):
    """A webhook whose signature does not verify (or is missing, or too old)."""


@dataclass(frozen=True)
class ProcessorEvent:
    event_id: str
    kind: str  # payment_intent.succeeded, payment_intent.payment_failed, checkout.session.completed, ...
    object_id: str
    metadata: dict[str, str]
    status: str | None = None
    amount: int | None = None
    payment_intent: str | None = None  # a checkout session's payment
    decline_code: str | None = None


@dataclass(frozen=True)
class HostedPayment:
    session_id: str
    url: str


class PaymentProcessor(Protocol):
    name: str

    async def create_customer(self, *, account_ref: str, idempotency_key: str) -> str: ...

    async def save_card(self, *, customer_ref: str, payment_method_ref: str, idempotency_key: str,
                        metadata: dict[str, str]) -> CardSetup: ...

    async def charge(self, *, amount: int, payment_method_ref: str, customer_ref: str | None, off_session: bool,
                     idempotency_key: str, metadata: dict[str, str]) -> ChargeAnswer: ...

    async def refund(self, *, processor_ref: str, amount: int, idempotency_key: str,
                     metadata: dict[str, str]) -> RefundAnswer: ...

    async def hosted_payment(self, *, amount: int, description: str, idempotency_key: str,
                             metadata: dict[str, str], return_url: str | None) -> HostedPayment: ...

    def verify_event(self, payload: bytes, signature: str | None) -> ProcessorEvent: ...


class StripeProcessor:
    """The ``stripe`` package's client; ``api_base`` points it at the sandbox processor (or leaves it at Stripe)."""

    name = "stripe"

    def __init__(self, api_key: str, webhook_secret: str, *, api_base: str | None = None,
                 max_network_retries: int = 1, timeout: float = 20.0) -> None:
        addresses: Any = {"api": api_base.rstrip("/")} if api_base else {}
        self._client = stripe.StripeClient(api_key, base_addresses=addresses, max_network_retries=max_network_retries,
                                           http_client=stripe.HTTPXClient(timeout=timeout))
        self._webhook_secret = webhook_secret

    async def create_customer(self, *, account_ref: str, idempotency_key: str) -> str:
        customer = await self._call(self._client.v1.customers.create_async(
            params={"metadata": {"account_id": account_ref}}, options={"idempotency_key": idempotency_key}))
        return str(customer.id)

    async def save_card(self, *, customer_ref: str, payment_method_ref: str, idempotency_key: str,
                        metadata: dict[str, str]) -> CardSetup:
        try:
            params: dict[str, Any] = {
                "customer": customer_ref, "payment_method": payment_method_ref, "confirm": True,
                "usage": "off_session", "payment_method_types": ["card"], "metadata": metadata}
            setup = await self._call(self._client.v1.setup_intents.create_async(
                params=params, options={"idempotency_key": idempotency_key}))  # type: ignore[arg-type]
        except stripe.CardError as exc:
            return CardSetup("declined", None, customer_ref, payment_method_ref,
                             decline_code=exc.error.decline_code if exc.error else exc.code)
        card = await self._call(self._client.v1.payment_methods.retrieve_async(payment_method_ref))
        details = getattr(card, "card", None)
        return CardSetup(str(setup.status), str(setup.id), customer_ref, payment_method_ref,
                         brand=getattr(details, "brand", None), last4=getattr(details, "last4", None),
                         action_url=_action_url(setup))

    async def charge(self, *, amount: int, payment_method_ref: str, customer_ref: str | None, off_session: bool,
                     idempotency_key: str, metadata: dict[str, str]) -> ChargeAnswer:
        params: dict[str, Any] = {"amount": amount, "currency": "usd", "payment_method": payment_method_ref,
                                  "confirm": True, "metadata": metadata, "payment_method_types": ["card"]}
        if customer_ref:
            params["customer"] = customer_ref
        if off_session:
            params["off_session"] = True
        try:
            intent = await self._call(self._client.v1.payment_intents.create_async(
                params=params, options={"idempotency_key": idempotency_key}))  # type: ignore[arg-type]
        except stripe.CardError as exc:
            error = exc.error
            intent_id = getattr(getattr(error, "payment_intent", None), "id", None) if error else None
            return ChargeAnswer(Outcome.DECLINED, intent_id, decline_code=(error.decline_code if error else None)
                                or exc.code, message=_decline_message(exc.code, error.decline_code if error else None))
        if intent.status == "succeeded":
            return ChargeAnswer(Outcome.SUCCEEDED, intent.id)
        if intent.status == "requires_action":
            return ChargeAnswer(Outcome.REQUIRES_ACTION, intent.id, action_url=_action_url(intent))
        if intent.status == "processing":
            raise ProcessorUnavailable("the processor is still processing the payment")
        return ChargeAnswer(Outcome.DECLINED, intent.id, decline_code=str(intent.status))

    async def refund(self, *, processor_ref: str, amount: int, idempotency_key: str,
                     metadata: dict[str, str]) -> RefundAnswer:
        refund = await self._call(self._client.v1.refunds.create_async(params={
            "payment_intent": processor_ref, "amount": amount, "metadata": metadata},
            options={"idempotency_key": idempotency_key}))
        return RefundAnswer(str(refund.id), int(refund.amount))

    async def hosted_payment(self, *, amount: int, description: str, idempotency_key: str,
                             metadata: dict[str, str], return_url: str | None) -> HostedPayment:
        params: dict[str, Any] = {"mode": "payment", "metadata": metadata, "line_items": [{
            "quantity": 1, "price_data": {"currency": "usd", "unit_amount": amount,
                                          "product_data": {"name": description}}}]}
        if return_url:
            params["success_url"] = return_url
        session = await self._call(self._client.v1.checkout.sessions.create_async(
            params=params, options={"idempotency_key": idempotency_key}))  # type: ignore[arg-type]
        return HostedPayment(str(session.id), str(session.url))

    def verify_event(self, payload: bytes, signature: str | None) -> ProcessorEvent:
        try:
            event = self._client.construct_event(payload, signature, self._webhook_secret)
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise BadSignature(type(exc).__name__) from None
        obj: dict[str, Any] = event.to_dict()["data"]["object"]
        error = obj.get("last_payment_error") or {}
        amount = obj.get("amount_total", obj.get("amount"))
        return ProcessorEvent(str(event.id), str(event.type), str(obj.get("id")),
                              {str(k): str(v) for k, v in (obj.get("metadata") or {}).items()},
                              status=obj.get("status"), amount=int(amount) if amount is not None else None,
                              payment_intent=obj.get("payment_intent"),
                              decline_code=error.get("decline_code") or error.get("code"))

    @staticmethod
    async def _call(awaitable: Any) -> Any:
        """The processor's failures in our terms: unreachable or failing (retry later) or refused (say why)."""
        try:
            return await awaitable
        except stripe.CardError:
            raise
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise ProcessorUnavailable(f"the processor could not be reached ({type(exc).__name__})") from None
        except stripe.APIError as exc:
            raise ProcessorUnavailable(f"the processor failed ({exc.http_status})") from None
        except stripe.StripeError as exc:
            if (exc.http_status or 0) >= 500:
                raise ProcessorUnavailable(f"the processor failed ({exc.http_status})") from None
            param = exc.error.param if exc.error is not None else None
            raise ProcessorRefused(exc.user_message or "the processor refused the request",
                                   field=f"body.{param}" if param else None) from None


def _action_url(intent: Any) -> str | None:
    action = intent.to_dict().get("next_action") or {}
    redirect = action.get("redirect_to_url") or {}
    return str(redirect["url"]) if redirect.get("url") else None


DECLINE_MESSAGES = {
    "insufficient_funds": "The card has insufficient funds.",
    "authentication_required": "The card needs the cardholder to authenticate; ask them to pay on-session.",
    "expired_card": "The card has expired.",
}


def _decline_message(code: str | None, decline_code: str | None) -> str:
    return DECLINE_MESSAGES.get(decline_code or "", DECLINE_MESSAGES.get(code or "", "The card was declined."))
