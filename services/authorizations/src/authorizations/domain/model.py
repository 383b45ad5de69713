"""Prior authorizations and the visit facts that consume them (value objects, no behaviour beyond matching)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date


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
    # which day that is, is the payer's rule: rules/cancellation.json).
    covered_through: date | None = None

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
