"""Remittance's records as FHIR R4 resources: ExplanationOfBenefit (one per claim payment of an 835 posted to its
claim, shaped after the CARIN Blue Button professional EOB where it fits) and PaymentReconciliation (one per 835
payment: its BPR/TRN, with a detail per claim payment it carries).

A codec, like the 835 reader and writer beside it: stored rows in, resource dicts out (validated by the kernel's
``rcm_shared.fhir.api`` before they leave). An EOB's id is its posting id; a PaymentReconciliation's is the
payment id. Patients, coverages and payers are referenced by our ids only (``Patient/<patient id>``,
``Coverage/<patient id>.<payer id>`` as eligibility serves it, the payer by its payer id).

CARIN Blue Button (C4BB-ExplanationOfBenefit-Professional-NonClinician) where it fits: the unique claim id
identifier (``uc``: the payer's claim number, else our patient control number), type professional, the performing
care team member by NPI, totals with CARIN's adjudication codes (submitted, paid to provider, member liability,
deductible, copay, coinsurance). What it does not carry that the profile asks for: adjudication per line (we keep
the 835's amounts per claim; each line shows what was billed) and the provider's network status.
"""

from __future__ import annotations

from datetime import date, datetime
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

CARIN_EOB_PROFESSIONAL = ("http://hl7.org/fhir/us/carin-bb/StructureDefinition/"
                          "C4BB-ExplanationOfBenefit-Professional-NonClinician")
CARIN_IDENTIFIER_TYPE = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBIdentifierType"
CARIN_CARE_TEAM_ROLE = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBClaimCareTeamRole"
PAYMENT_TYPE = "http://terminology.hl7.org/CodeSystem/payment-type"
TRACE_SYSTEM = "urn:rcm:x12:trn"  # the 835's TRN02: the check or EFT trace number
REVERSAL = "22"  # CLP02 22: a reversal of a previous payment (it cancels that payment's EOB)
_CLP02 = {"1": "processed as primary", "2": "processed as secondary", "3": "processed as tertiary",
          "4": "denied", "19": "processed as primary, forwarded to another payer",
          "20": "processed as secondary, forwarded to another payer",
          "21": "processed as tertiary, forwarded to another payer", "22": "reversal of a previous payment",
          "23": "not our claim, forwarded"}
# what the patient was billed (the posting's patient_billed) -> the EOB total category
_PATIENT_SHARES = (("deductible", ADJUDICATION, "deductible"), ("copay", ADJUDICATION, "copay"),
                   ("coinsurance", CARIN_ADJUDICATION, "coinsurance"))


