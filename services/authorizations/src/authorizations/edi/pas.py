"""Da Vinci Prior Authorization Support (PAS, HL7 FHIR R4, IG STU 2): the request Bundle we send to a payer's
``Claim/$submit`` and the response Bundle (a ClaimResponse) it answers with; both directions, because the
sandbox payer reads what we write and writes what we read.

Only the parts PAS uses for a professional outpatient request are modelled (pydantic, unknown fields kept and
ignored): Bundle (``collection``) with Claim (``use=preauthorization``), Patient, Coverage, the insurer and
requestor Organizations, the rendering Practitioner and one ServiceRequest per requested code. Codes are the
X12 ones the 278 carries (``https://codesystem.x12.org/005010/<element>``), so a PAS answer reads into the same
``ReviewResponse`` as a 278 response: ``reviewAction`` (action 306, number, reason 886) on each item's
adjudication, ``preAuthRef``/``preAuthPeriod``, and ``error`` (901 + follow-up 889 + the X12 loop) for requests
the payer could not process.

A malformed bundle raises ``PasFormatError`` naming the path, never the value (bundles carry PHI).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from authorizations.domain.model import AuthorizationRequest, Dependent, RequestedService
from authorizations.domain.review import (
    CERTIFIED_ACTIONS,
    MAX_UNITS,
    Rejection,
    ReviewResponse,
    ServiceOutcome,
    keepable,
    overall_action,
)
from authorizations.edi.pas_resources import (
    CPT,
    CS_ACTION,
    CS_ADJUDICATION,
    CS_CERTIFICATION_TYPE,
    CS_CLAIM_TYPE,
    CS_DIAGNOSIS_TYPE,
    CS_ENTITY,
    CS_FOLLOW_UP,
    CS_IDENTIFIER_TYPE,
    CS_PAYER_ID,
    CS_REJECT,
    CS_RELATIONSHIP,
    CS_REVIEW_REASON,
    CS_SERVICE_TYPE,
    CS_SUPPORTING_INFO,
    EXT_ADMINISTRATION_REFERENCE,
    EXT_AUTHORIZATION_NUMBER,
    EXT_CERTIFICATION_TYPE,
    EXT_ERROR_ELEMENT,
    EXT_ERROR_FOLLOWUP,
    EXT_ITEM_AUTHORIZED_DETAIL,
    EXT_ITEM_PREAUTH_PERIOD,
    EXT_REQUESTED_SERVICE,
    EXT_REVIEW_ACTION,
    EXT_REVIEW_ACTION_CODE,
    GENDERS,
    ICD10CM,
    NPI,
    POS,
    PROFILE_BENEFICIARY,
    PROFILE_CLAIM,
    PROFILE_CLAIM_RESPONSE,
    PROFILE_COVERAGE,
    PROFILE_INSURER,
    PROFILE_PRACTITIONER,
    PROFILE_REQUEST_BUNDLE,
    PROFILE_REQUESTOR,
    PROFILE_RESPONSE_BUNDLE,
    PROFILE_SERVICE_REQUEST,
    PROFILE_SUBSCRIBER,
    TRN_SYSTEM,
    Adjudication,
    Bundle,
    BundleEntry,
    Claim,
    ClaimCareTeam,
    ClaimDiagnosis,
    ClaimInsurance,
    ClaimItem,
    ClaimResponse,
    ClaimResponseError,
    ClaimResponseItem,
    ClaimSupportingInfo,
    CodeableConcept,
    Coding,
    Coverage,
    Extension,
    HumanName,
    Identifier,
    Meta,
    OperationOutcome,
    Organization,
    PasFormatError,
    Patient,
    Period,
    Practitioner,
    Quantity,
    Reference,
    ServiceRequest,
)
from pydantic import BaseModel, ValidationError

# ------------------------------------------------------------------------------------------------ helpers

M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], data: Any, where: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:  # pydantic's message quotes the input: keep only the paths
        paths = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})[:5]
        raise PasFormatError(f"{where} is not valid PAS ({', '.join(p or '(root)' for p in paths)})") from None


def _dump(model: BaseModel) -> dict[str, Any]:
    cleaned = _prune(model.model_dump(mode="json", exclude_none=True))
    assert isinstance(cleaned, dict)
    return cleaned


def _prune(value: Any) -> Any:
    """FHIR JSON has no empty strings, arrays or objects."""
    if isinstance(value, dict):
        out = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in ([], {}, None, "")}
    if isinstance(value, list):
        return [v for v in (_prune(x) for x in value) if v not in ([], {}, None, "")]
    return value


def _cc(system: str, code: str, display: str | None = None) -> CodeableConcept:
    return CodeableConcept(coding=[Coding(system=system, code=code, display=display)])


def _ref(full_url: str) -> Reference:
    return Reference(reference=full_url)


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _icd(code: str) -> str:
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code


def _day(raw: str | None, where: str) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise PasFormatError(f"{where} is not a FHIR date") from None


def _kept(value: str, field: str, where: str) -> str:
    """A payer-sent code or number we store or match on: within the size of the X12 element it stands for, no
    control characters (said by path, never quoted)."""
    if not keepable(value, field):
        raise PasFormatError(f"{where} is too long or holds control characters")
    return value


def _ext(extensions: list[Extension], url: str) -> Extension | None:
    return next((e for e in extensions if e.url == url), None)


def _instant(value: datetime) -> str:
    return value.isoformat(timespec="seconds") if value.tzinfo else value.isoformat(timespec="seconds") + "Z"


class _Entries:
    """A bundle's resources by fullUrl (and by ``Type/id``) for resolving references."""

    def __init__(self, bundle: Bundle) -> None:
        self.raw: dict[str, dict[str, Any]] = {}
        for i, entry in enumerate(bundle.entry):
            kind = entry.resource.get("resourceType")
            if not isinstance(kind, str):
                raise PasFormatError(f"Bundle.entry[{i}].resource has no resourceType")
            if entry.fullUrl in self.raw:
                raise PasFormatError(f"Bundle.entry[{i}].fullUrl repeats an earlier entry's")
            self.raw[entry.fullUrl] = entry.resource
            if isinstance(entry.resource.get("id"), str):
                self.raw[f"{kind}/{entry.resource['id']}"] = entry.resource

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        for resource in self.raw.values():
            if resource.get("resourceType") == kind and not any(resource is s for s in seen):
                seen.append(resource)
        return seen

    def get(self, model: type[M], reference: Reference | None, where: str) -> M:
        resource = self.raw.get(reference.reference or "") if reference is not None else None
        if resource is None:
            raise PasFormatError(f"{where} does not resolve inside the bundle")
        return _parse(model, resource, where)


