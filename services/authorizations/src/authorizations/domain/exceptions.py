"""What the authorizations domain refuses, each with the field a caller would correct (when there is one).

The composition root maps every one of them to a problem+json answer once (``bootstrap.DOMAIN_ERRORS``); the
service layer and the consumers raise them and never think about HTTP."""

from __future__ import annotations


class AuthorizationsError(Exception):
    """Base of the domain's refusals. ``field``: the input to correct, if the caller can correct one."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        if field is not None:
            self.field = field


class InvalidRegistryEntry(AuthorizationsError, ValueError):
    """An enrollment or supervision the credentialing registry cannot hold (ends before it starts, a clinician
    supervising themselves)."""


class UnknownTrace(AuthorizationsError, LookupError):
    """A payer's answer naming a trace number this practice never sent."""


class ReviewConflict(AuthorizationsError):
    """An answer for a review that cannot take it: only a pended (or unreadable) review takes a later decision,
    and a certified one only a cancellation."""


class NoReviewRoute(AuthorizationsError, LookupError):
    """No utilization-review route names this payer on this date (and there is no "*" route)."""

    field = "payer_id"


class RulesNotInForce(AuthorizationsError, LookupError):
    """No rules file entry is in force on the day asked about (e.g. a work queue read for a day before the
    practice's renewal thresholds begin): nothing can be decided for it."""

    field = "today"
