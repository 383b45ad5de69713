"""Request and response models of eligibility's API, and the commands they become. Field types come from the
kernel (``rcm_shared.http.schemas``): bad input is refused here, naming the field, before any use case runs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, Field
from rcm_shared.http.schemas import (
    BirthDate,
    DateOfService,
    PlausibleDate,
    ProcedureCode,
    StrictModel,
    X12Text,
)

from eligibility.domain.benefits import Member, PayerRef, ProviderRef
from eligibility.domain.commands import BookVisit, CheckCoverage, InsuranceDetails, RecordSchedule
from eligibility.service_layer.coverage_checks import CheckOutcome

ID = r"^[A-Za-z0-9_.:-]+$"
PatientId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID)]
RecordId = Annotated[str, Path(min_length=1, max_length=36, pattern=ID)]
ServiceType = Literal["30", "MH", "A4", "A6", "A8", "AI", "98"]
NPI = r"^[12][0-9]{9}$"


class MemberIn(StrictModel):
    first_name: X12Text = Field(min_length=1, max_length=35, examples=["ALEX"])
    last_name: X12Text = Field(min_length=1, max_length=60, examples=["SAMPLE"])
    birth_date: BirthDate | None = Field(default=None, examples=["1988-04-12"])
    member_id: X12Text = Field(default="", max_length=80, examples=["SBX000001"])
    gender: Literal["F", "M", "U", ""] = ""

    def to_domain(self) -> Member:
        return Member(last_name=self.last_name, first_name=self.first_name, birth_date=self.birth_date,
                      member_id=self.member_id, gender=self.gender)


class CoverageCheckIn(StrictModel):
    patient_id: str = Field(min_length=1, max_length=64, pattern=ID, examples=["pt-1001"])
    payer_id: X12Text = Field(min_length=2, max_length=80, examples=["SBXHP"])
    payer_name: X12Text = Field(default="", max_length=60, examples=["SANDBOX HEALTH PLAN"])
    provider_npi: str = Field(pattern=NPI, examples=["1234567893"])
    provider_name: X12Text = Field(min_length=1, max_length=60, examples=["RIVERSIDE COUNSELING"])
    subscriber: MemberIn
    dependent: MemberIn | None = None
    service_date: DateOfService
    service_types: list[ServiceType] | None = None

    def to_command(self, practice_id: str) -> CheckCoverage:
        return CheckCoverage(
            practice_id=practice_id, patient_id=self.patient_id,
            payer=PayerRef(self.payer_id, self.payer_name or self.payer_id),
            provider=ProviderRef(self.provider_npi, self.provider_name), subscriber=self.subscriber.to_domain(),
            dependent=self.dependent.to_domain() if self.dependent else None, service_date=self.service_date,
            service_types=tuple(self.service_types) if self.service_types else None)


class CoverageCheckOut(BaseModel):
    check_id: str
    results: list[dict[str, Any]]
    follow_up_check_ids: list[str]
    unreadable_response: dict[str, Any] | None = Field(
        default=None, description="Set when the payer's answer was not a readable 271 (where it broke)")

    @classmethod
    def of(cls, outcome: CheckOutcome) -> CoverageCheckOut:
        return cls(check_id=outcome.check_id, results=[r.to_dict() for r in outcome.results],
                   follow_up_check_ids=outcome.follow_up_check_ids, unreadable_response=outcome.unreadable_response)


class SubscriberIn(MemberIn):
    member_id: X12Text = Field(min_length=1, max_length=80, examples=["SBX000001"])


class InsuranceIn(StrictModel):
    """The member as the payer knows them, so the nightly batch can ask without the front desk."""

    payer_name: X12Text = Field(default="", max_length=60, examples=["SANDBOX HEALTH PLAN"])
    provider_npi: str = Field(pattern=NPI, examples=["1234567893"])
    provider_name: X12Text = Field(min_length=1, max_length=60, examples=["RIVERSIDE COUNSELING"])
    subscriber: SubscriberIn
    dependent: MemberIn | None = None


class ScheduledVisitIn(StrictModel):
    visit_id: str = Field(min_length=1, max_length=64, pattern=ID, description="the EHR's appointment id")
    patient_id: str = Field(min_length=1, max_length=64, pattern=ID)
    payer_id: X12Text = Field(min_length=2, max_length=80)
    service_date: DateOfService
    cancelled: bool = False
    first_visit: bool | None = Field(default=None, description="the patient's first visit with this payer; "
                                     "left out: worked out from the visits this service has seen")
    cpt_code: ProcedureCode | None = Field(default=None, description="the service booked, when the EHR knows it "
                                           "(authorizations forecasts the units an authorization will need)")
    insurance: InsuranceIn | None = None

    def to_command(self) -> BookVisit:
        insurance = None
        if self.insurance is not None:
            given = self.insurance
            insurance = InsuranceDetails(
                payer=PayerRef(self.payer_id, given.payer_name or self.payer_id),
                provider=ProviderRef(given.provider_npi, given.provider_name),
                subscriber=given.subscriber.to_domain(),
                dependent=given.dependent.to_domain() if given.dependent else None)
        return BookVisit(self.visit_id, self.patient_id, self.payer_id, self.service_date, self.cancelled,
                         self.first_visit, self.cpt_code, insurance)


class ScheduleIn(StrictModel):
    visits: list[ScheduledVisitIn] = Field(min_length=1, max_length=5000)

    def to_command(self, practice_id: str) -> RecordSchedule:
        return RecordSchedule(practice_id, tuple(v.to_command() for v in self.visits))


class BatchRunIn(StrictModel):
    schedule_date: PlausibleDate | None = Field(default=None, description="the visits' date, from today to the next "
                                                "schedule date; left out: the next schedule date (tomorrow's, by "
                                                "the rules' time zone)")
