"""Raw broker throughput: aiokafka producing and consuming 1 KB messages on a fresh embedded Tansu broker.

The clients are the platform's own (``rcm_shared.messaging.kafka.make_producer`` / ``make_consumer``: acks=all,
linger 5 ms, 1 MiB batches; polls of up to 500 records), so the numbers bound what one outbox relay and one
consumer group can move through the broker on this machine. The platform's events are smaller than 1 KB.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from rcm_shared.broker import EmbeddedBroker
from rcm_shared.config import ServiceSettings
from rcm_shared.messaging.kafka import make_consumer, make_producer

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


def _settings(bootstrap: str) -> ServiceSettings:
    return ServiceSettings(service_name="bench", kafka_bootstrap_servers=bootstrap)


async def _produce(bootstrap: str, messages: int, size: int) -> float:
    # Many sends in flight, as the relay publishes a claimed outbox batch: one batch per partition per linger.
    producer = make_producer(_settings(bootstrap))
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
    consumer = make_consumer(_settings(bootstrap), f"bench-{uuid.uuid4().hex[:8]}", [TOPIC])
    await consumer.start()
    try:
        seen = 0
        started = None
        deadline = time.monotonic() + timeout
        while seen < messages and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)  # the services' poll: up to 500 records
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
