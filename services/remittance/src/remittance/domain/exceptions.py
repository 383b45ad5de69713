"""What the remittance domain refuses, each with the field a caller would correct (when there is one).

The composition root maps every one of them to a problem+json answer once (``bootstrap.DOMAIN_ERRORS``); the
service layer and the consumers raise them and never think about HTTP."""

from __future__ import annotations


class RemittanceError(Exception):
    """Base of the domain's refusals. ``field``: the input to correct, if the caller can correct one."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        if field is not None:
            self.field = field


class UnknownEra(RemittanceError, LookupError):
    """An ERA this service does not hold (for this practice)."""


class UnknownEraException(RemittanceError, LookupError):
    """No such ERA exception for this practice."""


class NotADuplicatePayment(RemittanceError):
    """Only money held as a duplicate payment is settled by a person's decision."""


class AlreadySettled(RemittanceError):
    """A duplicate payment is settled once: a second decision on the same exception is refused."""


class UnknownDecision(RemittanceError, ValueError):
    """A decision the duplicate-payment rules in force do not name."""

    field = "body.decision"


class IllegalEraTransition(RemittanceError):
    """An ERA asked to move in a way its intake does not allow (posted twice, settled before it was read)."""
