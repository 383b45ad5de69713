"""The patient ledger as FHIR R4 resources: Account (one per responsible party: its patients, its guarantor, its
balance) and Invoice (one per entry that bills a responsible party: a self-pay charge, a no-show or late-cancel
fee, the responsibility a payer assigned), built from stored rows; validated by the kernel's
``rcm_shared.fhir.api`` before they leave.

R4's Account has no balance (R5 added one): it rides in R5's ``Account.balance`` as the cross-version extension
(``aggregate`` patient, ``amount``). A guarantor who is one of the account's patients is ``Patient/<id>``; anyone
else (a parent, a guardian) is ``RelatedPerson/<guarantor id>``. Ids only: no names or addresses.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from rcm_shared.fhir.datatypes import cents, code, instant

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ACCOUNT_BALANCE = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Account.balance"
ACCOUNT_AGGREGATE = "http://hl7.org/fhir/account-aggregate"
CARC = "https://x12.org/codes/claim-adjustment-reason-codes"
APPOINTMENT_TYPE = "urn:rcm:appointment-type"
FEE_KIND = "urn:rcm:patient-fee"
INVOICED = ("charge", "fee", "responsibility")  # the entries that bill a responsible party


def party(guarantor_id: str, patient_ids: set[str]) -> dict[str, Any]:
    kind = "Patient" if guarantor_id in patient_ids else "RelatedPerson"
    return {"reference": f"{kind}/{guarantor_id}"}


def account(*, account_id: str, guarantor_id: str, kind: str, balance_cents: int, updated_at: datetime,
            patients: list[tuple[str, date, date | None]]) -> dict[str, Any]:
    """``patients``: each member's (patient id, from, to) on this account."""
    ids = {p for p, _, _ in patients}
    subjects = sorted(ids)
    since = min((start for _, start, _ in patients), default=None)
    resource: dict[str, Any] = {
        "resourceType": "Account", "id": account_id, "meta": {"lastUpdated": instant(updated_at)},
        "status": "active",
        "type": {"coding": [{"system": ACT_CODE, "code": "PBILLACCT", "display": "patient billing account"}],
                 "text": f"{kind} account"},
        "guarantor": [{"party": party(guarantor_id, ids), "onHold": False,
                       **({"period": {"start": since.isoformat()}} if since else {})}],
        "extension": [{"url": ACCOUNT_BALANCE, "extension": [
            {"url": "aggregate", "valueCodeableConcept": code(ACCOUNT_AGGREGATE, "patient")},
            {"url": "estimate", "valueBoolean": False},
            {"url": "amount", "valueMoney": cents(balance_cents)}]}],
    }
    if subjects:
        resource["subject"] = [{"reference": f"Patient/{p}"} for p in subjects]
    return resource


def invoice_status(*, reversed_: bool, open_cents: int | None) -> str:
    """cancelled: reversed (a waived fee, a voided visit's charge); issued: something is still open on it;
    balanced: paid, adjusted or written off to nothing."""
    if reversed_:
        return "cancelled"
    return "issued" if open_cents else "balanced"


def invoice(*, entry_id: str, kind: str, account_id: str, guarantor_id: str, account_patients: set[str],
            patient_id: str | None, service_date: date, posted_at: datetime, amount_cents: int,
            reasons: list[dict[str, Any]], detail: dict[str, Any], discounts: list[tuple[int, str]],
            status: str, claim_id: str | None) -> dict[str, Any]:
    """One billing entry. ``amount_cents``: what it put on patient A/R; ``discounts``: adjustments made on it
    (a sliding-scale tier: amount, reason)."""
    if kind == "responsibility" and reasons:
        lines = [(code(CARC, r["carc"]) | {"text": r["category"]}, int(r["amount_cents"])) for r in reasons]
    elif kind == "charge":
        concept = {"coding": [{"system": APPOINTMENT_TYPE, "code": detail["appointment_type"]}]} \
            if detail.get("appointment_type") else {}
        lines = [(concept | {"text": "self-pay session fee"}, amount_cents)]
    elif kind == "fee":
        outcome = str(detail.get("outcome") or "missed appointment")
        lines = [({"coding": [{"system": FEE_KIND, "code": outcome}], "text": f"{outcome.replace('_', ' ')} fee"},
                  amount_cents)]
    else:
        lines = [({"text": kind}, amount_cents)]
    discount_total = sum(amount for amount, _ in discounts)
    line_items = []
    for n, (concept, line_cents) in enumerate(lines, start=1):
        components: list[dict[str, Any]] = [{"type": "base", "amount": cents(line_cents)}]
        if n == 1:
            components += [{"type": "discount", "code": {"text": reason[:200]}, "amount": cents(amount)}
                           for amount, reason in discounts]
        line_items.append({"sequence": n, "chargeItemCodeableConcept": concept, "priceComponent": components})
    resource: dict[str, Any] = {
        "resourceType": "Invoice", "id": entry_id, "meta": {"lastUpdated": instant(posted_at)},
        "status": status,
        "type": {"text": {"charge": "self-pay visit", "fee": "no-show or late-cancel fee",
                          "responsibility": "patient responsibility after insurance"}.get(kind, kind)},
        "recipient": party(guarantor_id, account_patients),
        "date": instant(posted_at),
        "account": {"reference": f"Account/{account_id}"},
        "lineItem": line_items,
        "totalGross": cents(amount_cents),
        "totalNet": cents(amount_cents - discount_total),
        "note": [{"text": f"service date {service_date.isoformat()}"}],
    }
    if patient_id:
        resource["subject"] = {"reference": f"Patient/{patient_id}"}
    if claim_id:
        resource["identifier"] = [{"system": "urn:rcm:claim-id", "value": claim_id}]
    if status == "cancelled":
        resource["cancelledReason"] = "reversed"
    return resource
