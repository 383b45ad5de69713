"""Domain exceptions of the claims service. Messages name fields and codes, never PHI."""

from __future__ import annotations


class ClaimsDomainError(Exception):
    """Base class: the adapters map it to a problem+json 4xx response."""


class IllegalClaimTransition(ClaimsDomainError):
    """A command asked a claim to move to a status its life cycle does not allow from where it is."""

    def __init__(self, claim_id: str, current: str, action: str) -> None:
        self.claim_id = claim_id
        self.current = current
        self.action = action
        super().__init__(f"claim {claim_id}: cannot {action} while {current}")


class RulesetNotFound(ClaimsDomainError):
    """No coding ruleset, payer terms or fee schedule is in force on the date asked for."""

    field = "date_of_service"  # a visit before the first ruleset cannot be coded: the date is what to fix


class InvalidRules(ClaimsDomainError):
    """A rules document does not have the shape the loader expects (names the path of the bad field)."""


class InvalidClaim(ClaimsDomainError):
    """A claim cannot be built or serialized as given (names the field)."""
