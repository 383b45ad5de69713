"""Use cases for completed visits (visit-completed from claims): an insured visit makes the patient's share wait
for the payer; a self-pay visit is charged to its responsible party at once."""

from __future__ import annotations

from datetime import datetime

from rcm_shared.contracts import VisitCompletedV1
from rcm_shared.db.types import new_id, to_cents

from patient_billing.domain.commands import AwaitInsurance
from patient_billing.domain.ledger import EntryKind
from patient_billing.service_layer import ledger
from patient_billing.service_layer.unit_of_work import PatientBillingUnitOfWork


async def visit_completed(uow: PatientBillingUnitOfWork, event: VisitCompletedV1, *, at: datetime) -> None:
    if event.voided:
        return
    if event.billing_model == "insurance":
        await ledger.await_insurance(uow, AwaitInsurance(event.practice_id, event.patient_id, event.date_of_service))
        return
    if event.billing_model != "self_pay" or event.self_pay_charge is None:
        return
    source = f"visit:{event.visit_id}"
    if await uow.accounts.has_source(event.practice_id, source):
        return
    account = await uow.accounts.for_patient(event.practice_id, event.patient_id, event.date_of_service)
    account.post_charge(entry_id=new_id(), source_id=source, patient_id=event.patient_id,
                        service_date=event.date_of_service, amount=to_cents(event.self_pay_charge), at=at,
                        kind=EntryKind.CHARGE, visit_id=event.visit_id, program=event.program,
                        clinician=event.rendering_npi)
    await uow.keep(account)
