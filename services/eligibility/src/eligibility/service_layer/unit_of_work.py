"""Eligibility's unit of work: one transaction, the repositories on it, and the outbox its aggregates' events go to
(through ``adapters.event_mapper``). ``async with uows() as uow`` in routes and jobs; ``uows.joining(session,
causation=envelope)`` inside a consumer's poll. ``before_commit(write)`` adds a write the caller wants in the same
transaction (a route's audit row) without the use case knowing about it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rcm_shared.contracts import EventEnvelope
from rcm_shared.db.database import Database
from rcm_shared.unit_of_work import EventMapper, Outbox, TableOutbox, UnitOfWork, UnitOfWorkFactory
from sqlalchemy.ext.asyncio import AsyncSession

from eligibility.adapters.event_mapper import announce
from eligibility.adapters.repository import (
    BatchRunRepository,
    BenefitsRepository,
    ControlNumberRepository,
    CoverageCheckRepository,
    InsuranceRepository,
    RecheckRepository,
    ScheduleRepository,
    SessionLimitRepository,
    WorkItemRepository,
)

SOURCE = "eligibility"


class EligibilityUnitOfWork(UnitOfWork):
    checks: CoverageCheckRepository
    benefits: BenefitsRepository
    insurance: InsuranceRepository
    schedule: ScheduleRepository
    session_limits: SessionLimitRepository
    rechecks: RecheckRepository
    work_items: WorkItemRepository
    batch_runs: BatchRunRepository
    control_numbers: ControlNumberRepository

    def __init__(self, db: Database | None, mapper: EventMapper = announce, outbox: Outbox | None = None, *,
                 session: AsyncSession | None = None, causation: EventEnvelope | None = None) -> None:
        # (db, mapper, outbox) as the kernel's: rcm_shared.testing.fakes.InMemoryUnitOfWork builds on this class
        if outbox is None:
            assert db is not None, "a unit of work on the database stages into its outbox table"
            outbox = TableOutbox(db, SOURCE)
        self._before_commit: list[Callable[[AsyncSession], Awaitable[Any]]] = []
        super().__init__(db, mapper, outbox, session=session, causation=causation)

    def before_commit(self, write: Callable[[AsyncSession], Awaitable[Any]]) -> None:
        self._before_commit.append(write)

    async def stage_events(self) -> int:
        staged = await super().stage_events()
        writes, self._before_commit = self._before_commit, []
        for write in writes:
            await write(self.session)
        return staged

    def bind(self, session: AsyncSession) -> None:
        self.checks = CoverageCheckRepository(session)
        self.benefits = BenefitsRepository(session)
        self.insurance = InsuranceRepository(session)
        self.schedule = ScheduleRepository(session)
        self.session_limits = SessionLimitRepository(session)
        self.rechecks = RecheckRepository(session)
        self.work_items = WorkItemRepository(session)
        self.batch_runs = BatchRunRepository(session)
        self.control_numbers = ControlNumberRepository(session)


UnitsOfWork = UnitOfWorkFactory[EligibilityUnitOfWork]


def units_of_work(db: Database) -> UnitsOfWork:
    return UnitOfWorkFactory(EligibilityUnitOfWork, db)
