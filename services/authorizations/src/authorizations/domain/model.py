"""Prior authorizations, the visits that consume them, and the requests we send a payer for one.

* ``Authorization``: one payer authorization (value object; the unit ledger in ``ledger.py`` decides which visit
  consumes which of its units);
* ``AuthorizationRequest``: what we ask the payer to review (what a 278 request or a PAS bundle carries);
* ``PriorAuthorizationRequest``: the aggregate of one request sent, and the life of its review (sent -> approved /
  modified / denied / not required / pended / rejected / unreadable; pended or unreadable -> a later answer;
  approved or modified -> cancelled by the payer). It refuses any other move.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from authorizations.domain.exceptions import ReviewConflict


class AuthorizationStatus(enum.StrEnum):
    """``REQUESTED``/``APPROVED``/``DENIED``/``CANCELLED`` are the payer's decision and are stored; ``EXPIRED`` and
    ``EXHAUSTED`` are derived by the ledger (``AuthorizationLedger.status_of``) from dates and consumption. A
    stored EXPIRED/EXHAUSTED (e.g. imported from another system) is treated as an approval for matching, so a
    voided visit can give a unit back to it."""

    REQUESTED = "requested"
    APPROVED = "approved"
    DENIED = "denied"
    CANCELLED = "cancelled"  # the payer voided a certification (278 / PAS action C): it covers nothing after
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"


USABLE_STATUSES = frozenset({AuthorizationStatus.APPROVED, AuthorizationStatus.EXPIRED, AuthorizationStatus.EXHAUSTED})


@dataclass(frozen=True, slots=True)
class Authorization:
    """One payer authorization: ``approved_units`` visits (or units) of ``cpt_codes`` between ``start`` and
    ``end`` inclusive. The ``number`` goes on the claim (837P 2300 REF*G1)."""

    number: str
    patient_id: str
    payer_id: str
    cpt_codes: frozenset[str]
    approved_units: int
    start: date
    end: date
    status: AuthorizationStatus = AuthorizationStatus.APPROVED
    # CANCELLED only: the last date of service it still covers (visits before the cancellation keep their units;
    # which day that is, is the payer's rule: rules/cancellation.yaml), and the practice's date it was cancelled.
    covered_through: date | None = None
    cancelled_on: date | None = None

    def __post_init__(self) -> None:
        if self.approved_units < 0:
            raise ValueError("approved_units must not be negative")
        if self.end < self.start:
            raise ValueError("authorization end precedes its start")

    @property
    def usable(self) -> bool:
        return self.status in USABLE_STATUSES

    @property
    def cancelled(self) -> bool:
        return self.status is AuthorizationStatus.CANCELLED

    @property
    def last_covered_day(self) -> date:
        if self.cancelled:
            return min(self.end, self.covered_through or date.min)
        return self.end

    def status_on(self, used_units: int, today: date) -> AuthorizationStatus:
        """The stored payer decision (a cancellation included), or EXHAUSTED / EXPIRED derived from the units used
        and the practice's ``today``."""
        if not self.usable:
            return self.status
        if self.approved_units - used_units <= 0:
            return AuthorizationStatus.EXHAUSTED
        if today > self.end:
            return AuthorizationStatus.EXPIRED
        return AuthorizationStatus.APPROVED

    def covers(self, visit: VisitFacts) -> bool:
        """Same patient and payer, date of service inside the range (up to the cancellation for a cancelled one),
        CPT covered, status approved."""
        return (
            (self.usable or self.cancelled)
            and visit.patient_id == self.patient_id
            and visit.payer_id == self.payer_id
            and self.start <= visit.service_date <= self.last_covered_day
            and visit.cpt_code in self.cpt_codes
        )


@dataclass(frozen=True, slots=True, order=True)
class VisitFacts:
    """What a completed visit says about consumption (ordering only serves deterministic tie-breaks)."""

    patient_id: str
    payer_id: str
    service_date: date
    cpt_code: str


# ------------------------------------------------------------------------------------------------ requests


@dataclass(frozen=True, slots=True)
class RequestedService:
    cpt_code: str
    units: int