def explanation_of_benefit(*, posting_id: str, claim_id: str, patient_id: str, payer_id: str,
                           date_of_service: date, rendering_npi: str, lines: list[dict[str, Any]],
                           claim_status_code: str, charge: Decimal, paid: Decimal,
                           patient_responsibility: Decimal, payer_claim_number: str | None,
                           patient_control_number: str, posted_at: datetime, detail: dict[str, Any],
                           reversed: bool, trace_number: str | None, payment_date: date | None) -> dict[str, Any]:
    """One claim payment of an 835 as posted to our claim copy (``reversed``: a later CLP02 22 took it back)."""
    unique = ({"system": PAYER_CLAIM_SYSTEM, "value": payer_claim_number} if payer_claim_number
              else {"system": PCN_SYSTEM, "value": patient_control_number})
    resource: dict[str, Any] = {
        "resourceType": "ExplanationOfBenefit", "id": posting_id,
        "meta": {"profile": [CARIN_EOB_PROFESSIONAL], "lastUpdated": instant(posted_at)},
        "identifier": [{"type": code(CARIN_IDENTIFIER_TYPE, "uc"), **unique}],
        "status": "cancelled" if reversed else "active",
        "type": code(CLAIM_TYPE, "professional"), "use": "claim",
        "patient": {"reference": f"Patient/{patient_id}"},
        "billablePeriod": {"start": date_of_service.isoformat(), "end": date_of_service.isoformat()},
        "created": instant(posted_at),
        "insurer": payer(payer_id),
        "provider": by_npi(rendering_npi),
        "claim": {"reference": f"Claim/{claim_id}"},
        "outcome": "complete",
        "disposition": _CLP02.get(claim_status_code, f"claim status {claim_status_code}"),
        "careTeam": [{"sequence": 1, "provider": by_npi(rendering_npi),
                      "role": code(CARIN_CARE_TEAM_ROLE, "performing")}],
        "insurance": [{"focal": True, "coverage": {"reference": f"Coverage/{patient_id}.{payer_id}"}}],
        "total": [total(ADJUDICATION, "submitted", charge), total(CARIN_ADJUDICATION, "paidtoprovider", paid),
                  total(CARIN_ADJUDICATION, "memberliability", patient_responsibility)],
        "payment": {"type": code(EX_PAYMENT_TYPE, "complete"), "amount": money(paid)},
    }
    if payer_claim_number:
        resource["identifier"].append({"system": PCN_SYSTEM, "value": patient_control_number})
    billed = detail.get("patient_billed") or {}
    resource["total"] += [total(system, code, Decimal(billed[key])) for key, system, code in _PATIENT_SHARES
                          if billed.get(key) is not None and Decimal(billed[key]) != 0]
    if payment_date is not None:
        resource["payment"]["date"] = payment_date.isoformat()
    if trace_number:
        resource["payment"]["identifier"] = {"system": TRACE_SYSTEM, "value": trace_number}
    items = []
    for n, line in enumerate(lines, start=1):
        item: dict[str, Any] = {
            "sequence": n, "careTeamSequence": [1], "productOrService": code(CPT, line["procedure_code"]),
            "servicedDate": date_of_service.isoformat(), "quantity": {"value": int(line.get("units") or 1)},
            "adjudication": [{"category": code(ADJUDICATION, "submitted"),
                              "amount": money(Decimal(str(line["charge"])))}]}
        if line.get("modifiers"):
            item["modifier"] = [code(CPT, m) for m in line["modifiers"]]
        items.append(item)
    if items:
        resource["item"] = items
    return resource


def payment_reconciliation(*, payment_id: str, payer_id: str, trace_number: str, total_paid: Decimal, method: str,
                           payment_date: date | None, posted_at: datetime,
                           details: list[dict[str, Any]]) -> dict[str, Any]:
    """One 835 payment (BPR/TRN) and what it paid, claim by claim (``details``: its postings, each with
    ``posting_id``, ``claim_id`` (None: not matched to a claim yet), ``paid``, ``eob``: whether an EOB is served
    for it)."""
    resource: dict[str, Any] = {
        "resourceType": "PaymentReconciliation", "id": payment_id,
        "meta": {"lastUpdated": instant(posted_at)},
        "identifier": [{"system": TRACE_SYSTEM, "value": trace_number}],
        "status": "active", "created": instant(posted_at),
        "paymentIssuer": payer(payer_id),
        "outcome": "complete",
        "disposition": f"{method} payment",
        "paymentDate": (payment_date or posted_at.date()).isoformat(),
        "paymentAmount": money(total_paid),
        "paymentIdentifier": {"system": TRACE_SYSTEM, "value": trace_number},
    }
    out = []
    for d in details:
        entry: dict[str, Any] = {"identifier": {"system": "urn:rcm:posting-id", "value": d["posting_id"]},
                                 "type": code(PAYMENT_TYPE, "payment"), "amount": money(d["paid"])}
        if d.get("claim_id"):
            entry["request"] = {"reference": f"Claim/{d['claim_id']}"}
        if d.get("eob"):
            entry["response"] = {"reference": f"ExplanationOfBenefit/{d['posting_id']}"}
        out.append(entry)
    if out:
        resource["detail"] = out
    return resource
