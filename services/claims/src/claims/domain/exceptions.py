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


class ClaimNotFound(ClaimsDomainError):
    """No such claim (in this practice): a 404, never telling whether another practice has one."""

    def __init__(self) -> None:
        super().__init__("No such claim")


class ClaimUnreadable(ClaimsDomainError):
    """The claim's stored document cannot be read back (409): rebuild the claim from its visit."""

    def __init__(self) -> None:
        super().__init__("This claim's stored document cannot be read; rebuild the claim from its visit")


class VisitAlreadyRecorded(ClaimsDomainError):
    """The practice already posted a visit with this external id: correct its claim instead."""

    field = "body.external_visit_id"

    def __init__(self, visit_id: str) -> None:
        super().__init__("This visit was already recorded; correct its claim instead")
        self.problem_extra = {"visit_id": visit_id}


class NoSuchLine(ClaimsDomainError):
    """A correction names a service line the claim does not have."""

    def __init__(self, number: int, field: str = "modifiers") -> None:
        super().__init__("no such line")
        self.field = f"body.{field}.{number}"
