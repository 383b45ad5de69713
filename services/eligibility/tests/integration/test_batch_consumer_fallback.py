"""The batch consumer's two paths on one database (SQLite, no broker needed): a poll applied in one call, and a
poll whose batch fails applied again one by one, each event once (the inbox), none lost."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from eligibility.adapters.orm import metadata, platform
from eligibility.config import EligibilitySettings
from eligibility.entrypoints.consumers import BatchEventConsumer
from eligibility.service_layer.unit_of_work import EligibilityUnitOfWork, units_of_work
from rcm_shared.contracts import CodedService, VisitCompletedV1, envelope_for, topics
from rcm_shared.db.database import Database
from sqlalchemy import func, select

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(EligibilitySettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'elig.db'}"), metadata,
                        platform)
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield database
    await database.dispose()


def record(visit_id: str, offset: int) -> ConsumerRecord[bytes, bytes]:
    visit = VisitCompletedV1(visit_id=visit_id, practice_id="practice-a", patient_id="pt-1", billing_model="insurance",
                             payer_id="SBXHP", date_of_service=date(2026, 12, 1), rendering_npi="1234567893",
                             services=[CodedService(procedure_code="90837")])
    value = envelope_for(visit, source="claims", subject=visit_id, practice_id="practice-a").to_bytes()
    return ConsumerRecord(topics.VISIT_COMPLETED, 0, offset, 0, 0, visit_id.encode(), value, None, 0, len(value), [])


class Handler:
    """Records what it was handed; refuses batches of more than one when ``one_at_a_time``."""

    def __init__(self, one_at_a_time: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.one_at_a_time = one_at_a_time

    async def __call__(self, uow: EligibilityUnitOfWork, events: Sequence[Any]) -> None:
        if self.one_at_a_time and len(events) > 1:
            raise RuntimeError("a unique key another consumer took first")
        self.calls.append([e.visit_id for e in events])


def consumer(db: Database, handler: Handler) -> BatchEventConsumer:
    return BatchEventConsumer(EligibilitySettings(consumer_retry_base_seconds=0.01), db, units_of_work(db),
                              name="session-limits", topics=[topics.VISIT_COMPLETED],
                              handlers={VisitCompletedV1: handler})


async def inbox_rows(db: Database) -> int:
    async with db.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(platform.inbox))).scalar_one())


async def test_a_poll_goes_to_the_handler_in_one_call_and_a_redelivery_is_a_no_op(db: Database) -> None:
    handler = Handler()
    polled = [record(f"v-{n}", n) for n in range(5)]
    await consumer(db, handler).handle_records([*polled, polled[2]])
    assert handler.calls == [[f"v-{n}" for n in range(5)]]
    await consumer(db, handler).handle_records(polled)
    assert len(handler.calls) == 1, "the inbox already has every one of them"
    assert await inbox_rows(db) == 5


async def test_a_batch_that_fails_is_applied_one_by_one_each_event_once(db: Database) -> None:
    handler = Handler(one_at_a_time=True)
    await consumer(db, handler).handle_records([record(f"v-{n}", n) for n in range(4)])
    assert handler.calls == [["v-0"], ["v-1"], ["v-2"], ["v-3"]]
    assert await inbox_rows(db) == 4, "the failed batch's inbox rows rolled back with it"
