"""FHIR datatypes as every service's codec writes them: a coded concept, USD money, an instant, a reference by
NPI or by payer id. Dicts, validated with the resource that holds them (``rcm_shared.fhir.api.validated``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

NPI = "http://hl7.org/fhir/sid/us-npi"
PAYER_ID_SYSTEM = "urn:rcm:payer-id"
PCN_SYSTEM = "urn:rcm:patient-control-number"
PAYER_CLAIM_SYSTEM = "urn:rcm:payer-claim-number"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
CARIN_ADJUDICATION = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication"
EX_PAYMENT_TYPE = "http://terminology.hl7.org/CodeSystem/ex-paymenttype"
CPT = "http://www.ama-assn.org/go/cpt"


def code(system: str, value: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": value}]}


def money(value: Decimal | int | str) -> dict[str, Any]:
    """USD; a FHIR decimal is a JSON number, and the exact decimal goes through fhir.resources unchanged."""
    return {"value": Decimal(str(value)), "currency": "USD"}


def cents(value: int) -> dict[str, Any]:
    return money(Decimal(value).scaleb(-2))


def instant(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def by_npi(npi: str) -> dict[str, Any]:
    return {"identifier": {"system": NPI, "value": npi}}


def payer(payer_id: str, name: str | None = None) -> dict[str, Any]:
    return {"identifier": {"system": PAYER_ID_SYSTEM, "value": payer_id}, **({"display": name} if name else {})}


def total(system: str, category: str, amount: Decimal | int | str) -> dict[str, Any]:
    """An adjudication total (ClaimResponse.total, ExplanationOfBenefit.total)."""
    return {"category": code(system, category), "amount": money(amount)}
