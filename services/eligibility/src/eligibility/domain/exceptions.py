"""What eligibility refuses, as domain exceptions. ``bootstrap.DOMAIN_ERRORS`` maps each to a problem+json status
once; a message is what the client reads (codes and field names only, never PHI) and ``field`` names the request
field to fix when there is one."""

from __future__ import annotations


class EligibilityError(Exception):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(EligibilityError):
    """The practice has no such record (another practice's is not disclosed)."""


class NoStoredCoverage(NotFound):
    def __init__(self) -> None:
        super().__init__("No stored benefits for this patient")


class BatchRunNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No such batch run")


class WorkItemNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No such work item")


class PayerUnavailable(Exception):
    """What a payer gateway raises when the payer or clearinghouse did not answer: try again later. Not a refusal
    of ours: an unattended job retries, a real-time check answers ``PayerDidNotAnswer``.

    ``error_code`` carries the connectivity layer's code when there is one (e.g. a CAQH CORE envelope ``ErrorCode``
    such as ``UnAuthorized``); the message names codes and statuses only, never the payload."""

    def __init__(self, message: str = "payer unavailable", *, error_code: str | None = None) -> None:
        super().__init__(message)
        self.error_code = error_code


class PayerDidNotAnswer(EligibilityError):
    """A real-time check the payer did not answer (the gateway's codes stay in the logs)."""

    def __init__(self) -> None:
        super().__init__("The payer did not answer; try again later")


class UnsendableInquiry(EligibilityError):
    """The 270 cannot be written from these values (the writer names the segment and element, never the value)."""

    def __init__(self, where: str) -> None:
        super().__init__(f"The inquiry cannot be sent: {where}")
        self.where = where


class ScheduleDateOutOfReach(EligibilityError):
    """An operator asked for a run of a date the night's job would never run: before today (those visits are
    past) or beyond the next schedule date (its run would go out before the schedule is complete, and block the
    night's own run for that date)."""

    def __init__(self, first: object, last: object) -> None:
        super().__init__(f"the schedule date must be from {first} to {last}", field="body.schedule_date")


class BatchModeUnsupported(EligibilityError):
    def __init__(self) -> None:
        super().__init__("The configured payer gateway has no batch mode")


class IllegalMove(EligibilityError):
    """An aggregate asked to change state in a way its life cycle does not allow."""

    def __init__(self, what: str, current: str, wanted: str) -> None:
        super().__init__(f"a {what} that is {current} cannot become {wanted}")
        self.current = current
        self.wanted = wanted


class IllegalBatchRunMove(IllegalMove):
    def __init__(self, current: str, wanted: str) -> None:
        super().__init__("nightly batch run", current, wanted)


class IllegalRecheckMove(IllegalMove):
    def __init__(self, current: str, wanted: str) -> None:
        super().__init__("re-check", current, wanted)
