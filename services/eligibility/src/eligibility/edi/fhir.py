"""Eligibility's facts as FHIR R4 resources: Coverage (US Core Coverage profile) and CoverageEligibilityResponse.

A codec, like the 270/271 ones beside it: stored rows in, resource dicts out (validated by the kernel's
``rcm_shared.fhir.api`` before they leave). Coverage ids are ``<patient id>.<payer id>`` (one coverage per patient
and payer, as the benefits snapshot is kept); a CoverageEligibilityResponse is one stored 270/271 exchange.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

US_CORE_COVERAGE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-coverage"
RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
COVERAGE_CLASS = "http://terminology.hl7.org/CodeSystem/coverage-class"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
BENEFIT_TYPE = "http://terminology.hl7.org/CodeSystem/benefit-type"
BENEFIT_NETWORK = "http://terminology.hl7.org/CodeSystem/benefit-network"
X12_SERVICE_TYPE = "https://x12.org/codes/service-type-codes"
X12_AAA = "https://x12.org/codes/reject-reason-codes"
PAYER_ID_SYSTEM = "urn:rcm:payer-id"
TRACE_SYSTEM = "urn:rcm:x12:trn"
_NETWORKS = (("in_network", "in"), ("out_of_network", "out"), ("any_network", "in"))


def coverage_id(patient_id: str, payer_id: str) -> str:
    return f"{patient_id}.{payer_id}"


def split_coverage_id(value: str) -> tuple[str, str] | None:
    patient_id, dot, payer_id = value.rpartition(".")
    return (patient_id, payer_id) if dot and patient_id and payer_id else None


def coverage(*, patient_id: str, payer_id: str, active: bool, coverage_begin: date | None,
             coverage_end: date | None, snapshot: dict[str, Any], updated_at: datetime,
             payer_name: str | None = None, subscriber: dict[str, Any] | None = None,
             is_dependent: bool = False) -> dict[str, Any]:
    plan = (snapshot or {}).get("plan") or {}
    member_id = (subscriber or {}).get("member_id") or ""
    resource: dict[str, Any] = {
        "resourceType": "Coverage", "id": coverage_id(patient_id, payer_id),
        "meta": {"profile": [US_CORE_COVERAGE], "lastUpdated": _instant(updated_at)},
        "status": "active" if active else "cancelled",
        "beneficiary": {"reference": f"Patient/{patient_id}"},
        "relationship": {"coding": [{"system": RELATIONSHIP, "code": "child" if is_dependent else "self"}]},
        "payor": [{"identifier": {"system": PAYER_ID_SYSTEM, "value": payer_id},
                   **({"display": payer_name} if payer_name else {})}],
    }
    if member_id:
        resource["subscriberId"] = member_id
        resource["identifier"] = [{"type": {"coding": [{"system": IDENTIFIER_TYPE, "code": "MB"}]},
                                   "value": member_id}]
    if coverage_begin or coverage_end:
        resource["period"] = {k: v.isoformat() for k, v in (("start", coverage_begin), ("end", coverage_end)) if v}
    classes = []
    if plan.get("group_number"):
        classes.append({"type": {"coding": [{"system": COVERAGE_CLASS, "code": "group"}]},
                        "value": plan["group_number"], **({"name": plan["group_name"]} if plan.get("group_name")
                                                          else {})})
    if plan.get("plan_number") or plan.get("plan_name"):
        classes.append({"type": {"coding": [{"system": COVERAGE_CLASS, "code": "plan"}]},
                        "value": plan.get("plan_number") or plan["plan_name"],
                        **({"name": plan["plan_name"]} if plan.get("plan_name") else {})})
    if classes:
        resource["class"] = classes
    return resource


def eligibility_response(*, check_id: str, patient_id: str, payer_id: str, service_date: date, status: str,
                         trace_number: str, checked_at: datetime, result: dict[str, Any]) -> dict[str, Any]:
    """One 270/271 exchange. ``status`` is ours (active, inactive, rejected, unknown): answered is ``complete``
    (inforce says whether coverage is active), a rejection or no readable answer is ``error``."""
    answered = status in ("active", "inactive")
    resource: dict[str, Any] = {
        "resourceType": "CoverageEligibilityResponse", "id": check_id, "status": "active",
        "purpose": ["benefits", "validation"],
        "patient": {"reference": f"Patient/{patient_id}"},
        "servicedDate": service_date.isoformat(),
        "created": _instant(checked_at),
        "request": {"identifier": {"system": TRACE_SYSTEM, "value": trace_number}},
        "outcome": "complete" if answered else "error",
        "disposition": {"active": "coverage active", "inactive": "coverage not active",
                        "rejected": "the payer rejected the inquiry"}.get(status, "no clear answer"),
        "insurer": {"identifier": {"system": PAYER_ID_SYSTEM, "value": payer_id}},
    }
    results = result.get("results") or []  # as stored: one per patient loop of the 271 (the first is the patient's)
    snapshot = (results[0].get("snapshot") if results else None) or {}
    if answered:
        insurance: dict[str, Any] = {"coverage": {"reference": f"Coverage/{coverage_id(patient_id, payer_id)}"},
                                     "inforce": status == "active"}
        begin, end = snapshot.get("coverage_begin"), snapshot.get("coverage_end")
        if begin or end:
            insurance["benefitPeriod"] = {k: v for k, v in (("start", begin), ("end", end)) if v}
        items = [item for benefit in snapshot.get("benefits") or [] for item in _items(benefit)]
        if items:
            insurance["item"] = items
        resource["insurance"] = [insurance]
    errors = [{"code": {"coding": [{"system": X12_AAA, "code": r["code"]}],
                        **({"text": r["description"]} if r.get("description") else {})}}
              for one in results for r in one.get("rejections") or [] if r.get("code")]
    if errors:
        resource["error"] = errors
    return resource


def _items(benefit: dict[str, Any]) -> list[dict[str, Any]]:
    items = []
    for key, network in _NETWORKS:
        terms = benefit.get(key) or {}
        benefits = _benefits(terms)
        if not benefits and benefit.get("covered") is None:
            continue
        item: dict[str, Any] = {
            "category": {"coding": [{"system": X12_SERVICE_TYPE, "code": benefit["service_type"]}]},
            "network": {"coding": [{"system": BENEFIT_NETWORK, "code": network}]},
        }
        if benefit.get("covered") is False:
            item["excluded"] = True
        if terms.get("authorization_required") is not None:
            item["authorizationRequired"] = bool(terms["authorization_required"])
        if benefits:
            item["benefit"] = benefits
        items.append(item)
    return items


def _benefits(terms: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def kind(code: str) -> dict[str, Any]:
        return {"coding": [{"system": BENEFIT_TYPE, "code": code}]}

    if terms.get("copay") is not None:
        out.append({"type": kind("copay"), "allowedMoney": _money(terms["copay"])})
    if terms.get("coinsurance_percent") is not None:
        out.append({"type": kind("copay-percent"),
                    "allowedUnsignedInt": int(Decimal(str(terms["coinsurance_percent"])))})
    deductible = terms.get("deductible_individual") or {}
    if deductible.get("total") is not None:
        entry: dict[str, Any] = {"type": kind("deductible"), "allowedMoney": _money(deductible["total"])}
        if deductible.get("remaining") is not None:
            entry["usedMoney"] = _money(Decimal(str(deductible["total"])) - Decimal(str(deductible["remaining"])))
        out.append(entry)
    visits = terms.get("visit_limit") or {}
    if visits.get("limit") is not None:
        entry = {"type": kind("visit"), "allowedUnsignedInt": int(visits["limit"])}
        used = visits.get("used")
        if used is None and visits.get("remaining") is not None:
            used = int(visits["limit"]) - int(visits["remaining"])
        if used is not None:
            entry["usedUnsignedInt"] = max(0, int(used))
        out.append(entry)
    return out


def _money(value: Any) -> dict[str, Any]:
    # FHIR decimals are JSON numbers; the exact decimal string goes through fhir.resources' Decimal unchanged.
    return {"value": Decimal(str(value)), "currency": "USD"}


def _instant(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")
