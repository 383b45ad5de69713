"""Drill: every topic replayed three times leaves every service's state as it was.

The platform runs a flow (visits to claims, 837P out, the payer's 835 back, postings, patient balances) as
separate processes on PostgreSQL and the embedded broker. Then every message on every topic is published again,
three times over, with the same key, value and headers (what a producer retry storm, an outbox replay after a
broker restart or an operator's re-drive looks like to a consumer). Each service's consumers must drop what they
already applied (the inbox), so the hash of every business table in every service is the same before and after.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from rcm_cli import platform as embedded
from rcm_cli.demo import demo
from rcm_shared.broker import EmbeddedBroker, free_port
from rcm_shared.contracts.topics import ALL_TOPICS
from rcm_shared.testing.databases import TestDatabases
from rcm_shared.testing.fixtures import ISSUER_URL_ENV

pytestmark = pytest.mark.e2e

FULL = os.environ.get("RCM_DRILL_SCALE", "small") == "full"
REPLAYS = 3
# Each service's plumbing, not its state: the inbox and outbox move by design (a replayed event may be noted as
# seen), the audit log and idempotency keys record requests.
PLUMBING = {"alembic_version", "outbox", "inbox", "audit_log", "idempotency_keys"}
_CONSUMED = re.compile(r'^rcm_events_consumed_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$', re.M)


@pytest.fixture
def running_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[embedded.RunningPlatform]:
    dbs = TestDatabases()
    broker = EmbeddedBroker.start(log_path=tmp_path / "broker.log")
    ports = {name: free_port() for name in embedded.SERVICES}
    urls = {name: dbs.create(name) for name in embedded.SERVICES}
    monkeypatch.setenv("RCM_VAR_DIR", str(tmp_path))
    started = embedded.start_platform(tmp_path, ports=ports, database_urls=urls, broker=broker)
    monkeypatch.setenv(ISSUER_URL_ENV, started.issuer_url)
    try:
        yield started
    finally:
        started.stop()
        dbs.drop_all()


async def state_hashes(database_urls: dict[str, str]) -> dict[str, dict[str, str]]:
    """Per service, per business table: a hash of its rows in a stable order."""
    out: dict[str, dict[str, str]] = {}
    for service, url in database_urls.items():
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            tables = [r["tablename"] for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
            hashes = {}
            for table in tables:
                if table in PLUMBING:
                    continue
                rows = await conn.fetch(f'SELECT * FROM "{table}"')
                digest = hashlib.sha256()
                for line in sorted(repr(tuple(r.values())) for r in rows):
                    digest.update(line.encode())
                hashes[table] = f"{len(rows)}:{digest.hexdigest()[:16]}"
            out[service] = hashes
        finally:
            await conn.close()
    return out


def consumed(urls: dict[str, str]) -> dict[tuple[str, str, str], float]:
    """Events each consumer has handled, by (service, consumer group, topic), every outcome counted."""
    totals: dict[tuple[str, str, str], float] = defaultdict(float)
    for service, url in urls.items():
        if service not in embedded.SERVICES:
            continue
        text = httpx.get(f"{url}/metrics", timeout=10).text
        for match in _CONSUMED.finditer(text):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
            totals[(service, labels["consumer"], labels["topic"])] += float(match["value"])
    return totals


async def replay_every_topic(bootstrap: str, times: int) -> dict[str, int]:
    """Publish every message of every topic again ``times`` times; how many messages each topic held."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False, linger_ms=5)
    await reader.start()
    await producer.start()
    held: dict[str, int] = {}
    try:
        await reader.topics()  # the cluster's metadata: every topic and its partitions (read before assigning:
        partitions_of = {t: reader.partitions_for_topic(t) or set() for t in ALL_TOPICS}  # that narrows it)
        for topic in ALL_TOPICS:
            partitions = partitions_of[topic]
            tps = [TopicPartition(topic, p) for p in sorted(partitions)]
            if not tps:
                held[topic] = 0
                continue
            reader.assign(tps)
            await reader.seek_to_beginning(*tps)
            ends = await reader.end_offsets(tps)
            records: list[ConsumerRecord[bytes, bytes]] = []
            pending = {tp for tp in tps if ends[tp] > 0}
            while pending:
                batch = await reader.getmany(*pending, timeout_ms=500)
                for tp, got in batch.items():
                    records.extend(r for r in got if r.offset < ends[tp])
                    if got and got[-1].offset >= ends[tp] - 1:
                        pending.discard(tp)
            held[topic] = len(records)
            for _ in range(times):
                for record in records:
                    await producer.send(topic, record.value, key=record.key, partition=record.partition,
                                        headers=list(record.headers))
                await producer.flush()
    finally:
        await producer.stop()
        await reader.stop()
    return held


def test_every_topic_replayed_three_times_changes_no_state(running_platform: embedded.RunningPlatform) -> None:
    visits = 40 if FULL else 10
    demo(visits=visits, seed=11)
    urls = running_platform.urls()
    dbs = running_platform.database_urls

    # Settled first: the same hashes twice, a few seconds apart (nothing still in flight).
    before = asyncio.run(state_hashes(dbs))
    deadline = time.monotonic() + 60
    while True:
        time.sleep(3)
        again = asyncio.run(state_hashes(dbs))
        if again == before or time.monotonic() > deadline:
            break
        before = again
    assert again == before, "the platform never settled after the demo"

    counts_before = consumed(urls)
    held = asyncio.run(replay_every_topic(running_platform.broker.bootstrap, REPLAYS))
    replayed = sum(held.values()) * REPLAYS
    assert replayed > 0

    # Wait until every consumer has handled its topics' replayed messages (counted as duplicates, or processed).
    expected = {key: n + REPLAYS * held.get(key[2], 0) for key, n in counts_before.items() if key[2] in held}
    deadline = time.monotonic() + (240 if FULL else 120)
    behind: dict[tuple[str, str, str], float] = {}
    while time.monotonic() < deadline:
        now = consumed(urls)
        behind = {k: want - now.get(k, 0.0) for k, want in expected.items() if now.get(k, 0.0) < want}
        if not behind:
            break
        time.sleep(1)
    assert not behind, f"consumers never caught up with the replay: {behind}"

    after = asyncio.run(state_hashes(dbs))
    changed = {(svc, table): (before[svc].get(table), digest) for svc, tables in after.items()
               for table, digest in tables.items() if before[svc].get(table) != digest}
    print(f"DRILL topic-replay: visits={visits} topics={sum(1 for n in held.values() if n)} "
          f"messages={sum(held.values())} replayed={replayed} consumers={len(expected)} "
          f"tables={sum(len(t) for t in after.values())} changed={len(changed)}")
    assert not changed, f"replaying changed state: {changed}"
