"""Commands of remittance: what a route, a consumer or a periodic job asks a use case to do, as typed objects
(no raw dicts past the entrypoints)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal


@dataclass(frozen=True)
class ReceiveEra:
    practice_id: str
    content: bytes
    file_name: str | None
    received_via: Literal["api", "clearinghouse", "bulk"]


@dataclass(frozen=True)
class PostEra:
    practice_id: str
    era_id: str


@dataclass(frozen=True)
class SubmittedLine:
    line_number: int
    procedure_code: str
    modifiers: tuple[str, ...]
    units: int
    charge: Decimal
    contracted_rate: Decimal | None  # as claims sent it (older claim copies); remittance's own rules come first


@dataclass(frozen=True)
class RememberSubmittedClaim:
    """Keep a copy of a claim we billed, to match the 835's CLPs with."""

    claim_id: str
    practice_id: str
    patient_control_number: str
    patient_id: str
    payer_id: str
    visit_id: str
    total_charge: Decimal
    date_of_service: date
    rendering_npi: str
    program: str | None
    lines: tuple[SubmittedLine, ...]


@dataclass(frozen=True)
class ResolveDuplicatePayment:
    practice_id: str
    exception_id: str
    decision: str
    resolved_by: str
    note: str | None = None


@dataclass(frozen=True)
class ImportDeposits:
    practice_id: str
    rows: tuple[tuple[str, Decimal, date], ...]  # reference, amount, deposit date
