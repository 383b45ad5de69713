"""Use case for corrected and voided visits (visit-completed with ``voided`` or ``replaces_visit_id``, from claims):
the patient's charges for the old visit are reversed (every entry posted for it, newest first: the sliding-scale
adjustment, then the charge or fee) and the replacing visit is charged as any visit is. Idempotent: a reversed
entry is not reversed again, and a visit is charged once."""

from __future__ import annotations

from datetime import datetime

from rcm_shared.contracts import VisitCompletedV1
from rcm_shared.db.types import new_id

from patient_billing.domain.commands import AwaitInsurance
from patient_billing.domain.ledger import EntryKind
from patient_billing.domain.pricing import PricingRules
from patient_billing.service_layer import ledger, visits
from patient_billing.service_layer.unit_of_work import PatientBillingUnitOfWork

REVERSIBLE = (EntryKind.CHARGE, EntryKind.FEE, EntryKind.ADJUSTMENT)


async def visit_corrected(uow: PatientBillingUnitOfWork, event: VisitCompletedV1, rules: PricingRules, *,
                          at: datetime) -> None:
    replaced = event.visit_id if event.voided else event.replaces_visit_id
    assert replaced is not None
    await reverse_visit(uow, event.practice_id, replaced, reason="visit voided" if event.voided
                        else f"visit corrected (replaced by {event.visit_id})", at=at)
    if event.voided:
        account_id = await uow.accounts.account_id_for(event.practice_id, event.patient_id, event.date_of_service)
        if account_id is not None and event.billing_model == "insurance":
            account = await uow.accounts.get(event.practice_id, account_id)
            assert account is not None
            account.insurance_pending_ended(event.patient_id, event.date_of_service)
            await uow.keep(account)
        return
    if event.billing_model == "insurance":
        await ledger.await_insurance(uow, AwaitInsurance(event.practice_id, event.patient_id, event.date_of_service,
                                                    event.program, event.rendering_npi))
    elif event.billing_model == "self_pay":
        await visits.charge_self_pay_visit(uow, visits.self_pay_visit(event), rules, at=at)


async def reverse_visit(uow: PatientBillingUnitOfWork, practice_id: str, visit_id: str, *, reason: str,
                        at: datetime) -> int:
    """Reverse what is still standing of a visit's charges; returns how many entries were reversed."""
    posted = await uow.accounts.entries_for_visit(practice_id, visit_id)
    reversed_ids = {e.reverses_entry_id for e in posted if e.reverses_entry_id}
    standing = [e for e in posted if e.kind in REVERSIBLE and e.entry_id not in reversed_ids]
    for original in reversed(standing):
        account = await uow.accounts.get(practice_id, original.account_id)
        assert account is not None
        account.reverse(original, entry_id=new_id(), on=original.effective_date, at=at, reason=reason,
                        already_reversed=False)
        await uow.keep(account)
    return len(standing)
