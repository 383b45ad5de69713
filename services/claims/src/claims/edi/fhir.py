"""Claims' records as FHIR R4 resources: Claim (the professional claim as billed) and ClaimResponse (the payer's
latest answer to it: a 277CA acceptance or rejection, or the 835's adjudication as claims recorded it).

A codec, like the X12 ones beside it: the domain claim and its stored columns in, resource dicts out (validated by
the kernel's ``rcm_shared.fhir.api`` before they leave). Ids are the claim id for both (a ClaimResponse is the
answer to one claim). Patients, coverages and payers are referenced by our ids only (``Patient/<patient id>``,
``Coverage/<patient id>.<payer id>`` as eligibility serves it, the payer by its payer id): names, birth dates and
member ids stay out of these resources.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from rcm_shared.fhir.datatypes import (
    ADJUDICATION,
    CARIN_ADJUDICATION,
    CLAIM_TYPE,
    CPT,
    EX_PAYMENT_TYPE,
    PAYER_CLAIM_SYSTEM,
    PCN_SYSTEM,
    by_npi,
    code,
    instant,
    money,
    payer,
    total,
)

from claims.domain.model import Claim, ClaimStatus

PRIORITY = "http://terminology.hl7.org/CodeSystem/processpriority"
CARE_TEAM_ROLE = "http://terminology.hl7.org/CodeSystem/claimcareteamrole"
RELATED_CLAIM = "http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
PLACE_OF_SERVICE = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
CLAIM_STATUS_CODES = "https://x12.org/codes/claim-status-codes"

S = ClaimStatus
# FHIR Claim.status (the resource's own life cycle, not the payer's decision): not sent yet is draft; sent is
# active; replaced by a correction or voided is cancelled.
DRAFT = (S.DRAFT, S.AWAITING_FACTS, S.SCRUBBED, S.HELD)
CANCELLED = (S.CORRECTED, S.VOIDED)
CLAIM_STATUSES: dict[str, tuple[ClaimStatus, ...]] = {
    "draft": DRAFT, "cancelled": CANCELLED,
    "active": tuple(s for s in S if s not in DRAFT and s not in CANCELLED), "entered-in-error": ()}
# What counts as the payer's answer (a transition into one of these) and its ClaimResponse.outcome
ANSWERS: dict[str, str] = {"accepted": "queued", "rejected": "error", "paid": "complete",
                           "partially_paid": "partial", "denied": "complete", "reversed": "complete"}
OUTCOMES: dict[str, tuple[str, ...]] = {}
for _answer, _outcome in ANSWERS.items():
    OUTCOMES.setdefault(_outcome, ())
    OUTCOMES[_outcome] += (_answer,)
_DISPOSITIONS = {"accepted": "accepted by the payer, in process", "rejected": "rejected, not adjudicated",
                 "paid": "paid", "partially_paid": "partially paid", "denied": "denied",
                 "reversed": "the payer reversed its payment"}


def fhir_claim_status(status: str) -> str:
    return next(name for name, ours in CLAIM_STATUSES.items() if status in ours)


def claim(c: Claim, *, created_at: datetime, updated_at: datetime) -> dict[str, Any]:
    """The claim as billed (837P): diagnoses, lines with CPT, modifiers, units, place of service and charge."""
    rendering, supervising = c.rendering_provider, c.supervising_provider
    care_team = [{"sequence": 1, "provider": by_npi(rendering.npi), "role": code(CARE_TEAM_ROLE, "primary"),
                  **({"qualification": {"text": rendering.credential}} if rendering.credential else {})}]
    if supervising is not None:
        care_team.append({"sequence": 2, "provider": by_npi(supervising.npi),
                          "role": code(CARE_TEAM_ROLE, "supervisor")})
    insurance: dict[str, Any] = {"sequence": 1, "focal": True,
                                 "coverage": {"reference": f"Coverage/{c.patient_id}.{c.payer.payer_id}"}}
    if c.prior_authorization:
        insurance["preAuthRef"] = [c.prior_authorization]
    resource: dict[str, Any] = {
        "resourceType": "Claim", "id": c.claim_id, "meta": {"lastUpdated": instant(updated_at)},
        "identifier": [{"system": PCN_SYSTEM, "value": c.patient_control_number}],
        "status": fhir_claim_status(c.status.value),
        "type": code(CLAIM_TYPE, "professional"), "use": "claim",
        "patient": {"reference": f"Patient/{c.patient_id}"},
        "billablePeriod": {"start": c.date_of_service.isoformat(), "end": c.date_of_service.isoformat()},
        "created": instant(created_at),
        "insurer": payer(c.payer.payer_id, c.payer.name),
        "provider": {**by_npi(c.billing_provider.npi), "display": c.billing_provider.name},
        "priority": code(PRIORITY, "normal"),
        "careTeam": care_team,
        "insurance": [insurance],
        "total": money(c.total_charge),
    }
    if c.payer_claim_number:
        resource["identifier"].append({"system": PAYER_CLAIM_SYSTEM, "value": c.payer_claim_number})
    if c.replaces_claim_id:
        resource["related"] = [{"claim": {"reference": f"Claim/{c.replaces_claim_id}"},
                                "relationship": code(RELATED_CLAIM, "prior")}]
    if c.diagnoses:
        resource["diagnosis"] = [{"sequence": n, "diagnosisCodeableConcept": code(ICD10CM, icd10_dotted(icd))}
                                 for n, icd in enumerate(c.diagnoses, start=1)]
    items = []
    for n, line in enumerate(c.lines, start=1):
        item: dict[str, Any] = {
            "sequence": n, "careTeamSequence": [1], "productOrService": code(CPT, line.procedure_code),
            "servicedDate": c.date_of_service.isoformat(),
            "locationCodeableConcept": code(PLACE_OF_SERVICE, line.place_of_service or c.place_of_service),
            "quantity": {"value": line.units}, "net": money(line.charge)}
        pointers = [p for p in line.diagnosis_pointers if 1 <= p <= len(c.diagnoses)]
        if pointers:
            item["diagnosisSequence"] = pointers
        if line.modifiers:
            item["modifier"] = [code(CPT, m) for m in line.modifiers]
        items.append(item)
    if items:
        resource["item"] = items
    return resource


def claim_response(*, claim_id: str, patient_id: str, payer_id: str, billing_npi: str | None, answer: str,
                   answered_at: datetime, reason: str | None, total_charge: Decimal, paid: Decimal,
                   patient_responsibility: Decimal, payer_claim_number: str | None,
                   status: str) -> dict[str, Any]:
    """The payer's latest answer to a claim (``answer``: the status it moved the claim to, at ``answered_at``)."""
    outcome = ANSWERS[answer]
    resource: dict[str, Any] = {
        "resourceType": "ClaimResponse", "id": claim_id, "meta": {"lastUpdated": instant(answered_at)},
        "status": "cancelled" if status == S.VOIDED.value else "active",
        "type": code(CLAIM_TYPE, "professional"), "use": "claim",
        "patient": {"reference": f"Patient/{patient_id}"},
        "created": instant(answered_at),
        "insurer": payer(payer_id, None),
        "request": {"reference": f"Claim/{claim_id}"},
        "outcome": outcome, "disposition": _DISPOSITIONS[answer],
    }
    if billing_npi:
        resource["requestor"] = by_npi(billing_npi)
    if payer_claim_number:
        resource["identifier"] = [{"system": PAYER_CLAIM_SYSTEM, "value": payer_claim_number}]
    adjudicated = outcome in ("complete", "partial")
    if adjudicated:
        resource["total"] = [
            total(ADJUDICATION, "submitted", total_charge), total(ADJUDICATION, "benefit", paid),
            total(CARIN_ADJUDICATION, "memberliability", patient_responsibility)]
        resource["payment"] = {"type": code(EX_PAYMENT_TYPE, "complete" if outcome == "complete" else "partial"),
                               "amount": money(paid)}
    if answer == "rejected":
        reasons = [r.strip() for r in (reason or "").split(",") if r.strip()]
        resource["error"] = [{"code": code(CLAIM_STATUS_CODES, r)} for r in reasons] or [
            {"code": {"text": "rejected without a reason code"}}]
    return resource


def icd10_dotted(icd: str) -> str:
    """ICD-10-CM as FHIR writes it (F41.1); claims keeps the X12 form (F411)."""
    icd = icd.replace(".", "")
    return f"{icd[:3]}.{icd[3:]}" if len(icd) > 3 else icd
