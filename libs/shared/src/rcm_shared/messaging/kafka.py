"""aiokafka clients built from settings (PLAINTEXT for the embedded broker, SASL/TLS for production)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from rcm_shared.config import ServiceSettings


def _common(settings: ServiceSettings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(cafile=settings.kafka_ssl_cafile)
    if settings.kafka_sasl_mechanism:
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = (
            settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None
        )
    return options


def admin_options(settings: ServiceSettings) -> dict[str, Any]:
    """Connection options for an admin client (bootstrap servers, security)."""
    return _common(settings)


def make_log_reader(settings: ServiceSettings) -> AIOKafkaConsumer:
    """A consumer in no group, subscribed to nothing: asks partitions' beginning and end offsets."""
    return AIOKafkaConsumer(**_common(settings), group_id=None, enable_auto_commit=False,
                            client_id=f"{settings.service_name}-log-reader", request_timeout_ms=15000)


def make_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    # acks=all; no idempotent producer (the embedded broker lacks it, and it would not survive a restart
    # anyway): duplicates are absorbed by every consumer's inbox.
    return AIOKafkaProducer(
        **_common(settings),
        acks="all",
        enable_idempotence=False,
        linger_ms=5,
        max_batch_size=1024 * 1024,
        request_timeout_ms=15000,
        client_id=settings.service_name,
    )


def make_consumer(settings: ServiceSettings, group_id: str, topics: list[str],
                  listener: ConsumerRebalanceListener | None = None) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        **_common(settings),
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id=f"{settings.service_name}-{group_id}",
        max_poll_records=500,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=max(200, settings.kafka_session_timeout_ms // 4),
    )
    consumer.subscribe(topics=topics, listener=listener)
    return consumer


async def ensure_topics(settings: ServiceSettings, topics: list[str]) -> None:
    admin = AIOKafkaAdminClient(**_common(settings), request_timeout_ms=15000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [NewTopic(t, num_partitions=settings.kafka_topic_partitions,
                              replication_factor=settings.kafka_replication_factor) for t in missing]
                )
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()


_CLOSING: set[asyncio.Task[None]] = set()


async def stop_within(stopping: Awaitable[None], timeout: float = 15.0) -> None:
    """Stop a client, waiting at most ``timeout``: aiokafka's stop waits for its group coordinator, which can wait
    for a broker that is gone, and does not always give way to a cancellation. Past the timeout it goes on stopping
    in the background while the caller starts fresh clients."""
    async def quietly() -> None:
        try:
            await stopping
        except Exception:  # noqa: S110 - closing a broken client
            pass

    task = asyncio.ensure_future(quietly())
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)
    await asyncio.wait({task}, timeout=timeout)
