"""Use cases of patient billing. Each takes the transaction's session; the caller commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from rcm_shared.contracts import (
    EventEnvelope,
    PatientBalanceChangedV1,
    PatientResponsibilityAssessedV1,
    VisitCompletedV1,
)
from rcm_shared.db.types import new_id, utcnow
from rcm_shared.messaging import stage_event
from sqlalchemy.ext.asyncio import AsyncSession

from patient_billing.adapters.orm import platform
from patient_billing.adapters.repository import PatientAccountRepository
from patient_billing.domain.model import AccountEntry, EntryKind, PatientAccount

SOURCE = "patient-billing"


@dataclass(frozen=True)
class RecordPatientPayment:
    practice_id: str
    patient_id: str
    amount: Decimal
    method: str
    reference: str | None
    payment_id: str


async def _publish_changes(session: AsyncSession, account: PatientAccount, causation: EventEnvelope | None) -> None:
    for event in account.events:
        await stage_event(session, platform, PatientBalanceChangedV1(
            account_id=event.account_id, patient_id=account.patient_id, practice_id=account.practice_id,
            entry_id=event.entry.entry_id, entry_kind=event.entry.kind.value, amount=event.entry.amount,
            balance=event.balance,
        ), source=SOURCE, subject=account.account_id, practice_id=account.practice_id, causation=causation)
    account.events.clear()


async def assess_patient_responsibility(
    session: AsyncSession, envelope: EventEnvelope, event: PatientResponsibilityAssessedV1
) -> None:
    repo = PatientAccountRepository(session)
    account = await repo.get_or_create(event.practice_id, event.patient_id)
    kind = EntryKind.PATIENT_RESPONSIBILITY if event.total >= 0 else EntryKind.RESPONSIBILITY_REVERSAL
    account.post(AccountEntry(
        entry_id=new_id(), kind=kind, amount=abs(event.total), source_id=f"assessment:{event.assessment_id}",
        service_date=event.date_of_service, posted_at=utcnow(), claim_id=event.claim_id,
        detail={"deductible": str(event.deductible), "coinsurance": str(event.coinsurance),
                "copay": str(event.copay), "other": str(event.other)},
    ))
    await repo.save(account)
    await _publish_changes(session, account, envelope)


async def charge_self_pay_visit(session: AsyncSession, envelope: EventEnvelope, event: VisitCompletedV1) -> None:
    """Per-session billing: a self-pay visit is charged to the patient at the practice's fee."""
    if event.billing_model != "self_pay" or event.self_pay_charge is None or event.voided:
        return
    repo = PatientAccountRepository(session)
    account = await repo.get_or_create(event.practice_id, event.patient_id)
    account.post(AccountEntry(
        entry_id=new_id(), kind=EntryKind.SELF_PAY_CHARGE, amount=event.self_pay_charge,
        source_id=f"visit:{event.visit_id}", service_date=event.date_of_service, posted_at=utcnow(),
        detail={"visit_id": event.visit_id},
    ))
    await repo.save(account)
    await _publish_changes(session, account, envelope)


async def record_patient_payment(session: AsyncSession, command: RecordPatientPayment) -> PatientAccount:
    repo = PatientAccountRepository(session)
    account = await repo.get_or_create(command.practice_id, command.patient_id)
    account.post(AccountEntry(
        entry_id=new_id(), kind=EntryKind.PAYMENT, amount=command.amount, source_id=f"payment:{command.payment_id}",
        service_date=None, posted_at=utcnow(),
        detail={"method": command.method, **({"reference": command.reference} if command.reference else {})},
    ))
    await repo.save(account)
    await _publish_changes(session, account, None)
    return account


async def load_account(session: AsyncSession, practice_id: str, patient_id: str) -> PatientAccount | None:
    return await PatientAccountRepository(session).get(practice_id, patient_id)


def statement_as_of(account: PatientAccount, as_of: date) -> dict[str, Decimal]:
    return account.aging(as_of)
