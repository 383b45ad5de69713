"""Superbills: the itemized receipt a self-pay client sends their plan for out-of-network reimbursement.

The codes (CPT, modifiers, units, place of service, ICD-10) are claims' coding of the visit as it announced it in
``visit-completed``, kept unchanged, so a superbill and a claim for the same visit never disagree. The amounts are
the patient ledger's: what the visit was charged (after any sliding-scale adjustment) and what has been paid on it.

Pure domain: no I/O, no framework.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from patient_billing.domain.document_errors import DocumentRefused
from patient_billing.domain.estimates import ProviderParty, _party


@dataclass(frozen=True)
class CodedLine:
    procedure_code: str
    modifiers: tuple[str, ...]
    units: int


@dataclass(frozen=True)
class VisitCoding:
    """Claims' coding of one visit (from ``visit-completed``)."""

    visit_id: str
    patient_id: str
    date_of_service: date
    rendering_npi: str
    services: tuple[CodedLine, ...]
    diagnoses: tuple[str, ...]
    place_of_service: str | None
    billing_model: str = "self_pay"


@dataclass(frozen=True)
class SuperbillVisit:
    coding: VisitCoding
    charged: int  # cents, what the patient was charged for it
    paid: int  # cents, paid on it


@dataclass(frozen=True)
class Superbill:
    superbill_id: str
    variant: str  # superbill | cms1500
    issued_on: date
    practice: ProviderParty
    clinicians: Mapping[str, ProviderParty]  # by NPI, with credential; license in license_numbers
    license_numbers: Mapping[str, str]  # NPI -> "<state> <number>"
    patient_name: str
    patient_date_of_birth: date | None
    patient_address: tuple[str, ...]
    visits: tuple[SuperbillVisit, ...]
    payer_id: str | None = None

    def __post_init__(self) -> None:
        if not self.visits:
            raise DocumentRefused("a superbill lists at least one visit", field="visits")
        if self.variant not in ("superbill", "cms1500"):
            raise DocumentRefused("a superbill is a superbill or cms1500", field="variant")

    @property
    def diagnoses(self) -> tuple[str, ...]:
        """Every diagnosis of the visits, in first-seen order (the CMS-1500's box 21 A-L)."""
        seen: list[str] = []
        for v in self.visits:
            for d in v.coding.diagnoses:
                if d not in seen:
                    seen.append(d)
        return tuple(seen)

    @property
    def total_charged(self) -> int:
        return sum(v.charged for v in self.visits)

    @property
    def total_paid(self) -> int:
        return sum(v.paid for v in self.visits)

    def as_document(self) -> dict[str, Any]:
        return {
            "superbill_id": self.superbill_id, "variant": self.variant, "issued_on": self.issued_on.isoformat(),
            "practice": _party(self.practice),
            "clinicians": {npi: {**_party(p), "license": self.license_numbers.get(npi, "")}
                           for npi, p in self.clinicians.items()},
            "patient": {"name": self.patient_name, "date_of_birth": self.patient_date_of_birth.isoformat()
                        if self.patient_date_of_birth else None, "address_lines": list(self.patient_address)},
            "diagnoses": list(self.diagnoses),
            "visits": [{"visit_id": v.coding.visit_id, "date_of_service": v.coding.date_of_service.isoformat(),
                        "rendering_npi": v.coding.rendering_npi, "place_of_service": v.coding.place_of_service,
                        "diagnoses": list(v.coding.diagnoses),
                        "services": [{"procedure_code": s.procedure_code, "modifiers": list(s.modifiers),
                                      "units": s.units} for s in v.coding.services],
                        "charged_cents": v.charged, "paid_cents": v.paid} for v in self.visits],
            "total_charged_cents": self.total_charged, "total_paid_cents": self.total_paid,
            "balance_cents": self.total_charged - self.total_paid, "payer_id": self.payer_id,
        }


def line_charges(visit: SuperbillVisit) -> list[int]:
    """The visit's charge spread over its lines by units (the last line takes the rounding), so lines add up."""
    units = [s.units for s in visit.coding.services]
    total_units = sum(units) or 1
    shares = [visit.charged * u // total_units for u in units]
    if shares:
        shares[-1] += visit.charged - sum(shares)
    return shares


def pointers(visit: VisitCoding, all_diagnoses: Sequence[str]) -> str:
    """The CMS-1500 diagnosis pointer letters (A-L) of a visit's diagnoses, at most four."""
    letters = "ABCDEFGHIJKL"
    return "".join(letters[all_diagnoses.index(d)] for d in visit.diagnoses[:4] if d in all_diagnoses[:12])
