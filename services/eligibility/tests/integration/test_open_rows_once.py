"""Re-checks and work items on real PostgreSQL: consumers on different partitions (or two replicas) queueing the
same member at the same moment make one open re-check and one open work item, never two, and neither transaction
fails; the dates they carry are the practice's, not UTC's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from eligibility.adapters.orm import metadata, platform, recheck_requests, snapshots, work_items
from eligibility.bootstrap import MIGRATIONS
from eligibility.config import EligibilitySettings
from eligibility.domain.commands import ResolveWorkItem
from eligibility.domain.model import RecheckReason, RecheckStatus, WorkItemStatus
from eligibility.domain.work_queue import Attention, WorkItemKind
from eligibility.service_layer import rechecks, work_queue
from eligibility.service_layer.unit_of_work import EligibilityUnitOfWork, units_of_work
from rcm_shared.contracts import DenialRaisedV1
from rcm_shared.db.database import Database
from rcm_shared.db.migrations import upgrade_to_head
from sqlalchemy import insert, select

from .conftest import RULES

pytestmark = pytest.mark.integration
RACERS = 5
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
async def db(databases: Any) -> AsyncIterator[Database]:
    database = Database(EligibilitySettings(database_url=databases.create("elig-race")), metadata, platform)
    await upgrade_to_head(database.engine, MIGRATIONS)
    yield database
    await database.dispose()


async def race(db: Database, write: Callable[[EligibilityUnitOfWork], Awaitable[Any]]) -> list[Any]:
    """Each racer writes in its own unit of work and holds it open a moment, so every racer has looked for an
    open row (and found none committed) before the first one commits."""
    uows = units_of_work(db)

    async def one() -> Any:
        async with uows() as uow:
            result = await write(uow)
            await asyncio.sleep(0.3)
            return result

    return list(await asyncio.gather(*(one() for _ in range(RACERS))))


async def test_concurrent_enqueues_of_one_member_queue_one_recheck(db: Database) -> None:
    queued = await race(db, lambda uow: rechecks.enqueue_recheck(
        uow, RULES, practice_id="practice-a", patient_id="pt-1", payer_id="SBXHP",
        reason=RecheckReason.ELIGIBILITY_DENIAL, service_date=date(2026, 3, 2), now=NOW))
    async with db.sessions() as session:
        open_rows = (await session.execute(select(recheck_requests.c.request_id).where(
            recheck_requests.c.patient_id == "pt-1",
            recheck_requests.c.status.in_((RecheckStatus.PENDING, RecheckStatus.SENDING))))).scalars().all()
    assert len(open_rows) == 1
    assert [q for q in queued if q is not None] == list(open_rows)


async def test_concurrent_work_items_of_one_member_are_one_item_counting_occurrences(db: Database) -> None:
    attention = Attention(WorkItemKind.NO_INSURANCE_ON_FILE, "check_coverage", detail="no member details")
    raised = await race(db, lambda uow: work_queue.raise_work_item(
        uow, practice_id="practice-a", patient_id="pt-1", payer_id="SBXHP", attention=attention,
        service_date=date(2026, 3, 2), now=NOW))
    async with db.sessions() as session:
        rows = (await session.execute(select(work_items.c.item_id, work_items.c.occurrences).where(
            work_items.c.patient_id == "pt-1", work_items.c.status == WorkItemStatus.OPEN))).all()
    assert len(rows) == 1
    assert rows[0].occurrences == RACERS
    assert set(raised) == {rows[0].item_id}


async def test_a_resolved_item_does_not_block_a_new_one(db: Database) -> None:
    attention = Attention(WorkItemKind.NO_INSURANCE_ON_FILE, "check_coverage", detail="no member details")
    uows = units_of_work(db)
    async with uows() as uow:
        first = await work_queue.raise_work_item(uow, practice_id="practice-a", patient_id="pt-2",
                                                 payer_id="SBXHP", attention=attention, service_date=None, now=NOW)
    await work_queue.resolve_work_item(uows, ResolveWorkItem("practice-a", first, "front-desk"), now=NOW)
    async with uows() as uow:
        second = await work_queue.raise_work_item(uow, practice_id="practice-a", patient_id="pt-2",
                                                  payer_id="SBXHP", attention=attention, service_date=None, now=NOW)
    assert second != first


def denial(patient_id: str) -> DenialRaisedV1:
    return DenialRaisedV1(denial_id="d-1", claim_id="c-1", practice_id="practice-a", patient_id=patient_id,
                          payer_id="SBXHP", era_id="e-1", category="eligibility", reason_codes=["27"],
                          amount=Decimal("120.00"), suggested_action="recheck_eligibility", queue="eligibility")


async def test_a_denial_late_in_the_practices_evening_is_noted_on_the_practices_date(db: Database) -> None:
    # 02:30 UTC on 3 March is 21:30 on 2 March in New York (the practice's time zone in the rules).
    evening = datetime(2026, 3, 3, 2, 30, tzinfo=UTC)
    async with db.transaction() as session:
        await session.execute(insert(snapshots).values(
            practice_id="practice-a", patient_id="pt-3", payer_id="SBXHP", check_id="chk-1", active=True,
            checked_on=date(2026, 2, 1), snapshot={}, updated_at=evening))
    async with units_of_work(db)() as uow:
        await rechecks.note_eligibility_denials(uow, [denial("pt-3")], RULES, now=evening)
    async with db.sessions() as session:
        noted = (await session.execute(select(snapshots.c.last_eligibility_denial_on).where(
            snapshots.c.patient_id == "pt-3"))).scalar_one()
        item = (await session.execute(select(work_items.c.service_date).where(
            work_items.c.patient_id == "pt-3"))).scalar_one()
    assert noted == date(2026, 3, 2)
    assert item == date(2026, 3, 2)  # no member details on file: a person checks coverage for that day
