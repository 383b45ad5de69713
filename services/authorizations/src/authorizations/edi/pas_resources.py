"""The FHIR R4 resources Da Vinci PAS bundles are made of, as we model them (pydantic; unknown fields kept and
ignored), and the profile, extension and code-system URLs they carry. Building and reading the bundles:
``authorizations.edi.pas``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, field_serializer

FHIR_JSON = "application/fhir+json"  # the media type PAS bundles travel as
PAS = "http://hl7.org/fhir/us/davinci-pas"
SD = f"{PAS}/StructureDefinition"
PROFILE_REQUEST_BUNDLE = f"{SD}/profile-pas-request-bundle"
PROFILE_RESPONSE_BUNDLE = f"{SD}/profile-pas-response-bundle"
PROFILE_CLAIM = f"{SD}/profile-claim"
PROFILE_CLAIM_RESPONSE = f"{SD}/profile-claimresponse"
PROFILE_BENEFICIARY = f"{SD}/profile-beneficiary"
PROFILE_SUBSCRIBER = f"{SD}/profile-subscriber"
PROFILE_COVERAGE = f"{SD}/profile-coverage"
PROFILE_INSURER = f"{SD}/profile-insurer"
PROFILE_REQUESTOR = f"{SD}/profile-requestor"
PROFILE_PRACTITIONER = f"{SD}/profile-practitioner"
PROFILE_SERVICE_REQUEST = f"{SD}/profile-servicerequest"
EXT_REVIEW_ACTION = f"{SD}/extension-reviewAction"
EXT_REVIEW_ACTION_CODE = f"{SD}/extension-reviewActionCode"
EXT_CERTIFICATION_TYPE = f"{SD}/extension-certificationType"
EXT_REQUESTED_SERVICE = f"{SD}/extension-requestedService"
EXT_AUTHORIZATION_NUMBER = f"{SD}/extension-authorizationNumber"
EXT_ADMINISTRATION_REFERENCE = f"{SD}/extension-administrationReferenceNumber"
EXT_ITEM_PREAUTH_PERIOD = f"{SD}/extension-itemPreAuthPeriod"
EXT_ITEM_AUTHORIZED_DETAIL = f"{SD}/extension-itemAuthorizedDetail"
EXT_ERROR_ELEMENT = f"{SD}/extension-errorElement"
EXT_ERROR_FOLLOWUP = f"{SD}/extension-errorFollowupAction"
X12 = "https://codesystem.x12.org/005010"
CS_ACTION, CS_REJECT, CS_FOLLOW_UP = f"{X12}/306", f"{X12}/901", f"{X12}/889"
CS_CERTIFICATION_TYPE, CS_SERVICE_TYPE, CS_ENTITY, CS_RELATIONSHIP = (
    f"{X12}/1322", f"{X12}/1365", f"{X12}/98", f"{X12}/1069")
CS_REVIEW_REASON = "https://codesystem.x12.org/external/886"
CS_SUPPORTING_INFO = f"{PAS}/CodeSystem/PASSupportingInfoType"
CS_DIAGNOSIS_TYPE = f"{PAS}/CodeSystem/PASDiagnosisType"
CS_CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
CS_ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
CS_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
CS_PAYER_ID = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBIdentifierType"
CPT = "http://www.ama-assn.org/go/cpt"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
NPI = "http://hl7.org/fhir/sid/us-npi"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
TRN_SYSTEM = "urn:trnorg:"  # Claim.identifier: the 2000E TRN (trace number under its TRN03 originator)
GENDERS = {"F": "female", "M": "male", "U": "unknown", "": "unknown"}


class PasFormatError(ValueError):
    """A bundle that is not the PAS shape we read; says where (a FHIR path), never what."""


# ------------------------------------------------------------------------------------------------ models


class _Element(BaseModel):
    model_config = ConfigDict(extra="allow")


class Coding(_Element):
    system: str | None = None
    code: str | None = None
    display: str | None = None


class CodeableConcept(_Element):
    coding: list[Coding] = []
    text: str | None = None

    def code_in(self, system: str) -> str | None:
        return next((c.code for c in self.coding if c.system == system and c.code), None)


class Reference(_Element):
    reference: str | None = None


class Identifier(_Element):
    system: str | None = None
    value: str | None = None
    type: CodeableConcept | None = None


class Period(_Element):
    start: str | None = None
    end: str | None = None


class Quantity(_Element):
    value: Decimal | None = None

    @field_serializer("value")
    def _number(self, value: Decimal | None) -> int | float | None:
        # FHIR decimals are JSON numbers; the counts we send are whole (pydantic would write a string).
        if value is None:
            return None
        return int(value) if value == value.to_integral_value() else float(value)


class Extension(_Element):
    url: str
    valueString: str | None = None
    valueCodeableConcept: CodeableConcept | None = None
    valuePeriod: Period | None = None
    valueQuantity: Quantity | None = None
    valueReference: Reference | None = None
    extension: list[Extension] = []


class HumanName(_Element):
    family: str | None = None
    given: list[str] = []


class Meta(_Element):
    profile: list[str] = []


class Resource(_Element):
    resourceType: str
    id: str | None = None
    meta: Meta | None = None


class Patient(Resource):
    identifier: list[Identifier] = []
    name: list[HumanName] = []
    gender: str | None = None
    birthDate: date | None = None


class Coverage(Resource):
    status: str | None = None
    subscriber: Reference | None = None
    subscriberId: str | None = None
    beneficiary: Reference | None = None
    relationship: CodeableConcept | None = None
    payor: list[Reference] = []


class Organization(Resource):
    identifier: list[Identifier] = []
    active: bool | None = None
    type: list[CodeableConcept] = []
    name: str | None = None


class Practitioner(Resource):
    identifier: list[Identifier] = []
    name: list[HumanName] = []


class ServiceRequest(Resource):
    status: str | None = None
    intent: str | None = None
    code: CodeableConcept | None = None
    quantityQuantity: Quantity | None = None
    subject: Reference | None = None


class ClaimCareTeam(_Element):
    sequence: int
    provider: Reference
    role: CodeableConcept | None = None


class ClaimDiagnosis(_Element):
    sequence: int
    diagnosisCodeableConcept: CodeableConcept
    type: list[CodeableConcept] = []


class ClaimInsurance(_Element):
    sequence: int
    focal: bool
    coverage: Reference


class ClaimSupportingInfo(_Element):
    sequence: int
    category: CodeableConcept
    timingPeriod: Period | None = None


class ClaimItem(_Element):
    extension: list[Extension] = []
    sequence: int
    careTeamSequence: list[int] = []
    diagnosisSequence: list[int] = []
    category: CodeableConcept | None = None
    productOrService: CodeableConcept
    servicedPeriod: Period | None = None
    locationCodeableConcept: CodeableConcept | None = None
    quantity: Quantity | None = None


class Claim(Resource):
    identifier: list[Identifier] = []
    status: str | None = None
    type: CodeableConcept | None = None
    use: str | None = None
    patient: Reference | None = None
    created: str | None = None
    insurer: Reference | None = None
    provider: Reference | None = None
    priority: CodeableConcept | None = None
    careTeam: list[ClaimCareTeam] = []
    diagnosis: list[ClaimDiagnosis] = []
    insurance: list[ClaimInsurance] = []
    supportingInfo: list[ClaimSupportingInfo] = []
    item: list[ClaimItem] = []


class Adjudication(_Element):
    extension: list[Extension] = []
    category: CodeableConcept


class ClaimResponseItem(_Element):
    extension: list[Extension] = []
    itemSequence: int
    adjudication: list[Adjudication] = []


class ClaimResponseError(_Element):
    extension: list[Extension] = []
    itemSequence: int | None = None
    code: CodeableConcept


class ClaimResponse(Resource):
    identifier: list[Identifier] = []
    status: str | None = None
    type: CodeableConcept | None = None
    use: str | None = None
    patient: Reference | None = None
    created: str | None = None
    insurer: Reference | None = None
    requestor: Reference | None = None
    request: Reference | None = None
    outcome: str | None = None
    preAuthRef: str | None = None
    preAuthPeriod: Period | None = None
    item: list[ClaimResponseItem] = []
    error: list[ClaimResponseError] = []


class BundleEntry(_Element):
    fullUrl: str
    resource: dict[str, Any]


class Bundle(Resource):
    identifier: Identifier | None = None
    type: str
    timestamp: str | None = None
    entry: list[BundleEntry] = []


class OperationOutcomeIssue(_Element):
    severity: str | None = None
    code: str | None = None
    expression: list[str] = []


class OperationOutcome(Resource):
    issue: list[OperationOutcomeIssue] = []
