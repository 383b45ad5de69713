"""A tiny "claim status board" service built from the messaging kernel's parts alone, to test the kernel against
real PostgreSQL and the real broker: one table of its own (``applied_events``, no unique key, so an event applied
twice shows as two rows), an HTTP route that changes a claim's status and stages ``ClaimStatusChangedV1`` in the
same transaction, and a consumer (``Ledger``, with scripted transient and poison failures) that records every event
it applies. Used by ``libs/shared/tests/integration/test_messaging*.py``."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from fastapi import APIRouter, Request
from prometheus_client import REGISTRY
from pydantic import BaseModel
from sqlalchemy import Column, ColumnElement, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from rcm_shared.broker import EmbeddedBroker
from rcm_shared.config import ServiceSettings
from rcm_shared.contracts import ClaimStatusChangedV1, EventEnvelope, EventPayload, envelope_for
from rcm_shared.contracts.topics import dead_letter_topic
from rcm_shared.db.database import Database
from rcm_shared.db.platform_tables import AutoId, PlatformTables, add_platform_tables
from rcm_shared.db.types import UtcDateTime, service_metadata, utcnow
from rcm_shared.messaging import EventConsumer, stage_event
from rcm_shared.messaging.kafka import ensure_topics
from rcm_shared.service import ServiceRuntime, create_service_app
from rcm_shared.testing.databases import TestDatabases
from rcm_shared.testing.fixtures import running, settings_for

SOURCE = "claim-status-board"


class BoardSettings(ServiceSettings):
    service_name: str = SOURCE


def board_metadata() -> tuple[MetaData, PlatformTables, Table]:
    metadata = service_metadata()
    platform = add_platform_tables(metadata)
    # No unique constraint on event_id on purpose: a duplicate application must show up as a second row.
    applied = Table(
        "applied_events", metadata,
        Column("id", AutoId, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False),
        Column("claim_id", String(64), nullable=False),
        Column("status", String(40), nullable=False),
        Column("applied_at", UtcDateTime, nullable=False),
    )
    return metadata, platform, applied


METADATA, PLATFORM, APPLIED = board_metadata()


class StatusChange(BaseModel):
    practice_id: str
    previous_status: str
    status: str


router = APIRouter()


@router.post("/claims/{claim_id}/status", status_code=201)
async def change_status(claim_id: str, body: StatusChange, request: Request) -> dict[str, str]:
    db: Database = request.app.state.db
    async with db.transaction() as session:
        await session.execute(insert(APPLIED).values(event_id="local", claim_id=claim_id, status=body.status,
                                                     applied_at=utcnow()))
        envelope = await stage_event(
            session, PLATFORM,
            ClaimStatusChangedV1(claim_id=claim_id, practice_id=body.practice_id,
                                 previous_status=body.previous_status, status=body.status),
            source=SOURCE, subject=claim_id, practice_id=body.practice_id,
        )
        if body.status == "explode":  # the state change fails after the event was staged
            raise RuntimeError("state change failed after staging")
    return {"event_id": envelope.id}


@dataclass
class Ledger:
    """The consumer's handler, with scripted failures: per event id, how often to fail before succeeding."""

    practice_id: str
    transient: dict[str, int] = field(default_factory=dict)
    poison: set[str] = field(default_factory=set)
    calls: Counter[str] = field(default_factory=Counter)
    delay: float = 0.0
    on_call: Callable[[int], None] | None = None

    async def __call__(self, session: AsyncSession, envelope: EventEnvelope, payload: EventPayload) -> None:
        if envelope.practice_id != self.practice_id:
            return  # another test's event on a shared topic
        assert isinstance(payload, ClaimStatusChangedV1)
        self.calls[envelope.id] += 1
        if self.on_call is not None:
            self.on_call(sum(self.calls.values()))
        if self.delay:
            await asyncio.sleep(self.delay)
        await session.execute(insert(APPLIED).values(event_id=envelope.id, claim_id=payload.claim_id,
                                                     status=payload.status, applied_at=utcnow()))
        if envelope.id in self.poison:
            raise RuntimeError("ledger refuses this event")
        if self.calls[envelope.id] <= self.transient.get(envelope.id, 0):
            raise ConnectionError("transient failure")


