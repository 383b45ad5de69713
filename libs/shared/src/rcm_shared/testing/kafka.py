"""Test helpers that talk to the real broker: publish raw messages, read a topic, poll with a deadline."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from rcm_shared.contracts.envelope import EventEnvelope

T = TypeVar("T")


async def publish(bootstrap: str, topic: str, messages: list[tuple[bytes | None, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        for key, value in messages:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def publish_envelopes(bootstrap: str, topic: str, envelopes: list[EventEnvelope]) -> None:
    await publish(bootstrap, topic, [(e.subject.encode(), e.to_bytes()) for e in envelopes])


async def read_topic(bootstrap: str, topic: str, *, expect: int, timeout: float = 20.0
                     ) -> list[ConsumerRecord[bytes, bytes]]:
    """Read a topic from the beginning until ``expect`` records arrived (or the deadline passes)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"test-{uuid.uuid4().hex[:8]}",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        deadline = time.monotonic() + timeout
        while len(records) < expect and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for tp_records in batch.values():
                records.extend(tp_records)
    finally:
        await consumer.stop()
    return records


async def eventually(check: Callable[[], Awaitable[T | None]], *, timeout: float = 20.0,
                     interval: float = 0.1, what: str = "condition") -> T:
    """Poll until ``check`` returns something truthy: tests wait on outcomes, never on sleeps."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")
