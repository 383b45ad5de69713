"""What a utilization-management organisation (UMO) answers to a prior-authorization request, whatever the
channel (X12 278 response or a Da Vinci PAS ClaimResponse): one ``ReviewResponse``, and what it means for us.

Both channels speak X12 code lists: the action code (element 306, HCR01 / PAS ``reviewActionCode``), the
review decision reason (886, HCR03 / PAS ``reasonCode``), request-validation reject reasons (901, AAA03 / PAS
``ClaimResponse.error.code``) and follow-up actions (889, AAA04 / PAS ``followupAction``). The meanings below
are the standard's code meanings, not payer rules, read from the kernel's one table
(``rcm_shared.x12.code_tables``); what a payer's own HCR03 codes mean is data (``rules/utilization_review.yaml``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from rcm_shared.x12.code_tables import PAYER_UNAVAILABLE, follow_up_action, reject_reason

from authorizations.domain.model import Authorization, AuthorizationRequest, AuthorizationStatus, RequestDecision
from authorizations.domain.review_routes import ReviewRoutes


class ReviewStatus(enum.StrEnum):
    APPROVED = "approved"  # A1 certified in total
    MODIFIED = "modified"  # A2 certified partial / A6 modified: less (units, dates, codes) than asked
    DENIED = "denied"  # A3 not certified
    PENDED = "pended"  # A4 pended, CT contact payer: no decision yet, someone has to follow up
    NOT_REQUIRED = "not_required"  # NA: no review needed for this service
    CANCELLED = "cancelled"  # C: the certification is void
    REJECTED = "rejected"  # AAA: the request could not be reviewed at all; correct and resubmit


ACTION_STATUS: dict[str, ReviewStatus] = {
    "A1": ReviewStatus.APPROVED, "A2": ReviewStatus.MODIFIED, "A6": ReviewStatus.MODIFIED,
    "A3": ReviewStatus.DENIED, "A4": ReviewStatus.PENDED, "CT": ReviewStatus.PENDED,
    "NA": ReviewStatus.NOT_REQUIRED, "C": ReviewStatus.CANCELLED,
}
ACTION_NAMES: dict[str, str] = {
    "A1": "Certified in total", "A2": "Certified - partial", "A3": "Not certified", "A4": "Pended",
    "A6": "Modified", "C": "Cancelled", "CT": "Contact payer", "NA": "No action required",
}
CERTIFIED_ACTIONS = frozenset({"A1", "A2", "A6"})

# The most a payer's answer may put in what we keep: the 005010X217 element sizes (a PAS answer carries the same
# elements), and a count of units no certification comes near. A longer value, a control character or a bigger
# count makes the answer unreadable (a work item, or a 422 for a posted answer), never a failed write.
SIZES: dict[str, int] = {
    "action": 2,  # HCR01 (306)
    "certification_number": 50,  # HCR02 / REF02 / TRN02 (127)
    "reason_code": 30,  # HCR03 (1271)
    "trace_originator": 10,  # TRN03 (509)
    "reject_reason": 2,  # AAA03 (901)
    "follow_up": 1,  # AAA04 (889)
    "procedure_code": 48,  # SV101-2 (234)
}
MAX_UNITS = 99_999


def keepable(value: str, field: str) -> bool:
    """Whether a payer-sent code or number fits what we keep for ``field`` (see ``SIZES``)."""
    return len(value) <= SIZES[field] and value.isprintable()


# Which 278 loop an AAA sits in says whose data is wrong (the request's party), and the code says what.
PARTY_OF_LOOP: dict[str, str] = {
    "2000A": "payer", "2010A": "payer", "2010B": "requester", "2010C": "subscriber", "2010D": "patient",
    "2000E": "patient_event", "2010EA": "rendering_provider", "2000F": "service",
}
_FIX: dict[tuple[str, str], str] = {
    **{("payer", c): "payer_id" for c in ("79", "T4")},
    **{("requester", c): "requester_npi" for c in ("15", "43", "51", "79")},
    ("requester", "44"): "requester_name",
    **{("subscriber", c): "member_id" for c in ("15", "64", "67", "68", "72", "75", "76", "77")},
    **{("subscriber", c): "subscriber_name" for c in ("65", "73")},
    **{("subscriber", c): "subscriber_birth_date" for c in ("58", "71")},
    **{("patient", c): "dependent" for c in ("15", "58", "64", "65", "66", "67", "71", "77")},
    **{("rendering_provider", c): "rendering_npi" for c in ("15", "43", "51", "52")},
    **{("patient_event", c): "dates" for c in ("56", "57", "60", "61", "62")},
    ("patient_event", "AF"): "diagnoses",
    **{(p, "AG"): "services" for p in ("patient_event", "service")},
    **{("service", c): "dates" for c in ("56", "57", "62")},
}


@dataclass(frozen=True, slots=True)
class Rejection:
    """One AAA (request validation) of the response: the request could not be processed as sent.

    ``loop`` is the 278 loop id (``2010C``) or, from a PAS answer, the ``errorElement`` it names."""

    loop: str
    reason_code: str
    follow_up: str = "C"
    valid: bool = False  # AAA01: "Y" means the request was valid but still could not be processed

    @property
    def party(self) -> str:
        loop = self.loop.split("-", 1)[0]
        return PARTY_OF_LOOP.get(loop, "request")

    @property
    def reason(self) -> str:
        return reject_reason(self.reason_code)[0]

    @property
    def fix(self) -> str | None:
        """The request field to correct, or None when nothing in the request is wrong (retry later)."""
        return _FIX.get((self.party, self.reason_code))

    @property
    def retry_later(self) -> bool:
        """Nothing in the request is wrong: the payer could not answer now (42, 80)."""
        return reject_reason(self.reason_code)[1] == PAYER_UNAVAILABLE

    def to_dict(self) -> dict[str, object]:
        """For the work queue: codes and field names only, never the values that were refused (PHI)."""
        return {"party": self.party, "loop": self.loop, "reason_code": self.reason_code, "reason": self.reason,
                "fix": self.fix, "follow_up": self.follow_up,
                "follow_up_action": follow_up_action(self.follow_up)[0], "retry_later": self.retry_later}


@dataclass(frozen=True, slots=True)
class ServiceOutcome:
    """The UMO's answer for one requested service (2000F / ClaimResponse.item)."""

    cpt_code: str
    requested_units: int
    action: str = ""
    certification_number: str = ""
    reason_code: str = ""
    approved_units: int | None = None
    start: date | None = None
    end: date | None = None
    rejections: tuple[Rejection, ...] = ()