@dataclass
class Board:
    settings: ServiceSettings
    db: Database
    runtime: ServiceRuntime
    consumer: EventConsumer | None

    @property
    def group_id(self) -> str:
        assert self.consumer is not None
        return self.consumer._group_id

    async def rows(self, *where: ColumnElement[bool]) -> list[tuple[str, str, str]]:
        async with self.db.sessions() as session:
            result = await session.execute(
                select(APPLIED.c.event_id, APPLIED.c.claim_id, APPLIED.c.status).where(*where)
                .order_by(APPLIED.c.id))
            return [(r[0], r[1], r[2]) for r in result.all()]

    async def count(self, table: Table, *where: ColumnElement[bool]) -> int:
        query = select(func.count()).select_from(table).where(*where)
        async with self.db.sessions() as session:
            return int((await session.execute(query)).scalar_one())


def consumed(board: Board, topic: str, outcome: str) -> int:
    """The consumer's own count of events by outcome (processed, duplicate, dead_lettered)."""
    value = REGISTRY.get_sample_value("rcm_events_consumed_total", {
        "service": board.settings.service_name, "consumer": board.group_id, "topic": topic, "outcome": outcome})
    return int(value or 0)


async def create_tables(settings: ServiceSettings) -> None:
    db = Database(settings, METADATA, PLATFORM)
    async with db.engine.begin() as conn:
        await conn.run_sync(METADATA.create_all)
    await db.dispose()


@dataclass
class BatchLedger:
    """The same ledger taking a poll at a time (``batch_handler``): records the size of every batch it was given."""

    ledger: Ledger
    batches: list[int] = field(default_factory=list)

    async def __call__(self, session: AsyncSession, items: Sequence[tuple[EventEnvelope, EventPayload]]) -> None:
        self.batches.append(len(items))
        for envelope, payload in items:
            await self.ledger(session, envelope, payload)


def build_board(settings: ServiceSettings, *, topic: str | None = None, ledger: Ledger | None = None,
                consumer_class: type[EventConsumer] = EventConsumer, batch: BatchLedger | None = None) -> Board:
    db = Database(settings, METADATA, PLATFORM)
    consumer = None
    if topic is not None and batch is not None:
        consumer = consumer_class(settings, db.sessions, PLATFORM, name="ledger", topics=[topic], batch_handler=batch)
    elif topic is not None and ledger is not None:
        consumer = consumer_class(settings, db.sessions, PLATFORM, name="ledger", topics=[topic], handler=ledger)
    runtime = ServiceRuntime(settings, db, Path("unused-migrations"), consumers=[consumer] if consumer else [])
    return Board(settings, db, runtime, consumer)


@asynccontextmanager
async def serving(board: Board) -> AsyncIterator[object]:
    app = create_service_app(board.settings, board.runtime, title="Claim status board", description="kernel test",
                             routers=[router], migrate_on_start=False)
    async with running(app) as client:
        yield client


async def fresh_settings(databases: TestDatabases, broker: EmbeddedBroker, name: str) -> ServiceSettings:
    settings = settings_for(BoardSettings, databases.create(name), broker)
    await create_tables(settings)
    return settings


async def collect(bootstrap: str, topic: str, match: Callable[[ConsumerRecord[bytes, bytes]], bool],
                  enough: Callable[[list[ConsumerRecord[bytes, bytes]]], bool], *, seconds: float = 20.0
                  ) -> list[ConsumerRecord[bytes, bytes]]:
    """Read ``topic`` from the start, keeping matching records, until ``enough`` says so (or fail)."""
    # No consumer group: a group join costs seconds on the embedded broker, and the probe commits nothing.
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            records.extend(r for tp_records in batch.values() for r in tp_records if match(r))
            if enough(records):
                return records
    finally:
        await consumer.stop()
    raise AssertionError(f"timed out reading {topic}: {len(records)} matching records")


def status_event(practice_id: str, claim_id: str, status: str, previous: str = "submitted") -> EventEnvelope:
    payload = ClaimStatusChangedV1(claim_id=claim_id, practice_id=practice_id, previous_status=previous,
                                   status=status)
    return envelope_for(payload, source="claims", subject=claim_id, practice_id=practice_id)


async def consumer_topic(settings: ServiceSettings) -> str:
    topic = f"kernel-test-{uuid.uuid4().hex[:8]}"
    await ensure_topics(settings, [topic, dead_letter_topic(topic)])
    return topic