# ------------------------------------------------------------------------------------------------ request


def build_pas_request(request: AuthorizationRequest, *, created: datetime, originator: str) -> dict[str, Any]:
    """The PAS request Bundle for ``request`` (what ``Claim/$submit`` takes)."""
    urls = {name: _urn() for name in ("claim", "subscriber", "patient", "coverage", "insurer", "requestor",
                                      "practitioner")}
    subscriber = Patient(
        resourceType="Patient", meta=Meta(profile=[PROFILE_SUBSCRIBER, PROFILE_BENEFICIARY]),
        identifier=[Identifier(type=_cc(CS_IDENTIFIER_TYPE, "MB"), system=f"urn:payer:{request.payer_id}:member",
                               value=request.member_id)],
        name=[HumanName(family=request.subscriber_last_name, given=[request.subscriber_first_name])],
        gender=GENDERS.get(request.subscriber_gender, "unknown"), birthDate=request.subscriber_birth_date)
    patient_url = urls["subscriber"]
    resources: list[tuple[str, BaseModel]] = [(urls["subscriber"], subscriber)]
    if request.dependent is not None:
        dependent = request.dependent
        patient_url = urls["patient"]
        resources.append((patient_url, Patient(
            resourceType="Patient", meta=Meta(profile=[PROFILE_BENEFICIARY]),
            name=[HumanName(family=dependent.last_name, given=[dependent.first_name])],
            gender=GENDERS.get(dependent.gender, "unknown"), birthDate=dependent.birth_date)))
    relationship = request.dependent.relationship if request.dependent is not None else "18"  # 18: self
    resources += [
        (urls["coverage"], Coverage(
            resourceType="Coverage", meta=Meta(profile=[PROFILE_COVERAGE]), status="active",
            subscriber=_ref(urls["subscriber"]), subscriberId=request.member_id, beneficiary=_ref(patient_url),
            relationship=_cc(CS_RELATIONSHIP, relationship), payor=[_ref(urls["insurer"])])),
        (urls["insurer"], Organization(
            resourceType="Organization", meta=Meta(profile=[PROFILE_INSURER]), active=True,
            identifier=[Identifier(type=_cc(CS_PAYER_ID, "payerid"), value=request.payer_id)],
            type=[_cc(CS_ENTITY, "X3")], name=request.payer_name)),
        (urls["requestor"], Organization(
            resourceType="Organization", meta=Meta(profile=[PROFILE_REQUESTOR]), active=True,
            identifier=[Identifier(system=NPI, value=request.requester_npi)], type=[_cc(CS_ENTITY, "1P")],
            name=request.requester_name)),
        (urls["practitioner"], Practitioner(
            resourceType="Practitioner", meta=Meta(profile=[PROFILE_PRACTITIONER]),
            identifier=[Identifier(system=NPI, value=request.rendering_npi)],
            name=[HumanName(family=request.rendering_last_name, given=[request.rendering_first_name])])),
    ]
    period = Period(start=request.start.isoformat(), end=request.end.isoformat())
    items: list[ClaimItem] = []
    for i, service in enumerate(request.services, start=1):
        service_url = _urn()
        resources.append((service_url, ServiceRequest(
            resourceType="ServiceRequest", meta=Meta(profile=[PROFILE_SERVICE_REQUEST]), status="active",
            intent="order", code=_cc(CPT, service.cpt_code), quantityQuantity=Quantity(value=Decimal(service.units)),
            subject=_ref(patient_url))))
        extensions = [Extension(url=EXT_CERTIFICATION_TYPE,
                                valueCodeableConcept=_cc(CS_CERTIFICATION_TYPE, request.certification_type)),
                      Extension(url=EXT_REQUESTED_SERVICE, valueReference=_ref(service_url))]
        if request.previous_authorization_number:
            extensions.append(Extension(url=EXT_AUTHORIZATION_NUMBER,
                                        valueString=request.previous_authorization_number))
        items.append(ClaimItem(
            extension=extensions, sequence=i, careTeamSequence=[1],
            diagnosisSequence=list(range(1, len(request.diagnosis_codes) + 1)),
            category=_cc(CS_SERVICE_TYPE, request.service_type), productOrService=_cc(CPT, service.cpt_code),
            servicedPeriod=period, locationCodeableConcept=_cc(POS, request.place_of_service),
            quantity=Quantity(value=Decimal(service.units))))
    claim = Claim(
        resourceType="Claim", meta=Meta(profile=[PROFILE_CLAIM]),
        identifier=[Identifier(system=TRN_SYSTEM + originator, value=request.trace_number)], status="active",
        type=_cc(CS_CLAIM_TYPE, "professional"), use="preauthorization", patient=_ref(patient_url),
        created=_instant(created), insurer=_ref(urls["insurer"]), provider=_ref(urls["requestor"]),
        priority=_cc("http://terminology.hl7.org/CodeSystem/processpriority", "normal"),
        careTeam=[ClaimCareTeam(sequence=1, provider=_ref(urls["practitioner"]), role=_cc(CS_ENTITY, "SJ"))],
        diagnosis=[ClaimDiagnosis(sequence=i, diagnosisCodeableConcept=_cc(ICD10CM, _icd(code)),
                                  type=[_cc(CS_DIAGNOSIS_TYPE, "principal")] if i == 1 else [])
                   for i, code in enumerate(request.diagnosis_codes, start=1)],
        insurance=[ClaimInsurance(sequence=1, focal=True, coverage=_ref(urls["coverage"]))],
        supportingInfo=[ClaimSupportingInfo(sequence=1, category=_cc(CS_SUPPORTING_INFO, "patientEvent"),
                                            timingPeriod=period)],
        item=items)
    bundle = Bundle(
        resourceType="Bundle", meta=Meta(profile=[PROFILE_REQUEST_BUNDLE]),
        identifier=Identifier(system=TRN_SYSTEM + originator, value=request.trace_number), type="collection",
        timestamp=_instant(created),
        entry=[BundleEntry(fullUrl=urls["claim"], resource=_dump(claim))]
        + [BundleEntry(fullUrl=url, resource=_dump(resource)) for url, resource in resources])
    return _dump(bundle)


