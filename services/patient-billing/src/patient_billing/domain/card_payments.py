"""Card payments through a payment processor: the payment's own states (apart from the ledger, which only ever
hears of money that arrived or went back), cards on file with their consent, and what the processor answers.

A :class:`CardPayment` starts ``pending`` (recorded before the processor is asked, so an outage never loses it),
then the processor's answer moves it: ``succeeded`` (the ledger posts it, once), ``declined`` (a clear outcome and
a work item), ``requires_action`` (the cardholder must authenticate; a webhook finishes it). A ``pending`` payment
is asked again, always with the same idempotency key, so a retry never charges twice.

Pure domain: no I/O, no framework.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from patient_billing.domain.exceptions import ConsentRequired, InvalidAmount, NotRefundable, RefundExceedsPaid


class PaymentState(StrEnum):
    PENDING = "pending"  # recorded; the processor not (yet) reached
    REQUIRES_ACTION = "requires_action"  # the cardholder must authenticate (3-D Secure)
    SUCCEEDED = "succeeded"
    DECLINED = "declined"


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    REQUIRES_ACTION = "requires_action"


@dataclass(frozen=True)
class ChargeAnswer:
    """What the processor said about a charge."""

    outcome: Outcome
    processor_ref: str | None  # the PaymentIntent id
    decline_code: str | None = None
    message: str | None = None
    action_url: str | None = None


@dataclass(frozen=True)
class CardSetup:
    """A card saved at the processor for later (off-session) charges, or waiting for the cardholder."""

    status: str  # succeeded | requires_action | declined
    processor_ref: str | None  # the SetupIntent id
    customer_ref: str
    payment_method_ref: str
    brand: str | None = None
    last4: str | None = None
    decline_code: str | None = None
    action_url: str | None = None


@dataclass(frozen=True)
class RefundAnswer:
    processor_ref: str
    amount: int


#: Attempts and waits for a payment the processor could not be reached for: then it stays pending for a person.
RETRY_DELAYS = (timedelta(seconds=5), timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10),
                timedelta(hours=1), timedelta(hours=6))


@dataclass
class CardPayment:
    payment_id: str
    practice_id: str
    account_id: str
    patient_id: str
    amount: int
    method_id: str | None  # the card on file (ours), or None for a card given now
    payment_method_ref: str  # the processor's payment method
    customer_ref: str | None
    purpose: str  # payment | autopay | installment
    created_at: datetime
    state: PaymentState = PaymentState.PENDING
    processor_ref: str | None = None
    decline_code: str | None = None
    message: str | None = None
    action_url: str | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    refunded: int = 0
    installment_id: str | None = None
    received_on: date | None = None
    events: list[object] = field(default_factory=list)

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount <= 0:
            raise InvalidAmount("must be a positive whole number of cents", field="amount")

    def pull_events(self) -> list[object]:
        events, self.events = self.events, []
        return events

    @property
    def idempotency_key(self) -> str:
        """Sent with every attempt: the processor charges once however often it is asked."""
        return f"rcm-payment-{self.payment_id}"

    @property
    def off_session(self) -> bool:
        return self.purpose in ("autopay", "installment")

    def unreachable(self, now: datetime) -> None:
        """The processor could not be reached (or answered 5xx): stay pending, try again later."""
        if self.state is not PaymentState.PENDING:
            return
        delay = RETRY_DELAYS[min(self.attempts, len(RETRY_DELAYS) - 1)]
        self.attempts += 1
        self.next_attempt_at = now + delay if self.attempts <= len(RETRY_DELAYS) else None

    def answered(self, answer: ChargeAnswer, now: datetime, today: date) -> bool:
        """The processor's answer; True when the payment just succeeded (the ledger posts it then)."""
        self.processor_ref = answer.processor_ref or self.processor_ref
        self.next_attempt_at = None
        if self.state is PaymentState.SUCCEEDED:
            return False  # a duplicate answer (a webhook after the response, a retry): already posted
        if answer.outcome is Outcome.SUCCEEDED:
            self.state, self.decline_code, self.message, self.action_url = PaymentState.SUCCEEDED, None, None, None
            self.received_on = today
            return True
        if answer.outcome is Outcome.REQUIRES_ACTION:
            self.state, self.action_url = PaymentState.REQUIRES_ACTION, answer.action_url
            return False
        self.state, self.decline_code = PaymentState.DECLINED, answer.decline_code or "card_declined"
        self.message = answer.message or "The card was declined."
        return False

    def check_refund(self, amount: int) -> None:
        if self.state is not PaymentState.SUCCEEDED or self.processor_ref is None:
            raise NotRefundable("only a card payment that succeeded is refunded", field="payment_id")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise InvalidAmount("must be a positive whole number of cents", field="amount")
        if amount > self.amount - self.refunded:
            raise RefundExceedsPaid(f"a refund may return at most {self.amount - self.refunded} cents of this "
                                    "payment", field="amount")


@dataclass
class CardOnFile:
    """A card saved for later charges, only with the responsible party's recorded consent."""

    method_id: str
    practice_id: str
    account_id: str
    customer_ref: str
    payment_method_ref: str
    consent_signed_on: date
    consent_text: str  # the authorization the party agreed to (its version id)
    created_at: datetime
    status: str = "pending"  # pending | active | requires_action | declined | removed
    brand: str | None = None
    last4: str | None = None
    setup_ref: str | None = None
    autopay: bool = False

    @classmethod
    def with_consent(cls, *, method_id: str, practice_id: str, account_id: str, customer_ref: str,
                     payment_method_ref: str, consent_signed_on: date | None, consent_text: str | None,
                     autopay: bool, now: datetime) -> CardOnFile:
        if consent_signed_on is None or not consent_text:
            raise ConsentRequired("a card is kept on file only with the responsible party's recorded consent",
                                  field="consent")
        if consent_signed_on > now.date():
            raise ConsentRequired("the consent is dated in the future", field="consent.signed_on")
        return cls(method_id, practice_id, account_id, customer_ref, payment_method_ref, consent_signed_on,
                   consent_text, now, autopay=autopay)

    def set_up(self, setup: CardSetup) -> None:
        self.setup_ref, self.brand, self.last4 = setup.processor_ref, setup.brand, setup.last4
        self.status = {"succeeded": "active", "requires_action": "requires_action"}.get(setup.status, "declined")

    @property
    def chargeable(self) -> bool:
        return self.status == "active"
