"""Bulk writes in the caller's transaction: ``insert_many`` (COPY on PostgreSQL, executemany on SQLite) and
``stage_events`` (the outbox rows ``stage_event`` would write, in order, in one go)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from rcm_shared.contracts import ClaimStatusChangedV1, EventEnvelope, envelope_for
from rcm_shared.db.bulk import insert_many
from rcm_shared.db.engine import create_engine, session_factory
from rcm_shared.db.platform_tables import AutoId, add_platform_tables
from rcm_shared.db.types import Cents, UtcDateTime, new_ids, service_metadata
from rcm_shared.messaging import stage_event, stage_events
from sqlalchemy import JSON, Column, String, Table, select
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

pytestmark = pytest.mark.integration

METADATA = service_metadata()
PLATFORM = add_platform_tables(METADATA)
LINES = Table(
    "ledger_lines", METADATA,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("entry_id", String(36), nullable=False),
    Column("amount", Cents, nullable=False),
    Column("memo", String(40), nullable=True),
    Column("detail", JSON, nullable=False),
    Column("at", UtcDateTime, nullable=False),
)


@asynccontextmanager
async def sessions_on(url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(METADATA.create_all)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


def rows(count: int) -> list[dict[str, object]]:
    at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    return [{"entry_id": f"e-{n:05d}", "amount": Decimal(n) / 100, "memo": None if n % 2 else "even",
             "detail": {"n": n, "codes": ["CO-45"]}, "at": at} for n in range(count)]


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request: pytest.FixtureRequest, databases, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    return databases.create("bulk") if request.param == "postgresql" else f"sqlite+aiosqlite:///{tmp_path}/bulk.db"


async def test_insert_many_writes_what_an_insert_would_in_row_order(database_url: str) -> None:
    async with sessions_on(database_url) as sessions:
        async with sessions() as session, session.begin():
            await session.execute(select(1))
            await insert_many(session, LINES, rows(2500))
        async with sessions() as session:
            stored = (await session.execute(select(LINES).order_by(LINES.c.id))).all()
        assert [(r.entry_id, r.amount, r.memo, r.detail, r.at) for r in stored] == [
            (r["entry_id"], Decimal(str(r["amount"])).quantize(Decimal("0.01")), r["memo"], r["detail"], r["at"])
            for r in rows(2500)]
        assert [r.id for r in stored] == sorted(r.id for r in stored), "identity ids follow the row order"


async def test_insert_many_keeps_the_column_guards_and_the_transaction(database_url: str) -> None:
    async with sessions_on(database_url) as sessions:
        with pytest.raises((TypeError, StatementError), match="never float"):  # SQLAlchemy wraps it on SQLite
            async with sessions() as session, session.begin():
                await session.execute(select(1))
                await insert_many(session, LINES, [{**rows(1)[0], "amount": 1.5}])
        with pytest.raises(RuntimeError):
            async with sessions() as session, session.begin():
                await session.execute(select(1))
                await insert_many(session, LINES, rows(10))
                raise RuntimeError("the transaction fails after the bulk write")
        async with sessions() as session:
            assert (await session.execute(select(LINES))).all() == [], "rolled back with everything else"


async def test_stage_events_writes_the_rows_stage_event_writes_in_order(database_url: str) -> None:
    cause = envelope_for(ClaimStatusChangedV1(claim_id="c-0", practice_id="p-1", previous_status="draft",
                                              status="submitted"), source="test", subject="c-0", practice_id="p-1")
    payloads = [(ClaimStatusChangedV1(claim_id=f"c-{n}", practice_id="p-1", previous_status="submitted",
                                      status="paid"), f"c-{n}") for n in range(1200)]
    async with sessions_on(database_url) as sessions:
        async with sessions() as session, session.begin():
            await session.execute(select(1))
            single = await stage_event(session, PLATFORM, payloads[0][0], source="test", subject="c-0",
                                       practice_id="p-1", causation=cause)
            many = await stage_events(session, PLATFORM, payloads, source="test", practice_id="p-1",
                                      causation=cause, chunk=500)
        async with sessions() as session:
            stored = (await session.execute(select(PLATFORM.outbox).order_by(PLATFORM.outbox.c.id))).all()
    assert len(stored) == 1201 and len(many) == 1200
    first, rest = stored[0], stored[1:]
    assert [r.message_key for r in rest] == [subject for _p, subject in payloads], "in the order given"
    assert [r.event_id for r in rest] == many
    for row in (first, rest[0]):
        assert (row.topic, row.event_type, row.attempts, row.published_at) == (
            first.topic, first.event_type, 0, None)
        assert row.headers == first.headers
    reference = EventEnvelope.from_bytes(first.payload)
    for row, (payload, subject) in zip(rest, payloads, strict=True):
        decoded = EventEnvelope.from_bytes(row.payload)
        assert decoded.to_bytes() == row.payload, "byte for byte what EventEnvelope itself writes"
        assert (decoded.id, decoded.subject, decoded.data) == (row.event_id, subject, payload.model_dump(mode="json"))
        assert decoded.model_dump(exclude={"id", "time", "subject", "data"}) == reference.model_dump(
            exclude={"id", "time", "subject", "data"}), "stage_event's envelope, causation and correlation included"
    assert single.causation_id == reference.causation_id == cause.id


def test_new_ids_are_distinct_version_4_uuids() -> None:
    ids = new_ids(5000)
    assert len(set(ids)) == 5000
    for text in ids[:200]:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == text