def _bundle(data: Mapping[str, Any] | Any, where: str) -> tuple[Bundle, _Entries]:
    if not isinstance(data, Mapping) or data.get("resourceType") != "Bundle":
        raise PasFormatError(f"{where} is not a FHIR Bundle")
    bundle = _parse(Bundle, data, where)
    if bundle.type != "collection":
        raise PasFormatError(f"{where}.type must be collection")
    return bundle, _Entries(bundle)


def _gender(value: str | None) -> str:
    return {"female": "F", "male": "M"}.get(value or "", "U")


def _npi(identifiers: list[Identifier], where: str) -> str:
    npi = next((i.value for i in identifiers if i.system == NPI and i.value), None)
    if npi is None:
        raise PasFormatError(f"{where}.identifier has no NPI")
    return npi


def read_pas_request(data: Mapping[str, Any] | Any) -> tuple[AuthorizationRequest, str]:
    """Read a PAS request Bundle back into the request it asks for, and the trace originator (TRN03)."""
    _, entries = _bundle(data, "Bundle")
    claims = entries.of_type("Claim")
    if len(claims) != 1:
        raise PasFormatError("Bundle must hold exactly one Claim")
    claim = _parse(Claim, claims[0], "Claim")
    if claim.use != "preauthorization":
        raise PasFormatError("Claim.use must be preauthorization")
    trace = next((i for i in claim.identifier if i.value), None)
    if trace is None or not trace.value:
        raise PasFormatError("Claim.identifier is required")
    if not claim.insurance or not claim.item or not claim.diagnosis or not claim.careTeam:
        raise PasFormatError("Claim needs insurance, item, diagnosis and careTeam")
    coverage = entries.get(Coverage, claim.insurance[0].coverage, "Claim.insurance[0].coverage")
    subscriber = entries.get(Patient, coverage.subscriber, "Coverage.subscriber")
    insurer = entries.get(Organization, claim.insurer, "Claim.insurer")
    requestor = entries.get(Organization, claim.provider, "Claim.provider")
    rendering = entries.get(Practitioner, sorted(claim.careTeam, key=lambda c: c.sequence)[0].provider,
                            "Claim.careTeam[0].provider")
    payer_id = next((i.value for i in insurer.identifier if i.value and i.type is not None
                     and i.type.code_in(CS_PAYER_ID) == "payerid"), None)
    if payer_id is None or not coverage.subscriberId:
        raise PasFormatError("the insurer payer id and Coverage.subscriberId are required")
    dependent = None
    if claim.patient is not None and claim.patient.reference != (coverage.subscriber.reference
                                                                 if coverage.subscriber else None):
        patient = entries.get(Patient, claim.patient, "Claim.patient")
        name = patient.name[0] if patient.name else HumanName()
        relationship = coverage.relationship.code_in(CS_RELATIONSHIP) if coverage.relationship else None
        dependent = Dependent(last_name=name.family or "", first_name=(name.given or [""])[0],
                              birth_date=patient.birthDate, gender=_gender(patient.gender),
                              relationship=relationship or "19")
    items = sorted(claim.item, key=lambda i: i.sequence)
    services = []
    for n, item in enumerate(items):
        code = item.productOrService.code_in(CPT)
        units = item.quantity.value if item.quantity is not None else None
        if code is None or units is None or units <= 0 or units != units.to_integral_value():
            raise PasFormatError(f"Claim.item[{n}] needs a CPT productOrService and a whole quantity")
        services.append(RequestedService(code, int(units)))
    event = next((s.timingPeriod for s in claim.supportingInfo
                  if s.category.code_in(CS_SUPPORTING_INFO) == "patientEvent" and s.timingPeriod), None)
    period = event or items[0].servicedPeriod
    start = _day(period.start if period else None, "Claim.supportingInfo.timingPeriod.start")
    end = _day(period.end if period else None, "Claim.supportingInfo.timingPeriod.end") or start
    if start is None or end is None:
        raise PasFormatError("Claim needs the requested period (supportingInfo patientEvent)")
    first = items[0]
    cert_ext = _ext(first.extension, EXT_CERTIFICATION_TYPE)
    previous = _ext(first.extension, EXT_AUTHORIZATION_NUMBER)
    sub_name = subscriber.name[0] if subscriber.name else HumanName()
    ren_name = rendering.name[0] if rendering.name else HumanName()
    diagnoses = []
    for n, d in enumerate(sorted(claim.diagnosis, key=lambda d: d.sequence)):
        code = d.diagnosisCodeableConcept.code_in(ICD10CM)
        if code is None:
            raise PasFormatError(f"Claim.diagnosis[{n}] needs an ICD-10-CM code")
        diagnoses.append(code.replace(".", ""))
    request = AuthorizationRequest(
        payer_id=payer_id, payer_name=insurer.name or "", requester_npi=_npi(requestor.identifier, "requestor"),
        requester_name=requestor.name or "", member_id=coverage.subscriberId,
        subscriber_last_name=sub_name.family or "", subscriber_first_name=(sub_name.given or [""])[0],
        subscriber_birth_date=subscriber.birthDate, subscriber_gender=_gender(subscriber.gender),
        rendering_npi=_npi(rendering.identifier, "Practitioner"), rendering_last_name=ren_name.family or "",
        rendering_first_name=(ren_name.given or [""])[0], diagnosis_codes=tuple(diagnoses),
        services=tuple(services), start=start, end=end, trace_number=trace.value,
        service_type=(first.category.code_in(CS_SERVICE_TYPE) if first.category else None) or "MH",
        place_of_service=(first.locationCodeableConcept.code_in(POS) if first.locationCodeableConcept else None)
        or "",
        certification_type=(cert_ext.valueCodeableConcept.code_in(CS_CERTIFICATION_TYPE)
                             if cert_ext and cert_ext.valueCodeableConcept else None) or "I",
        dependent=dependent, previous_authorization_number=(previous.valueString or "") if previous else "")
    originator = (trace.system or "").removeprefix(TRN_SYSTEM) if (trace.system or "").startswith(TRN_SYSTEM) else ""
    return request, originator


