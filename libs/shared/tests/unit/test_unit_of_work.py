"""The unit of work: aggregates' events become outbox rows in the same transaction, or nothing does."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rcm_shared.config import ServiceSettings
from rcm_shared.contracts import EventEnvelope, PatientBalanceChangedV1
from rcm_shared.contracts.base import EventPayload
from rcm_shared.db.database import Database
from rcm_shared.db.platform_tables import add_platform_tables
from rcm_shared.testing.fakes import InMemoryUnitOfWork
from rcm_shared.unit_of_work import Announcement, TableOutbox, UnitOfWork, UnitOfWorkFactory
from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class BalanceMoved:
    account_id: str
    practice_id: str
    amount: Decimal
    balance: Decimal


@dataclass
class Account:
    account_id: str
    practice_id: str
    balance: Decimal = Decimal("0.00")
    events: list[Any] = field(default_factory=list)

    def charge(self, amount: Decimal) -> None:
        self.balance += amount
        self.events.append(BalanceMoved(self.account_id, self.practice_id, amount, self.balance))

    def pull_events(self) -> list[Any]:
        events, self.events = self.events, []
        return events


def announce(event: Any) -> list[Announcement]:
    assert isinstance(event, BalanceMoved)
    return [(PatientBalanceChangedV1(account_id=event.account_id, patient_id="p-1", practice_id=event.practice_id,
                                     entry_id="e-1", entry_kind="charge", amount=event.amount,
                                     balance=event.balance), event.account_id)]


class AccountsUnitOfWork(UnitOfWork):
    def __init__(self, db: Database | None, *, session: AsyncSession | None = None,
                 causation: EventEnvelope | None = None) -> None:
        assert db is not None
        super().__init__(db, announce, TableOutbox(db, "test"), session=session, causation=causation)

    def bind(self, session: AsyncSession) -> None:
        self.bound_to = session


@pytest.fixture
async def db(tmp_path: Path) -> Any:
    metadata = MetaData()
    tables = add_platform_tables(metadata)
    database = Database(ServiceSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'uow.db'}"), metadata, tables)
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield database
    await database.dispose()


async def _outbox_types(db: Database) -> list[str]:
    async with db.sessions() as session:
        return list((await session.scalars(select(db.tables.outbox.c.event_type)
                                           .order_by(db.tables.outbox.c.id))).all())


async def test_commit_stages_the_aggregates_events_and_wakes_the_relay(db: Database) -> None:
    woken: list[int] = []
    db.on_commit(lambda: woken.append(1))
    uows = UnitOfWorkFactory(AccountsUnitOfWork, db)
    account = Account("acct-1", "practice-a")
    async with uows() as uow:
        assert uow.bound_to is uow.session
        account.charge(Decimal("10.00"))
        account.charge(Decimal("5.00"))
        uow.add(account, account)  # adding twice collects once
    assert await _outbox_types(db) == ["patient-balance.changed", "patient-balance.changed"]
    assert woken == [1]
    assert account.events == []


async def test_an_exception_rolls_back_the_change_and_its_events(db: Database) -> None:
    uows = UnitOfWorkFactory(AccountsUnitOfWork, db)
    account = Account("acct-1", "practice-a")
    with pytest.raises(RuntimeError):
        async with uows() as uow:
            account.charge(Decimal("10.00"))
            uow.add(account)
            await uow.stage_events()
            raise RuntimeError("boom")
    assert await _outbox_types(db) == []


async def test_a_joined_unit_stages_in_the_callers_transaction_with_causation(db: Database) -> None:
    uows = UnitOfWorkFactory(AccountsUnitOfWork, db)
    cause = EventEnvelope(id="cause-1", type="visit.completed", schema_version=1, source="claims",
                          time="2026-12-02T00:00:00Z", subject="v-1", practice_id="practice-a",
                          correlation_id="corr-1", data={})
    async with db.sessions() as session, session.begin():
        async with uows.joining(session, causation=cause) as uow:
            account = Account("acct-2", "practice-a")
            account.charge(Decimal("1.00"))
            uow.add(account)
        await session.rollback()  # the owner decides: nothing it rolls back is announced
    assert await _outbox_types(db) == []
    async with db.sessions() as session, session.begin(), uows.joining(session, causation=cause) as uow:
        uow.add(account)
        account.charge(Decimal("2.00"))
    async with db.sessions() as session:
        row = (await session.execute(select(db.tables.outbox))).one()
    staged = EventEnvelope.from_bytes(row.payload)
    assert staged.causation_id == "cause-1" and staged.correlation_id == "corr-1"


class PracticeLess(EventPayload):
    event_type = "test.practice-less"
    topic = "test-topic"

    thing_id: str


async def test_an_event_without_a_practice_is_refused_and_nothing_commits(db: Database) -> None:
    uow = UnitOfWork(db, lambda event: [(PracticeLess(thing_id="t"), "t")], TableOutbox(db, "test"))
    with pytest.raises(ValueError, match="practice_id"):
        async with uow:
            account = Account("a", "p")
            account.charge(Decimal("1.00"))
            uow.add(account)
    assert await _outbox_types(db) == []


async def test_the_in_memory_unit_records_and_discards_on_rollback() -> None:
    uow = InMemoryUnitOfWork(announce)
    account = Account("acct-3", "practice-b")
    async with uow:
        account.charge(Decimal("3.00"))
        uow.add(account)
    with pytest.raises(KeyError):
        async with uow:
            account.charge(Decimal("4.00"))
            await uow.stage_events()
            raise KeyError("no")
    assert [p.balance for p in uow.outbox.payloads(PatientBalanceChangedV1)] == [Decimal("3.00")]
    assert (uow.commits, uow.rollbacks) == (1, 1)
