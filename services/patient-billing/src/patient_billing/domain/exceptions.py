"""Domain refusals of patient billing; messages name fields, never patient data. ``bootstrap.DOMAIN_ERRORS`` maps
each to problem+json once."""

from __future__ import annotations


class PatientBillingError(Exception):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidAmount(PatientBillingError):
    """Not a positive whole number of cents, or more than the movement may carry."""


class UnbalancedEntry(PatientBillingError):
    """A journal entry whose debits and credits differ (a bug, never a client's input)."""


class AccountNotFound(PatientBillingError):
    pass


class EntryNotFound(PatientBillingError):
    pass


class PaymentNotFound(PatientBillingError):
    pass


class RefundExceedsPaid(PatientBillingError):
    """A refund above what is left of the payment it returns."""


class AlreadyReversed(PatientBillingError):
    pass


class NotReversible(PatientBillingError):
    pass


class InvalidGuarantor(PatientBillingError):
    pass


class RulesNotInForce(PatientBillingError):
    """No rules entry (fee schedule, sliding-scale policy, financial policy) is in force on the day asked about."""


class NoFeeScheduled(PatientBillingError):
    """No self-pay fee in force for the visit's appointment type, credential level and program."""


class FeeNotAllowed(PatientBillingError):
    """A no-show or late-cancel fee the written policy does not allow (no signed consent, not that outcome)."""


class ConsentRequired(PatientBillingError):
    """A card kept on file (or autopay) without the responsible party's recorded consent."""


class NotRefundable(PatientBillingError):
    """A refund of a card payment that did not succeed (or is not known to the processor)."""


class ProcessorUnavailable(PatientBillingError):
    """The payment processor could not be reached or failed (5xx, timeout): nothing was charged or refunded yet."""


class ProcessorRefused(PatientBillingError):
    """The payment processor refused a request (not a card decline): the message says why, without PHI."""


class CardNotChargeable(PatientBillingError):
    """A card on file that is not active (not set up, needs authentication, declined, removed)."""


class PlanRefused(PatientBillingError):
    """A payment plan the practice's plan rules do not allow (too many installments, too small, no balance)."""
