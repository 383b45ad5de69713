"""Domain events the ``Claim`` aggregate records (past tense, inside the service only).

The service layer collects them from ``Claim.pull_events()`` and maps them to integration events
(``rcm_shared.contracts.claims``) in the outbox; nothing here knows about Kafka.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimEvent:
    claim_id: str
    occurred_at: datetime
    previous_status: str
    status: str
    practice_id: str = ""  # whose claim (an id, never PHI): the practice its announcement belongs to


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimDrafted(ClaimEvent):
    frequency_code: str
    replaces_claim_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimAwaitingFacts(ClaimEvent):
    """The scrub waits for facts other services announce; ``reason_codes`` name them (never PHI)."""

    reason_codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimScrubbed(ClaimEvent):
    warning_codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimHeld(ClaimEvent):
    error_codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimSubmitted(ClaimEvent):
    batch_id: str
    interchange_control_number: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimAccepted(ClaimEvent):
    payer_claim_number: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimRejected(ClaimEvent):
    reason_codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimAdjudicated(ClaimEvent):
    """Paid, partially paid or denied: ``status`` says which."""

    paid: Decimal
    patient_responsibility: Decimal
    reason_codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimPaymentReversed(ClaimEvent):
    """The payer took back a payment (CLP02 22): ``paid`` and ``patient_responsibility`` are what it reversed
    (negative); ``reason_codes`` carry it into the claim's history (payment_reversed, era:<id>, trace:<TRN02>)."""

    paid: Decimal
    patient_responsibility: Decimal
    reason_codes: tuple[str, ...] = ()
    posting_id: str
    era_id: str
    trace_number: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimCorrected(ClaimEvent):
    replacement_claim_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimAppealed(ClaimEvent):
    appeal_reference: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimVoided(ClaimEvent):
    void_claim_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimClosed(ClaimEvent):
    reason: str = field(default="")