# ------------------------------------------------------------------------------------------------ response


def build_pas_response(request: AuthorizationRequest, response: ReviewResponse, *, created: datetime) -> dict[str, Any]:
    """The payer's PAS response Bundle: the ClaimResponse and the resources it references."""
    urls = {name: _urn() for name in ("response", "patient", "insurer", "requestor")}
    items = []
    for i, service in enumerate(response.services, start=1):
        review = [Extension(url=EXT_REVIEW_ACTION_CODE, valueCodeableConcept=_cc(CS_ACTION, service.action))]
        if service.certification_number:
            review.append(Extension(url="number", valueString=service.certification_number))
        if service.reason_code:
            review.append(Extension(url="reasonCode", valueCodeableConcept=_cc(CS_REVIEW_REASON, service.reason_code)))
        extensions: list[Extension] = []
        if service.start is not None and service.end is not None:
            extensions.append(Extension(url=EXT_ITEM_PREAUTH_PERIOD, valuePeriod=Period(
                start=service.start.isoformat(), end=service.end.isoformat())))
        if service.approved_units is not None:
            extensions.append(Extension(url=EXT_ITEM_AUTHORIZED_DETAIL, extension=[
                Extension(url="quantity", valueQuantity=Quantity(value=Decimal(service.approved_units)))]))
        if response.previous_authorization_number:
            extensions.append(Extension(url=EXT_AUTHORIZATION_NUMBER,
                                        valueString=response.previous_authorization_number))
        if response.administrative_reference and service.action not in CERTIFIED_ACTIONS:
            extensions.append(Extension(url=EXT_ADMINISTRATION_REFERENCE,
                                        valueString=response.administrative_reference))
        items.append(ClaimResponseItem(extension=extensions, itemSequence=i, adjudication=[
            Adjudication(category=_cc(CS_ADJUDICATION, "submitted"),
                         extension=[Extension(url=EXT_REVIEW_ACTION, extension=review)])]))
    errors = [ClaimResponseError(code=_cc(CS_REJECT, r.reason_code), extension=[
        Extension(url=EXT_ERROR_ELEMENT, valueString=r.loop),
        Extension(url=EXT_ERROR_FOLLOWUP, valueCodeableConcept=_cc(CS_FOLLOW_UP, r.follow_up))])
        for r in response.all_rejections]
    outcome = "error" if not response.action else ("queued" if response.action == "A4" else "complete")
    claim_response = ClaimResponse(
        resourceType="ClaimResponse", meta=Meta(profile=[PROFILE_CLAIM_RESPONSE]),
        identifier=[Identifier(system=TRN_SYSTEM + response.trace_originator, value=response.trace_number)],
        status="active", type=_cc(CS_CLAIM_TYPE, "professional"), use="preauthorization",
        patient=_ref(urls["patient"]), created=_instant(created), insurer=_ref(urls["insurer"]),
        requestor=_ref(urls["requestor"]), outcome=outcome, preAuthRef=response.certification_number or None,
        preAuthPeriod=Period(start=response.start.isoformat(), end=response.end.isoformat())
        if response.start is not None and response.end is not None else None,
        item=[] if not response.action else items, error=errors)
    patient = Patient(resourceType="Patient", meta=Meta(profile=[PROFILE_SUBSCRIBER]),
                      identifier=[Identifier(type=_cc(CS_IDENTIFIER_TYPE, "MB"), value=request.member_id)],
                      name=[HumanName(family=request.subscriber_last_name, given=[request.subscriber_first_name])],
                      gender=GENDERS.get(request.subscriber_gender, "unknown"))
    insurer = Organization(resourceType="Organization", meta=Meta(profile=[PROFILE_INSURER]), active=True,
                           identifier=[Identifier(type=_cc(CS_PAYER_ID, "payerid"), value=request.payer_id)],
                           name=request.payer_name)
    requestor = Organization(resourceType="Organization", meta=Meta(profile=[PROFILE_REQUESTOR]), active=True,
                             identifier=[Identifier(system=NPI, value=request.requester_npi)],
                             name=request.requester_name)
    bundle = Bundle(
        resourceType="Bundle", meta=Meta(profile=[PROFILE_RESPONSE_BUNDLE]),
        identifier=Identifier(system=TRN_SYSTEM + response.trace_originator, value=response.trace_number),
        type="collection", timestamp=_instant(created),
        entry=[BundleEntry(fullUrl=url, resource=_dump(r)) for url, r in (
            (urls["response"], claim_response), (urls["patient"], patient), (urls["insurer"], insurer),
            (urls["requestor"], requestor))])
    return _dump(bundle)