@dataclass(frozen=True, slots=True)
class Dependent:
    """The patient when they are not the subscriber (2000D), e.g. a child on a parent's plan."""

    last_name: str
    first_name: str
    birth_date: date | None = None
    gender: str = ""
    relationship: str = "19"  # INS02: 19 child, 01 spouse, 34 other adult ...


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """What we ask the payer (utilization management organisation) to approve."""

    payer_id: str
    payer_name: str
    requester_npi: str
    requester_name: str
    member_id: str
    subscriber_last_name: str
    subscriber_first_name: str
    subscriber_birth_date: date | None
    rendering_npi: str
    rendering_last_name: str
    rendering_first_name: str
    diagnosis_codes: tuple[str, ...]  # ICD-10-CM without the dot, principal first
    services: tuple[RequestedService, ...]
    start: date
    end: date
    trace_number: str
    service_type: str = "MH"
    place_of_service: str = "11"
    certification_type: str = "I"
    subscriber_gender: str = ""
    dependent: Dependent | None = None
    previous_authorization_number: str = ""  # REF*BB: the certification an extension (4) or revision (S) is for

    @property
    def total_units(self) -> int:
        return sum(s.units for s in self.services)


class RequestDecision(enum.StrEnum):
    """Where the review of one request stands (stored as ``authorization_requests.decision``)."""

    SENT = "sent"  # on its way: the payer has not answered yet
    APPROVED = "approved"
    MODIFIED = "modified"
    DENIED = "denied"
    PENDED = "pended"
    NOT_REQUIRED = "not_required"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    UNREADABLE = "unreadable"  # the payer answered, we could not read it: a person looks at it


#: What a review in each state may still take: a pended or unreadable review any answer, a certified one only the
#: payer's cancellation; the others are decided for good.
_LATER_ANSWERS: dict[RequestDecision, frozenset[RequestDecision]] = {
    RequestDecision.SENT: frozenset(RequestDecision) - {RequestDecision.SENT},
    RequestDecision.PENDED: frozenset(RequestDecision) - {RequestDecision.SENT},
    RequestDecision.UNREADABLE: frozenset(RequestDecision) - {RequestDecision.SENT},
    RequestDecision.APPROVED: frozenset({RequestDecision.CANCELLED}),
    RequestDecision.MODIFIED: frozenset({RequestDecision.CANCELLED}),
}
CERTIFIED_DECISIONS = frozenset({RequestDecision.APPROVED, RequestDecision.MODIFIED})


@dataclass
class PriorAuthorizationRequest:
    """One request sent to a payer's utilization review and what became of it."""

    request_id: str
    practice_id: str
    patient_id: str
    request: AuthorizationRequest
    channel: str
    request_body: str
    requested_at: datetime
    response_body: str | None = None
    decision: RequestDecision = RequestDecision.SENT
    action_code: str | None = None
    authorization_number: str | None = None  # certified, denied or cancelled: the authorization it decided
    reason: str | None = None
    rejections: list[dict[str, Any]] = field(default_factory=list)
    follow_up_on: date | None = None
    decided_at: datetime | None = None

    @property
    def trace_number(self) -> str:
        return self.request.trace_number

    @property
    def payer_id(self) -> str:
        return self.request.payer_id

    def check_answer(self, decision: RequestDecision) -> None:
        """Refuse an answer this review cannot take (``ReviewConflict``), before anything is changed for it."""
        if decision not in _LATER_ANSWERS.get(self.decision, frozenset()):
            raise ReviewConflict(f"the review is already {self.decision.value}")

    def record_answer(self, decision: RequestDecision, *, at: datetime, body: str | None = None,
                      action_code: str | None = None, authorization_number: str | None = None,
                      reason: str | None = None, rejections: list[dict[str, Any]] | None = None,
                      follow_up_on: date | None = None) -> None:
        """The payer's answer (``body`` as received). A pended review stays open: ``decided_at`` only for a
        decision."""
        self.check_answer(decision)
        self.decision = decision
        if body is not None:
            self.response_body = body
        self.action_code = action_code
        self.authorization_number = authorization_number
        self.reason = reason[:200] if reason else None
        self.rejections = list(rejections or [])
        self.follow_up_on = follow_up_on
        self.decided_at = None if decision is RequestDecision.PENDED else at
