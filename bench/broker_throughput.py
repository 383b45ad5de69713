"""Raw broker throughput: aiokafka producing and consuming 1 KB messages on a fresh embedded Tansu broker.

The numbers bound what any service can do through the broker on this machine: the platform's events are
smaller than 1 KB, and each service publishes from one outbox relay and reads with one consumer per group.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from rcm_shared.broker import EmbeddedBroker

TOPIC = "bench.raw"


@dataclass(frozen=True)
class BrokerResult:
    messages: int
    message_bytes: int
    partitions: int
    produce_seconds: float
    consume_seconds: float

    @property
    def produce_rate(self) -> float:
        return self.messages / self.produce_seconds

    @property
    def consume_rate(self) -> float:
        return self.messages / self.consume_seconds

    def mb_per_s(self, seconds: float) -> float:
        return self.messages * self.message_bytes / seconds / 1e6


async def _create_topic(bootstrap: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()


async def _produce(bootstrap: str, messages: int, size: int) -> float:
    # Batching as the outbox relay would like it: many sends in flight, one batch per partition per linger.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False,
                                linger_ms=5, max_batch_size=256 * 1024, max_request_size=4 * 1024 * 1024)
    await producer.start()
    payload = b"x" * size
    try:
        started = time.perf_counter()
        window = 2000  # futures in flight: bounded so memory stays flat
        pending: list[asyncio.Future[object]] = []
        for i in range(messages):
            pending.append(await producer.send(TOPIC, payload, key=str(i % 64).encode()))
            if len(pending) >= window:
                await asyncio.gather(*pending)
                pending.clear()
        await producer.flush()
        if pending:
            await asyncio.gather(*pending)
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def _consume(bootstrap: str, messages: int, timeout: float) -> float:
    consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=bootstrap, group_id=f"bench-{uuid.uuid4().hex[:8]}",
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                max_partition_fetch_bytes=4 * 1024 * 1024, fetch_max_bytes=16 * 1024 * 1024)
    await consumer.start()
    try:
        seen = 0
        started = None
        deadline = time.monotonic() + timeout
        while seen < messages and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500, max_records=10_000)
            if batch and started is None:
                started = time.perf_counter()  # from the first fetch: group join is not throughput
            seen += sum(len(records) for records in batch.values())
        if seen < messages:
            raise RuntimeError(f"consumed {seen} of {messages} messages before the deadline")
        assert started is not None
        return time.perf_counter() - started
    finally:
        await consumer.stop()


async def _run(bootstrap: str, messages: int, size: int, partitions: int, timeout: float) -> BrokerResult:
    await _create_topic(bootstrap, partitions)
    produced = await _produce(bootstrap, messages, size)
    consumed = await _consume(bootstrap, messages, timeout)
    return BrokerResult(messages, size, partitions, produced, consumed)


def measure(messages: int = 50_000, size: int = 1024, partitions: int = 4, log_dir: Path | None = None,
            timeout: float = 90.0) -> BrokerResult:
    """Start a fresh broker, produce then consume ``messages`` records, stop the broker (even on error)."""
    broker = EmbeddedBroker.start(log_path=log_dir / "broker-raw.log" if log_dir else None)
    try:
        return asyncio.run(asyncio.wait_for(_run(broker.bootstrap, messages, size, partitions, timeout),
                                            timeout * 2))
    finally:
        broker.stop()


if __name__ == "__main__":
    r = measure()
    print(f"produce {r.produce_rate:,.0f} msg/s in {r.produce_seconds:.2f} s; "
          f"consume {r.consume_rate:,.0f} msg/s in {r.consume_seconds:.2f} s")