def _review_action(item: ClaimResponseItem) -> Extension | None:
    for adjudication in item.adjudication:
        found = _ext(adjudication.extension, EXT_REVIEW_ACTION)
        if found is not None:
            return found
    return _ext(item.extension, EXT_REVIEW_ACTION)  # later PAS builds also allow it on the item


def read_pas_response(data: Mapping[str, Any] | Any, request: AuthorizationRequest) -> ReviewResponse:
    """Read the payer's PAS response Bundle for ``request`` (items are matched to its services by sequence)."""
    _, entries = _bundle(data, "Bundle")
    found = entries.of_type("ClaimResponse")
    if len(found) != 1:
        raise PasFormatError("Bundle must hold exactly one ClaimResponse")
    cr = _parse(ClaimResponse, found[0], "ClaimResponse")
    if cr.use != "preauthorization":
        raise PasFormatError("ClaimResponse.use must be preauthorization")
    trace = next((i for i in cr.identifier if i.value), None)
    services = []
    for n, item in enumerate(cr.item):
        where = f"ClaimResponse.item[{n}]"
        if not 1 <= item.itemSequence <= len(request.services):
            raise PasFormatError(f"{where}.itemSequence names no requested service")
        asked = request.services[item.itemSequence - 1]
        review = _review_action(item)
        if review is None:
            raise PasFormatError(f"{where} has no reviewAction")
        code_ext = _ext(review.extension, EXT_REVIEW_ACTION_CODE)
        action = (code_ext.valueCodeableConcept.code_in(CS_ACTION)
                  if code_ext is not None and code_ext.valueCodeableConcept is not None else None)
        if not action:
            raise PasFormatError(f"{where} reviewAction has no X12 306 action code")
        _kept(action, "action", f"{where} reviewActionCode")
        number = _ext(review.extension, "number")
        reason_ext = _ext(review.extension, "reasonCode")
        period = _ext(item.extension, EXT_ITEM_PREAUTH_PERIOD)
        detail = _ext(item.extension, EXT_ITEM_AUTHORIZED_DETAIL)
        quantity = _ext(detail.extension, "quantity") if detail is not None else None
        approved = None
        if quantity is not None and quantity.valueQuantity is not None and quantity.valueQuantity.value is not None:
            value = quantity.valueQuantity.value
            if not value.is_finite() or value < 0 or value != value.to_integral_value() or value > MAX_UNITS:
                raise PasFormatError(f"{where} authorized quantity must be a whole count from 0 to {MAX_UNITS}")
            approved = int(value)
        services.append(ServiceOutcome(
            cpt_code=asked.cpt_code, requested_units=asked.units, action=action,
            certification_number=_kept((number.valueString or "") if number else "", "certification_number",
                                       f"{where} reviewAction number"),
            reason_code=_kept(reason_ext.valueCodeableConcept.coding[0].code or ""
                              if reason_ext and reason_ext.valueCodeableConcept and
                              reason_ext.valueCodeableConcept.coding else "", "reason_code",
                              f"{where} reviewAction reasonCode"),
            approved_units=approved,
            start=_day(period.valuePeriod.start, f"{where} preAuthPeriod") if period and period.valuePeriod else None,
            end=_day(period.valuePeriod.end, f"{where} preAuthPeriod") if period and period.valuePeriod else None))
    rejections = []
    for n, error in enumerate(cr.error):
        code = error.code.code_in(CS_REJECT)
        if code is None:
            raise PasFormatError(f"ClaimResponse.error[{n}].code needs an X12 901 code")
        element = _ext(error.extension, EXT_ERROR_ELEMENT)
        loop = (element.valueString or next((e.valueString for e in element.extension if e.valueString), "")
                if element is not None else "")
        follow = _ext(error.extension, EXT_ERROR_FOLLOWUP)
        follow_up = ((follow.valueCodeableConcept.code_in(CS_FOLLOW_UP) or "")
                     if follow and follow.valueCodeableConcept else "")
        rejections.append(Rejection((loop or "")[:120], _kept(code, "reject_reason", f"ClaimResponse.error[{n}].code"),
                                    _kept(follow_up, "follow_up", f"ClaimResponse.error[{n}] followupAction")))
    if not services and not rejections:
        raise PasFormatError("ClaimResponse has neither reviewed items nor errors")
    action = "" if cr.outcome == "error" and not services else overall_action([s.action for s in services])
    certified = [s for s in services if s.action in CERTIFIED_ACTIONS]
    approved_counts = [s.approved_units for s in certified if s.approved_units is not None]
    admin = next((e.valueString for item in cr.item if (e := _ext(item.extension, EXT_ADMINISTRATION_REFERENCE))
                  and e.valueString), "")
    previous = next((e.valueString for item in cr.item if (e := _ext(item.extension, EXT_AUTHORIZATION_NUMBER))
                     and e.valueString), "")
    reason = next((s.reason_code for s in services if s.action == action and s.reason_code), "")
    if action == "A6" and not reason:
        reason = next((s.reason_code for s in services if s.reason_code), "")
    return ReviewResponse(
        trace_number=_kept((trace.value or "") if trace else "", "certification_number", "ClaimResponse.identifier"),
        trace_originator=_kept((trace.system or "").removeprefix(TRN_SYSTEM) if trace else "", "trace_originator",
                               "ClaimResponse.identifier.system"),
        action=action,
        certification_number=_kept(cr.preAuthRef or next((s.certification_number for s in certified
                                                          if s.certification_number), ""),
                                   "certification_number", "ClaimResponse.preAuthRef"),
        reason_code=reason,
        administrative_reference=_kept(admin, "certification_number", "ClaimResponse.item administrationReference"),
        previous_authorization_number=_kept(previous, "certification_number",
                                            "ClaimResponse.item authorizationNumber"),
        start=_day(cr.preAuthPeriod.start, "ClaimResponse.preAuthPeriod.start") if cr.preAuthPeriod else None,
        end=_day(cr.preAuthPeriod.end, "ClaimResponse.preAuthPeriod.end") if cr.preAuthPeriod else None,
        approved_units=sum(approved_counts) if certified and len(approved_counts) == len(certified) else None,
        services=tuple(services), rejections=tuple(rejections), payer_id=request.payer_id)


def operation_outcome_issues(data: Any) -> list[tuple[str, str]]:
    """(issue code, FHIR path) pairs of an OperationOutcome; diagnostics text is left out (it may quote PHI)."""
    if not isinstance(data, Mapping) or data.get("resourceType") != "OperationOutcome":
        return []
    try:
        outcome = OperationOutcome.model_validate(data)
    except ValidationError:
        return []
    return [(issue.code or "unknown", ",".join(issue.expression)[:120]) for issue in outcome.issue]


def pas_trace_number(data: Mapping[str, Any] | Any) -> str:
    """The trace number a PAS response Bundle answers (its ClaimResponse.identifier), to find the request."""
    _, entries = _bundle(data, "Bundle")
    found = entries.of_type("ClaimResponse")
    if len(found) != 1:
        raise PasFormatError("Bundle must hold exactly one ClaimResponse")
    response = _parse(ClaimResponse, found[0], "ClaimResponse")
    trace = next((i.value for i in response.identifier if i.value), None)
    if trace is None:
        raise PasFormatError("ClaimResponse.identifier is required")
    return _kept(trace, "certification_number", "ClaimResponse.identifier")
