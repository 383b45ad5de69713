"""Use cases that move money on the patient ledger: assessed responsibility, insurance pending, payments, refunds,
adjustments and write-offs, reversals. Each loads the responsible account through the unit of work, asks the
aggregate, and keeps it; the unit of work announces what it recorded. A source document posts once."""

from __future__ import annotations

from datetime import datetime

from rcm_shared.db.types import new_id

from patient_billing.domain.commands import (
    AdjustBalance,
    AssessResponsibility,
    AwaitInsurance,
    RecordPayment,
    RefundPayment,
    ReverseEntry,
)
from patient_billing.domain.exceptions import AccountNotFound, EntryNotFound
from patient_billing.domain.ledger import RESPONSIBILITY_REASONS, JournalEntry, ReasonLine, ResponsibleAccount
from patient_billing.service_layer.unit_of_work import PatientBillingUnitOfWork


async def assess_responsibility(uow: PatientBillingUnitOfWork, command: AssessResponsibility, *, at: datetime
                                ) -> JournalEntry | None:
    """The payer put deductible / coinsurance / copay on the patient (835 CAS group PR): each part with the CARC
    that set it, so the statement can say why."""
    source = f"assessment:{command.assessment_id}"
    if await uow.accounts.has_source(command.practice_id, source):
        return None
    account = await uow.accounts.for_patient(command.practice_id, command.patient_id, command.date_of_service)
    parts = {"deductible": command.deductible, "coinsurance": command.coinsurance, "copay": command.copay,
             "other": command.other}
    reasons = [ReasonLine(category, RESPONSIBILITY_REASONS[category][0], amount, RESPONSIBILITY_REASONS[category][1])
               for category, amount in parts.items() if amount]
    entry = account.assess_responsibility(
        entry_id=new_id(), source_id=source, patient_id=command.patient_id, service_date=command.date_of_service,
        reasons=reasons, at=at, claim_id=command.claim_id)
    await uow.keep(account)
    return entry


async def await_insurance(uow: PatientBillingUnitOfWork, command: AwaitInsurance) -> None:
    account = await uow.accounts.for_patient(command.practice_id, command.patient_id, command.date_of_service)
    account.insurance_pending(command.patient_id, command.date_of_service, command.program, command.clinician)
    await uow.keep(account)


async def record_payment(uow: PatientBillingUnitOfWork, command: RecordPayment, *, at: datetime
                         ) -> ResponsibleAccount:
    account = await uow.accounts.for_patient(command.practice_id, command.patient_id, command.received_on)
    if await uow.accounts.has_source(command.practice_id, f"payment:{command.payment_id}"):
        return account
    detail = {"method": command.method, **({"reference": command.reference} if command.reference else {})}
    account.receive_payment(entry_id=new_id(), payment_id=command.payment_id, amount=command.amount,
                            received_on=command.received_on, at=at, patient_id=command.patient_id,
                            for_visit_on=command.for_visit_on, detail=detail)
    await uow.keep(account)
    return account


async def refund_payment(uow: PatientBillingUnitOfWork, command: RefundPayment, *, at: datetime
                         ) -> ResponsibleAccount:
    account = await _account(uow, command.practice_id, command.account_id)
    if not await uow.accounts.has_source(command.practice_id, f"refund:{command.refund_id}"):
        account.refund(entry_id=new_id(), refund_id=command.refund_id, payment_id=command.payment_id,
                       amount=command.amount, on=command.on, at=at, reason=command.reason)
        await uow.keep(account)
    return account


async def adjust_balance(uow: PatientBillingUnitOfWork, command: AdjustBalance, *, at: datetime
                         ) -> ResponsibleAccount:
    account = await _account(uow, command.practice_id, command.account_id)
    source = f"{'write-off' if command.write_off else 'adjustment'}:{command.adjustment_id}"
    if not await uow.accounts.has_source(command.practice_id, source):
        account.adjust(entry_id=new_id(), source_id=source, amount=command.amount, on=command.on, at=at,
                       reason=command.reason, write_off=command.write_off, item_id=command.item_id)
        await uow.keep(account)
    return account


async def reverse_entry(uow: PatientBillingUnitOfWork, command: ReverseEntry, *, at: datetime) -> JournalEntry:
    original = await uow.accounts.entry(command.practice_id, command.entry_id)
    if original is None:
        raise EntryNotFound("no journal entry with this id", field="entry_id")
    account = await _account(uow, command.practice_id, original.account_id)
    entry = account.reverse(original, entry_id=new_id(), on=command.on, at=at, reason=command.reason,
                            already_reversed=await uow.accounts.is_reversed(command.practice_id, original.entry_id))
    await uow.keep(account)
    return entry


async def _account(uow: PatientBillingUnitOfWork, practice_id: str, account_id: str) -> ResponsibleAccount:
    account = await uow.accounts.get(practice_id, account_id)
    if account is None:
        raise AccountNotFound("no account with this id", field="account_id")
    return account
