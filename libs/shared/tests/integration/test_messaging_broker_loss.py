"""The messaging kernel when the broker comes back without its log (a restarted embedded broker, a topic created
again on Kafka): consumers read again from the earliest offset and the inbox drops what was applied; published
outbox rows are kept for the retention window, then pruned. Against real PostgreSQL and the real broker, with the
"claim status board" of ``rcm_shared.testing.status_board``.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import REGISTRY
from rcm_shared.broker import EmbeddedBroker, free_port
from rcm_shared.config import ServiceSettings
from rcm_shared.contracts.topics import dead_letter_topic
from rcm_shared.db.types import utcnow
from rcm_shared.messaging.kafka import ensure_topics
from rcm_shared.testing.databases import TestDatabases
from rcm_shared.testing.fixtures import settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes
from rcm_shared.testing.status_board import (
    APPLIED,
    PLATFORM,
    Board,
    BoardSettings,
    Ledger,
    build_board,
    consumer_topic,
    create_tables,
    serving,
    status_event,
)
from sqlalchemy import insert, select

pytestmark = pytest.mark.integration


def rewinds(board: Board, reason: str) -> int:
    value = REGISTRY.get_sample_value("rcm_consumer_rewinds_total", {
        "service": board.settings.service_name, "consumer": board.group_id, "reason": reason})
    return int(value or 0)


async def watchful_settings(databases: TestDatabases, broker: EmbeddedBroker, name: str) -> ServiceSettings:
    settings = settings_for(BoardSettings, databases.create(name), broker, kafka_log_check_seconds=0.3)
    await create_tables(settings)
    return settings


async def test_a_consumer_reads_again_from_the_start_when_the_broker_comes_back_empty(
    broker: EmbeddedBroker, databases: TestDatabases
) -> None:
    port = free_port()
    own_broker = await asyncio.to_thread(EmbeddedBroker.start, port)
    replacement: EmbeddedBroker | None = None
    settings = await watchful_settings(databases, own_broker, "restart")
    topic = await consumer_topic(settings)
    practice = f"practice-{uuid.uuid4().hex[:8]}"
    board = build_board(settings, topic=topic, ledger=Ledger(practice))
    # One key: one partition, whose position (8) is past the end of the new log for its first events.
    before = [status_event(practice, "claim-r", f"before-{n}") for n in range(8)]
    after = [status_event(practice, "claim-r", f"after-{n}") for n in range(12)]
    try:
        async with serving(board):
            await publish_envelopes(own_broker.bootstrap, topic, before)
            await eventually(lambda: board.rows(APPLIED.c.event_id == before[-1].id), what="first events applied")
            own_broker.process.kill()  # kill -9: nothing is said to anyone
            await asyncio.to_thread(own_broker.process.wait)
            replacement = await asyncio.to_thread(EmbeddedBroker.start, port)
            await ensure_topics(settings, [topic, dead_letter_topic(topic)])
            await publish_envelopes(replacement.bootstrap, topic, after)
            await eventually(lambda: board.rows(APPLIED.c.event_id == after[-1].id), timeout=30,
                             what="the events on the new broker applied")
            applied = [row[0] for row in await board.rows(APPLIED.c.event_id.in_([e.id for e in after]))]
    finally:
        for started in (own_broker, replacement):
            if started is not None and started.is_running():
                await asyncio.to_thread(started.stop, 1.0)
    assert applied == [e.id for e in after], "every event of the new log, once, in order: none skipped"
    assert rewinds(board, "cluster_changed") >= 1


async def test_a_committed_offset_past_the_end_of_a_recreated_topic_is_read_from_the_earliest_offset(
    broker: EmbeddedBroker, databases: TestDatabases
) -> None:
    settings = await watchful_settings(databases, broker, "recreated")
    topic = await consumer_topic(settings)
    practice = f"practice-{uuid.uuid4().hex[:8]}"
    board = build_board(settings, topic=topic, ledger=Ledger(practice))
    old = [status_event(practice, "claim-t", f"old-{n}") for n in range(10)]
    new = [status_event(practice, "claim-t", f"new-{n}") for n in range(3)]
    async with serving(board):
        await publish_envelopes(broker.bootstrap, topic, old)
        await eventually(lambda: board.rows(APPLIED.c.event_id == old[-1].id), what="the old topic's events applied")
        # The topic is deleted and created again (an operator's reset): the same name, offsets from 0 again.
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
        await admin.start()
        try:
            await admin.delete_topics([topic])
        finally:
            await admin.close()
        await ensure_topics(settings, [topic])
        await publish_envelopes(broker.bootstrap, topic, new)
        await eventually(lambda: board.rows(APPLIED.c.event_id == new[-1].id), timeout=30,
                         what="the re-created topic's events applied")
        applied = [row[0] for row in await board.rows(APPLIED.c.event_id.in_([e.id for e in new]))]
    assert applied == [e.id for e in new]
    assert rewinds(board, "position_past_end") >= 1


async def test_published_rows_are_kept_for_the_retention_window_then_pruned(
    broker: EmbeddedBroker, databases: TestDatabases
) -> None:
    settings = settings_for(BoardSettings, databases.create("prune"), broker, outbox_retention_seconds=3600)
    await create_tables(settings)
    board = build_board(settings)
    outbox = PLATFORM.outbox
    now = utcnow()

    def row(n: int, published_at: object) -> dict[str, object]:
        return dict(event_id=str(uuid.uuid4()), topic="t", message_key=f"k{n}", event_type="x", payload=b"{}",
                    headers={}, created_at=now, published_at=published_at, attempts=1, published_to="rcm-old")

    async with board.db.transaction() as session:
        await session.execute(insert(outbox), [
            row(1, now - timedelta(hours=2)), row(2, now - timedelta(hours=1, minutes=1)),  # past the window
            row(3, now - timedelta(minutes=59)), row(4, now),  # within it: kept, for a replay
            {**row(5, None), "created_at": now - timedelta(days=3)},  # never published: never pruned
        ])
    assert await board.runtime.relay.prune() == 2
    async with board.db.sessions() as session:
        kept = sorted((await session.scalars(select(outbox.c.message_key))).all())
    assert kept == ["k3", "k4", "k5"]
    await board.db.dispose()