@dataclass(frozen=True, slots=True)
class ReviewResponse:
    """The UMO's answer to one patient event (2000E / the ClaimResponse), channel-neutral.

    ``action`` is empty when the request was rejected before review (``rejections`` say why)."""

    trace_number: str
    trace_originator: str = ""  # TRN03 of our request, echoed by the UMO
    action: str = ""
    certification_number: str = ""  # HCR02 / preAuthRef: goes on the claim as REF*G1
    reason_code: str = ""  # HCR03 / reasonCode
    administrative_reference: str = ""  # REF*NT: the UMO's number for a review it did not certify (yet)
    previous_authorization_number: str = ""  # REF*BB: the certification this one extends or revises
    start: date | None = None
    end: date | None = None
    approved_units: int | None = None  # HSD*VS / authorizedItemDetail quantity
    services: tuple[ServiceOutcome, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    payer_id: str = ""

    @property
    def status(self) -> ReviewStatus:
        if not self.action:
            return ReviewStatus.REJECTED
        return ACTION_STATUS.get(self.action, ReviewStatus.PENDED)  # an unknown code: a person looks at it

    @property
    def all_rejections(self) -> tuple[Rejection, ...]:
        return self.rejections + tuple(r for s in self.services for r in s.rejections)


def overall_action(actions: list[str]) -> str:
    """The event's action from its services' (PAS answers per item; a 278 also per 2000F): all the same ->
    that one; any pended -> pended; some certified, some not -> modified; nothing certified -> not certified."""
    codes = [a for a in actions if a]
    if not codes:
        return ""
    if len(set(codes)) == 1:
        return codes[0]
    if any(ACTION_STATUS.get(a) is ReviewStatus.PENDED for a in codes):
        return "A4"
    if any(a in CERTIFIED_ACTIONS for a in codes):
        return "A6"
    return "A3"


@dataclass(frozen=True, slots=True)
class RequestedCare:
    """What we asked for (read back from the stored request): the fallback for what the answer leaves out."""

    cpt_codes: frozenset[str]
    units: int
    start: date
    end: date


def authorization_from(response: ReviewResponse, requested: RequestedCare, patient_id: str,
                       payer_id: str) -> Authorization | None:
    """The authorization a decided review gives the ledger; None while pended or when rejected.

    Certified: the certified services' codes, the approved units (event HSD, else the services' HSD, else what
    was asked) and the certified period (else the services' dates, else the asked period). Not certified: a
    DENIED record with no units, kept so the patient's history shows the denial.
    """
    status = response.status
    if status not in (ReviewStatus.APPROVED, ReviewStatus.MODIFIED, ReviewStatus.DENIED):
        return None
    number = response.certification_number or response.administrative_reference or response.trace_number
    if status is ReviewStatus.DENIED:
        return Authorization(number=number, patient_id=patient_id, payer_id=payer_id,
                             cpt_codes=requested.cpt_codes, approved_units=0,
                             start=response.start or requested.start,
                             end=max(response.end or requested.end, response.start or requested.start),
                             status=AuthorizationStatus.DENIED)
    certified = [s for s in response.services if s.action in CERTIFIED_ACTIONS or not s.action]
    codes = frozenset(s.cpt_code for s in certified) or requested.cpt_codes
    if response.approved_units is not None:
        units = response.approved_units
    elif certified:
        units = sum(s.approved_units if s.approved_units is not None else s.requested_units for s in certified)
    else:
        units = requested.units
    starts = [s.start for s in certified if s.start] or [requested.start]
    ends = [s.end for s in certified if s.end] or [requested.end]
    start = response.start or min(starts)
    end = response.end or max(ends)
    return Authorization(number=number, patient_id=patient_id, payer_id=payer_id, cpt_codes=codes,
                         approved_units=units, start=start, end=max(end, start),
                         status=AuthorizationStatus.APPROVED)


@dataclass(frozen=True, slots=True)
class InterpretedAnswer:
    """What a payer's answer to one request means for us, channel-neutral: the review's new state, the words and
    codes to keep, the authorization it gives the ledger (certified or denied) and, for a cancellation, the numbers
    it may name (HCR02, the REF*BB it revises, the request's own REF*BB, what the review certified before)."""

    decision: RequestDecision
    action_code: str | None = None
    reason_code: str | None = None
    reason: str | None = None
    certification_number: str | None = None
    administrative_reference: str | None = None
    rejections: tuple[dict[str, object], ...] = ()
    follow_up_on: date | None = None
    authorization: Authorization | None = None
    cancels: tuple[str, ...] = ()


def interpret_answer(response: ReviewResponse | None, unreadable: str, request: AuthorizationRequest,
                     patient_id: str, routes: ReviewRoutes, sent_on: date, reviewed_number: str | None = None
                     ) -> InterpretedAnswer:
    """``response`` read from the payer's answer (None: ``unreadable`` says why); ``sent_on``: the practice's date
    the request went out (follow-ups count from it); ``reviewed_number``: what this review certified before."""
    if response is not None and response.trace_number != request.trace_number:
        response, unreadable = None, "the answer names another request's trace number"
    if response is None:
        return InterpretedAnswer(RequestDecision.UNREADABLE, reason=unreadable[:200] or None)
    status = response.status
    payer_id = request.payer_id
    requested = RequestedCare(frozenset(s.cpt_code for s in request.services), request.total_units, request.start,
                              request.end)
    cancels: tuple[str, ...] = ()
    if status is ReviewStatus.CANCELLED:
        cancels = tuple(n for n in (response.certification_number, response.previous_authorization_number,
                                    request.previous_authorization_number, reviewed_number or "") if n)
    return InterpretedAnswer(
        decision=RequestDecision(status.value), action_code=response.action or None,
        reason_code=response.reason_code or None, reason=routes.reason_text(payer_id, response.reason_code) or None,
        certification_number=response.certification_number or None,
        administrative_reference=response.administrative_reference or None,
        rejections=tuple(r.to_dict() for r in response.all_rejections),
        follow_up_on=routes.follow_up_on(payer_id, sent_on) if status is ReviewStatus.PENDED else None,
        authorization=authorization_from(response, requested, patient_id, payer_id), cancels=cancels)


def npi_is_valid(npi: str) -> bool:
    """10 digits, first 1 or 2, last a Luhn check digit over ``80840`` + the first nine digits."""
    if len(npi) != 10 or not npi.isdigit() or npi[0] not in "12":
        return False
    total = 0
    for i, ch in enumerate(reversed("80840" + npi[:9])):
        digit = int(ch)
        if i % 2 == 0:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return (10 - total % 10) % 10 == int(npi[9])
