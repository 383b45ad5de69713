"""Request bodies of the authorizations API: field rules from the kernel's types, and the command each becomes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from rcm_shared.http.schemas import (
    BirthDate,
    DateOfService,
    DiagnosisCode,
    MemberId,
    PlainText,
    PlausibleDate,
    ProcedureCode,
    StrictModel,
    X12Text,
)

from authorizations.domain.commands import (
    RecordAuthorization,
    RecordConcurrentReview,
    RecordEnrollment,
    RecordSupervision,
)
from authorizations.domain.model import AuthorizationRequest, Dependent, RequestedService

ID = r"^[A-Za-z0-9_.:-]+$"
NPI = r"^[12][0-9]{9}$"


class AuthorizationIn(StrictModel):
    number: str = Field(min_length=1, max_length=50, pattern=ID, examples=["AUTH-2026-0001"])
    patient_id: str = Field(min_length=1, max_length=64, pattern=ID)
    payer_id: X12Text = Field(min_length=2, max_length=80, examples=["SBXHP"])
    cpt_codes: list[ProcedureCode] = Field(min_length=1, max_length=30, examples=[["90834", "90837"]])
    approved_units: int = Field(ge=0, le=1000)
    start: DateOfService
    end: DateOfService
    status: Literal["requested", "approved", "denied"] = "approved"

    @model_validator(mode="after")
    def _dates(self) -> AuthorizationIn:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        return self

    def to_command(self, practice_id: str) -> RecordAuthorization:
        return RecordAuthorization(practice_id, self.number, self.patient_id, self.payer_id, tuple(self.cpt_codes),
                                   self.approved_units, self.start, self.end, self.status)


class EnrollmentIn(StrictModel):
    npi: str = Field(pattern=NPI)
    payer_id: X12Text = Field(min_length=2, max_length=80)
    plan: PlainText = Field(default="", max_length=60, description="empty: every plan of the payer")
    effective_from: PlausibleDate
    effective_to: PlausibleDate | None = None

    def to_command(self, practice_id: str) -> RecordEnrollment:
        return RecordEnrollment(practice_id, self.npi, self.payer_id, self.plan, self.effective_from,
                                self.effective_to)


class SupervisionIn(StrictModel):
    supervisee_npi: str = Field(pattern=NPI)
    supervisor_npi: str = Field(pattern=NPI)
    effective_from: PlausibleDate
    effective_to: PlausibleDate | None = None
    payer_id: X12Text | None = Field(default=None, max_length=80,
                                     description="with allows_supervisor_billing: that payer's policy")
    allows_supervisor_billing: bool | None = None

    def to_command(self, practice_id: str) -> RecordSupervision:
        return RecordSupervision(practice_id, self.supervisee_npi, self.supervisor_npi, self.effective_from,
                                 self.effective_to, self.payer_id, self.allows_supervisor_billing)


class RequestedServiceIn(StrictModel):
    cpt_code: ProcedureCode
    units: int = Field(ge=1, le=500)


class DependentIn(StrictModel):
    """The patient, when they are not the subscriber (a child on a parent's plan)."""

    first_name: X12Text = Field(min_length=1, max_length=35)
    last_name: X12Text = Field(min_length=1, max_length=60)
    birth_date: BirthDate | None = None
    gender: Literal["F", "M", "U"] | None = None
    relationship: Literal["01", "19", "34"] = Field(default="19", description="01 spouse, 19 child, 34 other adult")


class AuthorizationRequestIn(StrictModel):
    """Ask the payer for a prior authorization (X12 278 or Da Vinci PAS, whichever the payer is routed to)."""

    patient_id: str = Field(min_length=1, max_length=64, pattern=ID)
    payer_id: X12Text = Field(min_length=2, max_length=80, examples=["SBXHP"])
    payer_name: X12Text = Field(min_length=1, max_length=60)
    requester_npi: str = Field(pattern=NPI)
    requester_name: X12Text = Field(min_length=1, max_length=60)
    member_id: MemberId
    subscriber_first_name: X12Text = Field(min_length=1, max_length=35)
    subscriber_last_name: X12Text = Field(min_length=1, max_length=60)
    subscriber_birth_date: BirthDate | None = None
    subscriber_gender: Literal["F", "M", "U"] | None = None
    dependent: DependentIn | None = None
    rendering_npi: str = Field(pattern=NPI)
    rendering_first_name: X12Text = Field(min_length=1, max_length=35)
    rendering_last_name: X12Text = Field(min_length=1, max_length=60)
    diagnoses: list[DiagnosisCode] = Field(min_length=1, max_length=12, examples=[["F41.1"]])
    services: list[RequestedServiceIn] = Field(min_length=1, max_length=20)
    start: DateOfService
    end: DateOfService
    certification_type: Literal["I", "R", "4", "S"] = Field(
        default="I", description="I initial, R renewal, 4 extension, S revision (UM02)")
    previous_authorization_number: str | None = Field(
        default=None, min_length=1, max_length=50, pattern=ID, description="the certification an extension, "
        "renewal or revision is for (REF*BB)")

    @model_validator(mode="after")
    def _dates(self) -> AuthorizationRequestIn:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        return self

    def to_domain(self, trace_number: str) -> AuthorizationRequest:
        dependent = None
        if self.dependent is not None:
            d = self.dependent
            dependent = Dependent(d.last_name, d.first_name, d.birth_date, d.gender or "", d.relationship)
        return AuthorizationRequest(
            payer_id=self.payer_id, payer_name=self.payer_name, requester_npi=self.requester_npi,
            requester_name=self.requester_name, member_id=self.member_id,
            subscriber_last_name=self.subscriber_last_name, subscriber_first_name=self.subscriber_first_name,
            subscriber_birth_date=self.subscriber_birth_date, subscriber_gender=self.subscriber_gender or "",
            rendering_npi=self.rendering_npi, rendering_last_name=self.rendering_last_name,
            rendering_first_name=self.rendering_first_name,
            diagnosis_codes=tuple(d.replace(".", "").upper() for d in self.diagnoses),
            services=tuple(RequestedService(s.cpt_code, s.units) for s in self.services), start=self.start,
            end=self.end, trace_number=trace_number, certification_type=self.certification_type,
            dependent=dependent, previous_authorization_number=self.previous_authorization_number or "")


class ConcurrentReviewIn(StrictModel):
    reference: str = Field(min_length=1, max_length=60, pattern=ID)
    authorization_number: str = Field(min_length=1, max_length=50, pattern=ID)
    submitted_on: PlausibleDate
    requested_units: int = Field(ge=1, le=1000)
    requested_end: DateOfService

    def to_command(self, practice_id: str) -> RecordConcurrentReview:
        return RecordConcurrentReview(practice_id, self.reference, self.authorization_number, self.submitted_on,
                                      self.requested_units, self.requested_end)
