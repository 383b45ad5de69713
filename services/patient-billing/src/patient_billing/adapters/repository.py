"""Load and save PatientAccount aggregates."""

from __future__ import annotations

from typing import Any

from rcm_shared.db.types import new_id, utcnow
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from patient_billing.adapters.orm import accounts, entries
from patient_billing.domain.model import AccountEntry, EntryKind, PatientAccount


class PatientAccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._known: dict[str, int] = {}

    async def get(self, practice_id: str, patient_id: str, *, lock: bool = False) -> PatientAccount | None:
        query = select(accounts).where(accounts.c.practice_id == practice_id, accounts.c.patient_id == patient_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        rows = (await self.session.execute(
            select(entries).where(entries.c.account_id == row.account_id).order_by(entries.c.posted_at)
        )).all()
        account = PatientAccount(row.account_id, row.practice_id, row.patient_id, [_entry(r) for r in rows])
        self._known[account.account_id] = len(account.entries)
        return account

    async def get_or_create(self, practice_id: str, patient_id: str) -> PatientAccount:
        account = await self.get(practice_id, patient_id, lock=True)
        if account is not None:
            return account
        account = PatientAccount(new_id(), practice_id, patient_id)
        await self.session.execute(insert(accounts).values(
            account_id=account.account_id, practice_id=practice_id, patient_id=patient_id,
            balance=account.balance, updated_at=utcnow()))
        self._known[account.account_id] = 0
        return account

    async def save(self, account: PatientAccount) -> None:
        already = self._known.get(account.account_id, 0)
        new_entries = account.entries[already:]
        if new_entries:
            await self.session.execute(insert(entries), [_row(account.account_id, e) for e in new_entries])
        await self.session.execute(update(accounts).where(accounts.c.account_id == account.account_id)
                                   .values(balance=account.balance, updated_at=utcnow()))
        self._known[account.account_id] = len(account.entries)


def _entry(row: Any) -> AccountEntry:
    return AccountEntry(entry_id=row.entry_id, kind=EntryKind(row.kind), amount=row.amount,
                        source_id=row.source_id, service_date=row.service_date, posted_at=row.posted_at,
                        claim_id=row.claim_id, detail=row.detail or {})


def _row(account_id: str, e: AccountEntry) -> dict[str, Any]:
    return {"entry_id": e.entry_id, "account_id": account_id, "kind": e.kind.value, "amount": e.amount,
            "source_id": e.source_id, "claim_id": e.claim_id, "service_date": e.service_date,
            "posted_at": e.posted_at, "detail": e.detail}
