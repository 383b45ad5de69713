"""The unit of work of patient billing: one transaction, the account repository, and (through the kernel's
``UnitOfWork``) the outbox rows announcing what the accounts recorded.

The repository is described by what the use cases need of it (a protocol); ``bind`` builds the SQL one
(``adapters/repository.py``) on the transaction's session.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Protocol

from rcm_shared.unit_of_work import UnitOfWork, UnitOfWorkFactory
from rcm_shared.work_items.repository import WorkItemRepository
from sqlalchemy.ext.asyncio import AsyncSession

from patient_billing.adapters.payments_orm import work_item_tables
from patient_billing.adapters.payments_repository import SqlPaymentRepository
from patient_billing.adapters.repository import SqlAccountRepository, SqlPatientFactsRepository
from patient_billing.domain.ledger import JournalEntry, Membership, ResponsibleAccount
from patient_billing.domain.pricing import IncomeAssessment


class AccountRepository(Protocol):
    async def get(self, practice_id: str, account_id: str) -> ResponsibleAccount | None: ...

    async def for_patient(self, practice_id: str, patient_id: str, on: date) -> ResponsibleAccount: ...

    async def account_id_for(self, practice_id: str, patient_id: str, on: date) -> str | None: ...

    async def open_account(self, practice_id: str, guarantor_id: str, covering: Iterable[Membership] = (),
                           kind: str = "individual") -> ResponsibleAccount: ...

    async def end_membership(self, practice_id: str, patient_id: str, before: date) -> None: ...

    async def has_source(self, practice_id: str, source_id: str) -> bool: ...

    async def entry(self, practice_id: str, entry_id: str) -> JournalEntry | None: ...

    async def is_reversed(self, practice_id: str, entry_id: str) -> bool: ...

    async def entries_for_visit(self, practice_id: str, visit_id: str) -> list[JournalEntry]: ...

    async def save(self, account: ResponsibleAccount) -> None: ...


class PatientFactsRepository(Protocol):
    async def add_assessment(self, practice_id: str, assessment: IncomeAssessment) -> None: ...

    async def assessments(self, practice_id: str, patient_id: str) -> list[IncomeAssessment]: ...

    async def add_consent(self, practice_id: str, patient_id: str, signed_on: date) -> None: ...

    async def consent_signed_on(self, practice_id: str, patient_id: str, by: date) -> date | None: ...


class PatientBillingUnitOfWork(UnitOfWork):
    accounts: AccountRepository
    patients: PatientFactsRepository
    payments: SqlPaymentRepository  # card payments, cards on file, plans, collections (payments_repository.py)
    work_items: WorkItemRepository

    def bind(self, session: AsyncSession) -> None:
        self.accounts = SqlAccountRepository(session)
        self.patients = SqlPatientFactsRepository(session)
        self.payments = SqlPaymentRepository(session)
        self.work_items = WorkItemRepository(session, work_item_tables)

    async def keep(self, *changed: ResponsibleAccount) -> None:
        """Save changed accounts and collect what they recorded for the outbox. An account paying by a plan keeps
        the plan equal to what it owes now (the plan is re-amortized in the same transaction)."""
        for account in changed:
            await self.accounts.save(account)
            self.add(account)
            plan = await self.payments.active_plan(account.practice_id, account.account_id)
            if plan is not None and plan.follow_balance(account.amount_due()):
                await self.payments.save_plan(plan)
                self.add(plan)


UnitsOfWork = UnitOfWorkFactory[PatientBillingUnitOfWork]
