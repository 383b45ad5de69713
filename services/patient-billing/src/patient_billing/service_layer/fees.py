"""Use cases of the written financial policy: a signed consent on file, a no-show or late-cancel fee charged to the
patient (never to a payer) only with that consent, and a fee waived with a reason (its reversal)."""

from __future__ import annotations

from datetime import datetime

from rcm_shared.db.types import new_id

from patient_billing.domain.commands import ChargeMissedAppointment, RecordFinancialConsent, ReverseEntry, WaiveFee
from patient_billing.domain.exceptions import EntryNotFound, NotReversible
from patient_billing.domain.ledger import EntryKind, JournalEntry
from patient_billing.domain.pricing import PricingRules
from patient_billing.service_layer import ledger
from patient_billing.service_layer.unit_of_work import PatientBillingUnitOfWork


async def record_consent(uow: PatientBillingUnitOfWork, command: RecordFinancialConsent) -> None:
    await uow.patients.add_consent(command.practice_id, command.patient_id, command.signed_on)


async def charge_missed_appointment(uow: PatientBillingUnitOfWork, command: ChargeMissedAppointment,
                                   rules: PricingRules, *, at: datetime) -> JournalEntry | None:
    """The policy's fee for the outcome, once per appointment; None when the policy charges nothing or the patient
    has not signed it."""
    source = f"fee:{command.visit_id}"
    if await uow.accounts.has_source(command.practice_id, source):
        return None
    consent = await uow.patients.consent_signed_on(command.practice_id, command.patient_id, command.service_date)
    fee = rules.financial_policy.fee_for(command.outcome, command.service_date, consent)
    if fee is None:
        return None
    amount, rule = fee
    account = await uow.accounts.for_patient(command.practice_id, command.patient_id, command.service_date)
    entry = account.post_charge(entry_id=new_id(), source_id=source, patient_id=command.patient_id,
                                service_date=command.service_date, amount=amount, at=at, kind=EntryKind.FEE,
                                visit_id=command.visit_id,
                                detail={"price_rule": rule, "outcome": command.outcome, "bill_to": "patient-only"})
    await uow.keep(account)
    return entry


async def waive_fee(uow: PatientBillingUnitOfWork, command: WaiveFee, *, at: datetime) -> JournalEntry:
    original = await uow.accounts.entry(command.practice_id, command.entry_id)
    if original is None:
        raise EntryNotFound("no journal entry with this id", field="entry_id")
    if original.kind is not EntryKind.FEE:
        raise NotReversible("only a no-show or late-cancel fee is waived", field="entry_id")
    return await ledger.reverse_entry(uow, ReverseEntry(command.practice_id, command.entry_id, command.on,
                                                        f"waived: {command.reason}"), at=at)
