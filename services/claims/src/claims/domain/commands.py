"""Commands of claims: what a route (or a consumer) asks a use case to do, as typed values. No request dicts
travel past the entrypoint that parsed them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from claims.domain.model import BillingProvider, CompletedVisit, PatientParty, PayerRef, Subscriber


@dataclass(frozen=True, slots=True)
class InsuredParties:
    """Who an insured visit's claim is between: the payer, the billing provider, the subscriber (and the patient
    when not the subscriber), with the authorization number the EHR knew of, if any."""

    payer: PayerRef
    billing_provider: BillingProvider
    subscriber: Subscriber
    patient: PatientParty | None = None
    prior_authorization: str | None = None


@dataclass(frozen=True, slots=True)
class RecordVisit:
    """Keep a signed visit, code it once, draft its claim (insured) and announce ``visit-completed``.

    ``visit`` carries no visit id yet (the use case assigns it); ``record`` is the visit as the EHR sent it, kept
    as the signed record (never read back by a use case)."""

    practice_id: str
    external_visit_id: str
    patient_id: str
    billing_model: Literal["insurance", "self_pay"]
    visit: CompletedVisit
    billing_npi: str
    parties: InsuredParties | None  # None: self-pay
    self_pay_fee: Decimal | None = None
    record: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScrubClaim:
    """Run the edits again on a claim (after a fix), from claims' projection of the facts."""

    practice_id: str
    claim_id: str


@dataclass(frozen=True, slots=True)
class CorrectClaim:
    """Correct a claim the payer answered and send it again as a replacement; only the fields given change
    (``modifiers``: line number -> its modifiers)."""

    practice_id: str
    claim_id: str
    diagnoses: tuple[str, ...] | None = None
    prior_authorization_number: str | None = None
    member_id: str | None = None
    rendering_npi: str | None = None
    modifiers: Mapping[int, tuple[str, ...]] | None = None


@dataclass(frozen=True, slots=True)
class AmendHeldClaim:
    """Fix a held claim's facts in place, then scrub it again; only the fields given change (per line: line
    number -> value)."""

    practice_id: str
    claim_id: str
    diagnoses: tuple[str, ...] | None = None
    diagnosis_pointers: Mapping[int, tuple[int, ...]] | None = None
    modifiers: Mapping[int, tuple[str, ...]] | None = None
    line_places_of_service: Mapping[int, str | None] | None = None
    place_of_service: str | None = None
    prior_authorization_number: str | None = None
    rendering_npi: str | None = None
    supervising_npi: str | None = None
    supervising_credential: str | None = None
    payer_responsibility: Literal["P", "S", "T"] | None = None  # SBR01, the payer order: primary, secondary ...


@dataclass(frozen=True, slots=True)
class VoidClaim:
    """Void a claim the payer adjudicated (a frequency 8 claim)."""

    practice_id: str
    claim_id: str
