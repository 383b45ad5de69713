"""What happened inside authorizations (domain events, past tense). Aggregates record them; the unit of work hands
them to ``adapters/event_mapper.py``, which says which integration events (``rcm_shared.contracts``) announce them.
They carry ids and facts, never a Kafka payload."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class UnitMoved:
    """A visit's unit of an authorization moved (``status`` and ``units_remaining`` as of the settlement)."""

    practice_id: str
    authorization_id: str
    number: str
    patient_id: str
    payer_id: str
    visit_id: str
    status: str
    units_remaining: int
    end_date: date


@dataclass(frozen=True)
class AuthorizationUnitConsumed(UnitMoved):
    """A visit took one unit of an authorization."""


@dataclass(frozen=True)
class AuthorizationUnitReturned(UnitMoved):
    """A visit gave its unit back (voided, corrected, moved to another authorization, or past a cancellation)."""


@dataclass(frozen=True, slots=True)
class AuthorizationStatusChanged:
    """A payer decided about an authorization: certified, modified, not certified, or cancelled."""

    practice_id: str
    authorization_id: str
    number: str
    patient_id: str
    payer_id: str
    status: str
    units_remaining: int
    end_date: date


@dataclass(frozen=True, slots=True)
class ProviderDecided:
    """Whether one NPI of a visit may be billed to the payer on its date of service, and under whom."""

    role: str  # rendering | supervising | billing
    npi: str
    allowed: bool
    reason: str
    billing_npi: str | None


@dataclass(frozen=True, slots=True)
class VisitAuthorizationDetermined:
    """A visit's answer, new or changed: authorization required and which covers it, and its providers."""

    practice_id: str
    visit_id: str
    patient_id: str
    payer_id: str
    date_of_service: date
    sequence: int
    determined_at: datetime
    authorization_required: bool
    authorization_id: str | None
    authorization_number: str | None
    missing_reason: str | None
    units_remaining: int | None
    providers: tuple[ProviderDecided, ...]
    rendering_npi: str | None
    supervising_npi: str | None
    rules_version: str
