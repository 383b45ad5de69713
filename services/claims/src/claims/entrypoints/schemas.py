"""What the EHR sends and what billers see. Unknown fields are refused; every field says what it is."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator
from rcm_shared.http.schemas import (
    BirthDate,
    DateOfService,
    MemberId,
    PositiveMoney,
    StrictModel,
    X12Text,
)

from claims.domain import model
from claims.domain.commands import AmendHeldClaim, CorrectClaim, InsuredParties, RecordVisit

ServiceKind = Literal[
    "intake_eval", "intake_eval_medical", "psychotherapy", "crisis", "family_without_patient",
    "family_with_patient", "group", "multi_family_group", "em_with_psychotherapy", "em_only", "digital_em",
]
Modality = Literal["in_person", "video", "audio_only"]
Relationship = Literal["self", "spouse", "child", "other", "life_partner", "employee", "unknown"]
NPI_PATTERN = r"^[12][0-9]{9}$"
ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"
# Codes go into the 837P as they are (free text is cleaned, codes are not): an X12 delimiter in one would split
# a segment and get the whole file rejected. The payer id also names the batch file.
PAYER_ID_PATTERN = r"^[A-Za-z0-9._-]+$"
MODIFIER_PATTERN = r"^[A-Z0-9]{2}$"
RELATIONSHIP_CODES = {"spouse": "01", "child": "19", "employee": "20", "unknown": "21", "life_partner": "53",
                      "other": "G8"}
CREDENTIALS = {"PhD": "psychologist", "PsyD": "psychologist"}
Modifiers = Annotated[list[Annotated[str, Field(pattern=MODIFIER_PATTERN)]], Field(max_length=4)]  # SV101-3..6


class Address(StrictModel):
    line1: str = Field(min_length=1, max_length=55, examples=["100 MAIN ST"])
    line2: str | None = Field(default=None, max_length=55)
    city: str = Field(min_length=2, max_length=30, examples=["HARTFORD"])  # N401: 2-30
    state: str = Field(pattern=r"^[A-Z]{2}$", examples=["CT"])
    postal_code: str = Field(pattern=r"^[0-9]{5}([0-9]{4})?$", examples=["06103"])

    def to_address(self) -> model.Address:
        return model.Address(line1=self.line1, city=self.city, state=self.state, postal_code=self.postal_code,
                             line2=self.line2 or "")


class Person(StrictModel):
    first_name: str = Field(min_length=1, max_length=35, examples=["ALEX"])
    last_name: str = Field(min_length=1, max_length=60, examples=["SAMPLE"])
    birth_date: BirthDate = Field(examples=["1988-04-12"])
    gender: Literal["F", "M", "U"] = "U"
    address: Address

    def to_person(self) -> model.Person:
        return model.Person(last_name=self.last_name, first_name=self.first_name, birth_date=self.birth_date,
                            gender=self.gender, address=self.address.to_address())


class Coverage(StrictModel):
    # 40: as long as the visits / claims / batches columns (a longer one was a database error, a 500)
    payer_id: str = Field(min_length=2, max_length=40, pattern=PAYER_ID_PATTERN, examples=["SBXHP"])
    payer_name: str = Field(min_length=1, max_length=60, examples=["SANDBOX HEALTH PLAN"])
    member_id: MemberId  # NM109: 2-80, delimiters refused (they were silently dropped from the 837P)
    group_number: X12Text | None = Field(default=None, max_length=50)
    relationship: Relationship = "self"
    subscriber: Person | None = Field(default=None, description="Required when relationship is not self")
    filing_indicator: str = Field(default="CI", pattern=r"^[0-9A-Z]{2}$",
                                  description="SBR09 claim filing indicator")
    prior_authorization_number: X12Text | None = Field(default=None, max_length=50)

    @model_validator(mode="after")
    def _subscriber_when_dependent(self) -> Coverage:
        if self.relationship != "self" and self.subscriber is None:
            raise ValueError("subscriber is required when the patient is not the subscriber")
        return self


class Clinician(StrictModel):
    npi: str = Field(pattern=NPI_PATTERN, examples=["1234567893"])
    first_name: str = Field(min_length=1, max_length=35)
    last_name: str = Field(min_length=1, max_length=60)
    # Licensed, and pre-licensed under supervision (LMSW ... AMFT): payers decide whether a supervisor may bill for
    # the latter (authorizations' credentialing registry), so the visit must be able to say which it is.
    credential: Literal["MD", "DO", "NP", "PA", "PhD", "PsyD", "LCSW", "LPC", "LMFT", "LMHC", "LPCC",
                        "LMSW", "LCSW-A", "LPC-A", "LAPC", "LMFT-A", "AMFT", "LMHC-A", "other"]
    taxonomy: str | None = Field(default=None, pattern=r"^[0-9A-Z]{10}$")

    def to_clinician(self) -> model.Clinician:
        return model.Clinician(npi=self.npi, credential=CREDENTIALS.get(self.credential, self.credential),
                               last_name=self.last_name, first_name=self.first_name, taxonomy=self.taxonomy)


class BillingProvider(StrictModel):
    npi: str = Field(pattern=NPI_PATTERN, examples=["1245319599"])
    name: str = Field(min_length=1, max_length=60, examples=["RIVERSIDE COUNSELING GROUP"])
    tax_id: str = Field(pattern=r"^[0-9]{9}$", examples=["123456789"])
    address: Address
    taxonomy: str | None = Field(default=None, pattern=r"^[0-9A-Z]{10}$")


class VisitIn(StrictModel):
    """A completed visit whose note is signed."""

    external_visit_id: str = Field(min_length=1, max_length=80, pattern=ID_PATTERN,
                                   description="The EHR's id of the visit (unique per practice)")
    patient_id: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN)
    patient: Person
    billing_model: Literal["insurance", "self_pay"] = "insurance"
    coverage: Coverage | None = None
    date_of_service: DateOfService
    service_kind: ServiceKind
    psychotherapy_minutes: int | None = Field(default=None, ge=0, le=600)
    em_code: str | None = Field(default=None, pattern=r"^992(0[2-5]|1[1-5])$", examples=["99213"])
    digital_minutes_7_days: int | None = Field(default=None, ge=0, le=600)
    modality: Modality = "in_person"
    patient_at_home: bool = False
    interactive_complexity: bool = False
    # Not refused here: a visit whose diagnosis is not a billable ICD-10 code is kept, and its claim held with a
    # finding a biller can correct (see test_claim_flow).
    diagnoses: list[str] = Field(min_length=1, max_length=12, examples=[["F41.1", "F32.1"]])
    rendering: Clinician
    supervising: Clinician | None = None
    billing_provider: BillingProvider
    program: str | None = Field(default=None, max_length=60)
    self_pay_fee: PositiveMoney | None = None

    @model_validator(mode="after")
    def _coverage_for_insurance(self) -> VisitIn:
        if self.billing_model == "insurance" and self.coverage is None:
            raise ValueError("coverage is required for an insurance visit")
        return self

    def to_command(self, practice_id: str) -> RecordVisit:
        """The typed command (the domain's values); the request as sent is kept as the visit's record."""
        coverage = self.coverage if self.billing_model == "insurance" else None
        visit = model.CompletedVisit(
            visit_id="", date_of_service=self.date_of_service,
            payer_id=coverage.payer_id if coverage else None,
            diagnoses=tuple(self.diagnoses), service_kind=model.ServiceKind(self.service_kind),
            rendering=self.rendering.to_clinician(), psychotherapy_minutes=self.psychotherapy_minutes or 0,
            em_code=self.em_code, modality=model.Modality(self.modality),
            patient_location=model.PatientLocation.HOME if self.patient_at_home else model.PatientLocation.OTHER,
            interactive_complexity=self.interactive_complexity,
            supervising=self.supervising.to_clinician() if self.supervising else None, program=self.program,
            digital_minutes=self.digital_minutes_7_days or 0)
        parties = None
        if coverage is not None:
            patient = self.patient.to_person()
            subscriber_person = patient if coverage.relationship == "self" or coverage.subscriber is None \
                else coverage.subscriber.to_person()
            bp = self.billing_provider
            parties = InsuredParties(
                payer=model.PayerRef(coverage.payer_id, coverage.payer_name),
                billing_provider=model.BillingProvider(name=bp.name, npi=bp.npi, ein=bp.tax_id,
                                                       address=bp.address.to_address(), taxonomy=bp.taxonomy),
                subscriber=model.Subscriber(coverage.member_id, subscriber_person, coverage.group_number or "",
                                            coverage.filing_indicator),
                patient=None if coverage.relationship == "self" else model.PatientParty(
                    RELATIONSHIP_CODES.get(coverage.relationship, "G8"), patient),
                prior_authorization=coverage.prior_authorization_number)
        return RecordVisit(
            practice_id=practice_id, external_visit_id=self.external_visit_id, patient_id=self.patient_id,
            billing_model=self.billing_model, visit=visit, billing_npi=self.billing_provider.npi, parties=parties,
            self_pay_fee=self.self_pay_fee, record=self.model_dump(mode="json"))


class VisitOut(BaseModel):
    visit_id: str
    external_visit_id: str
    billing_model: str
    coded_services: list[dict[str, Any]]
    coding_findings: list[dict[str, Any]]


class ClaimOut(BaseModel):
    claim_id: str
    visit_id: str
    status: str
    payer_id: str
    patient_control_number: str
    frequency_code: str
    total_charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    date_of_service: date
    findings: list[dict[str, Any]]
    lines: list[dict[str, Any]]
    payer_claim_number: str | None
    replaces_claim_id: str | None
    batch_id: str | None
    submitted_at: datetime | None
    history: list[dict[str, Any]] = Field(default_factory=list)
    awaiting_facts: list[str] = Field(default_factory=list, description="in awaiting_facts: what the scrub waits "
                                      "for (authorization_determination, eligibility_check)")
    awaiting_since: datetime | None = Field(default=None, description="in awaiting_facts: since when")
    waited_seconds: int | None = Field(default=None, description="in awaiting_facts: how long it has waited")
    status_inquiries: list[dict[str, Any]] = Field(default_factory=list)


class ClaimPage(BaseModel):
    items: list[ClaimOut]
    next_cursor: str | None


class CorrectionIn(StrictModel):
    """Corrections to a rejected or denied claim; it goes out again as a replacement (frequency 7)."""

    diagnoses: list[str] | None = Field(default=None, min_length=1, max_length=12)
    prior_authorization_number: X12Text | None = Field(default=None, max_length=50)
    member_id: MemberId | None = None
    rendering_npi: str | None = Field(default=None, pattern=NPI_PATTERN)
    modifiers: dict[int, Modifiers] | None = Field(default=None, description="line number -> modifiers")
    note: str | None = Field(default=None, max_length=200)

    def to_command(self, practice_id: str, claim_id: str) -> CorrectClaim:
        return CorrectClaim(
            practice_id=practice_id, claim_id=claim_id,
            diagnoses=tuple(self.diagnoses) if self.diagnoses else None,
            prior_authorization_number=self.prior_authorization_number, member_id=self.member_id,
            rendering_npi=self.rendering_npi,
            modifiers={n: tuple(m) for n, m in self.modifiers.items()} if self.modifiers else None)


PlaceOfService = Annotated[str, Field(pattern=r"^[0-9]{2}$", description="CMS place-of-service code")]


class AmendmentIn(StrictModel):
    """Fixes to a held claim (never sent): changed in place and scrubbed again at once. Only the fields given
    change; per-line fields are keyed by line number."""

    diagnoses: list[str] | None = Field(default=None, min_length=1, max_length=12)
    diagnosis_pointers: dict[int, Annotated[list[Annotated[int, Field(ge=1, le=12)]],
                                            Field(min_length=1, max_length=4)]] | None = Field(
        default=None, description="line number -> its diagnosis pointers (1-based, into diagnoses)")
    modifiers: dict[int, Modifiers] | None = Field(default=None, description="line number -> modifiers")
    line_places_of_service: dict[int, PlaceOfService | None] | None = Field(
        default=None, description="line number -> its place of service (null: the claim's)")
    place_of_service: PlaceOfService | None = None
    prior_authorization_number: X12Text | None = Field(default=None, max_length=50)
    rendering_npi: str | None = Field(default=None, pattern=NPI_PATTERN)
    supervising_npi: str | None = Field(default=None, pattern=NPI_PATTERN)
    supervising_credential: Literal["MD", "DO", "NP", "PA", "PhD", "PsyD", "LCSW", "LPC", "LMFT", "LMHC",
                                    "LPCC"] | None = Field(default=None, description="to add a supervisor")
    payer_responsibility: Literal["P", "S", "T"] | None = Field(
        default=None, description="the payer order of the payer billed (SBR01: primary, secondary, tertiary)")

    @model_validator(mode="after")
    def _something(self) -> AmendmentIn:
        if not any(v is not None for v in self.model_dump().values()):
            raise ValueError("name at least one fact to change")
        return self

    def to_command(self, practice_id: str, claim_id: str) -> AmendHeldClaim:
        def tupled(values: dict[int, list[Any]] | None) -> dict[int, tuple[Any, ...]] | None:
            return {n: tuple(v) for n, v in values.items()} if values else None

        return AmendHeldClaim(
            practice_id=practice_id, claim_id=claim_id, diagnoses=tuple(self.diagnoses) if self.diagnoses else None,
            diagnosis_pointers=tupled(self.diagnosis_pointers), modifiers=tupled(self.modifiers),
            line_places_of_service=self.line_places_of_service, place_of_service=self.place_of_service,
            prior_authorization_number=self.prior_authorization_number, rendering_npi=self.rendering_npi,
            supervising_npi=self.supervising_npi,
            supervising_credential=CREDENTIALS.get(self.supervising_credential, self.supervising_credential)
            if self.supervising_credential else None, payer_responsibility=self.payer_responsibility)


class BatchOut(BaseModel):
    batch_id: str
    payer_id: str
    file_name: str
    claim_count: int
    status: str
    interchange_control_number: int
    reason: str | None = Field(default=None, description="why a refused or rejected batch was (never PHI)")
    interchange_acknowledgment: str | None = Field(default=None, description="TA104 of the clearinghouse's TA1")
    interchange_note: str | None = Field(default=None, description="TA105 note code of that TA1")
