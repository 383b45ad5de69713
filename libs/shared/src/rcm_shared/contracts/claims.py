"""Events the claims service produces."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rcm_shared.contracts import topics
from rcm_shared.contracts.base import EventPayload

BillingModel = Literal["insurance", "self_pay", "subscription"]


class CodedService(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    procedure_code: str
    modifiers: list[str] = Field(default_factory=list)
    units: int = 1


class VisitCompletedV1(EventPayload):
    """A signed visit the EHR posted, with the services claims derived from it."""

    event_type = "visit.completed"
    topic = topics.VISIT_COMPLETED
    summary = "An EHR posted a completed, signed visit; coded services attached."

    visit_id: str
    practice_id: str
    patient_id: str
    billing_model: BillingModel
    payer_id: str | None
    date_of_service: date
    rendering_npi: str
    program: str | None = None
    services: list[CodedService]
    self_pay_charge: Decimal | None = Field(
        default=None, description="Deprecated (2026-12-02): claims' old self-pay price. Patient billing prices "
        "self-pay visits (its fee schedules, sliding scale) and does not read it; claims still fills it for "
        "consumers of older builds. Do not start reading it.")
    replaces_visit_id: str | None = None
    voided: bool = False
    # Additive (2026-12-02): who else is on the visit, so the services that decide about clinicians
    # (credentialing, supervisor billing) need not ask claims.
    rendering_credential: str | None = None
    supervising_npi: str | None = None
    supervising_credential: str | None = None
    billing_npi: str | None = None
    # Additive (2026-12-02): the rest of the visit's coding (place of service, ICD-10 in claim order), so a superbill
    # shows exactly the codes the claim carries.
    place_of_service: str | None = None
    diagnosis_codes: list[str] = Field(default_factory=list)


class ClaimLineV1(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    line_number: int
    procedure_code: str
    modifiers: list[str] = Field(default_factory=list)
    units: int
    charge: Decimal
    contracted_rate: Decimal | None = Field(
        default=None, description="Deprecated (2026-12-02): per unit, from claims' fee schedule. The contracts are "
        "remittance's (rules/contracted_rates.yaml); remittance falls back to this only for a payer it holds no "
        "contract for. Do not start reading it.")


class ClaimSubmittedV1(EventPayload):
    event_type = "claim.submitted"
    topic = topics.CLAIM_SUBMITTED
    summary = "A clean claim left in an 837P batch to the clearinghouse."

    claim_id: str
    visit_id: str
    practice_id: str
    patient_id: str
    payer_id: str
    patient_control_number: str
    frequency_code: Literal["1", "7", "8"]
    total_charge: Decimal
    date_of_service: date
    rendering_npi: str
    program: str | None = None
    batch_id: str
    interchange_control_number: str
    lines: list[ClaimLineV1]


class ClaimStatusChangedV1(EventPayload):
    event_type = "claim.status-changed"
    topic = topics.CLAIM_STATUS_CHANGED
    summary = "A claim moved in its life cycle (held, submitted, accepted, rejected, paid, denied, ...)."

    claim_id: str
    practice_id: str
    previous_status: str
    status: str
    reason_codes: list[str] = Field(default_factory=list)
