"""Superbills per visit or per period: claims' coding of each visit (kept from ``visit-completed``), the ledger's
charges and payments, the practice's letterhead and the clinicians' licenses. Asking twice for the same superbill
(same visits, same amounts) answers the one already issued."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from rcm_shared.db.types import new_id

from patient_billing.adapters.documents.repository import DocumentsRepository
from patient_billing.adapters.documents.superbill_pdf import render_superbill
from patient_billing.domain.document_errors import DocumentFactsMissing, DocumentRefused
from patient_billing.domain.estimates import ProviderParty
from patient_billing.domain.superbills import Superbill, SuperbillVisit
from patient_billing.service_layer.document_kit import DocumentKit
from patient_billing.service_layer.unit_of_work import PatientBillingUnitOfWork


async def issue_superbill(uow: PatientBillingUnitOfWork, kit: DocumentKit, *, practice_id: str, patient_id: str,
                          visit_id: str | None = None, period: tuple[date, date] | None = None,
                          variant: str = "superbill") -> tuple[Any, bool]:
    """The superbill of one visit, or of every visit of the patient in ``period``: (stored row, made now)."""
    repo = DocumentsRepository(uow.session)
    if visit_id is not None:
        codings = await repo.visit_codings(practice_id, visit_id=visit_id, patient_id=patient_id)
        source_key = f"visit:{visit_id}"
    else:
        assert period is not None
        if period[1] < period[0]:
            raise DocumentRefused("the period ends before it starts", field="to")
        codings = await repo.visit_codings(practice_id, patient_id=patient_id, from_date=period[0], to_date=period[1])
        source_key = f"period:{period[0].isoformat()}:{period[1].isoformat()}"
    if not codings:
        raise DocumentRefused("no coded visit of this patient for the superbill", field="visit_id"
                              if visit_id else "from")
    ledger = await repo.visit_ledger(practice_id, [c.visit_id for c in codings])
    visits = tuple(SuperbillVisit(c, *_charged_paid(ledger.get(c.visit_id, (0, 0)))) for c in codings)
    profile = await repo.practice(practice_id)
    if profile is None:
        raise DocumentFactsMissing("the practice's profile (name, address, NPI, tax ID) is not on file",
                                   field="practice_id")
    npis = {c.rendering_npi for c in codings}
    found = await repo.clinicians(practice_id, npis)
    missing = sorted(npis - set(found))
    if missing:
        raise DocumentFactsMissing(f"{len(missing)} rendering clinician(s) not on file (name, credential, license)",
                                   field="rendering_npi")
    patient = (await repo.people(practice_id, [patient_id])).get(patient_id)
    if patient is None:
        raise DocumentFactsMissing("the patient's name, date of birth and address are not on file",
                                   field="patient_id")
    superbill_id = new_id()
    practice = ProviderParty(profile.npi, profile.name, profile.tax_id, tuple(profile.address_lines), profile.phone)
    bill = Superbill(
        superbill_id=superbill_id, variant=variant, issued_on=kit.clock.today(), practice=practice,
        clinicians={n: ProviderParty(n, c.name, profile.tax_id, tuple(profile.address_lines), profile.phone,
                                     c.credential) for n, c in found.items()},
        license_numbers={n: f"{c.license_state} {c.license_number}" for n, c in found.items()},
        patient_name=patient.name, patient_date_of_birth=patient.date_of_birth,
        patient_address=tuple(patient.address_lines), visits=visits)
    # the same visits and amounts issued before (the same day's PDF) answer as that superbill
    content = bill.as_document()
    fingerprint = hashlib.sha256(repr(({k: v for k, v in content.items() if k not in ("superbill_id", "issued_on")},
                                       variant)).encode()).hexdigest()
    for earlier in await repo.superbills_of(practice_id, patient_id):
        if earlier.source_key == source_key and earlier.content.get("fingerprint") == fingerprint:
            return earlier, False
    pdf = render_superbill(bill)
    await repo.add_superbill(superbill_id=superbill_id, practice_id=practice_id, patient_id=patient_id,
                             source_key=source_key, variant=variant, content={**content, "fingerprint": fingerprint},
                             pdf=pdf, pdf_sha256=hashlib.sha256(pdf).hexdigest(), issued_at=kit.clock.now())
    row = await repo.superbill(practice_id, superbill_id)
    return row, True


def _charged_paid(ledger: tuple[int, int]) -> tuple[int, int]:
    charged, still_open = ledger
    return max(0, charged), max(0, charged - still_open)
