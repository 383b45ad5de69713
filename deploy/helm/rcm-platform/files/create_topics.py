"""Create the platform's Kafka topics (and their dead-letter twins) before the services start.

The Helm topic-init Job runs this with a service image's interpreter (aiokafka and rcm_shared are there):

    python create_topics.py --min-insync-replicas 2 visit-completed visit-completed.dlq ...

Connection, partition count and replication factor come from the RCM_* variables the services read
(RCM_KAFKA_BOOTSTRAP_SERVERS, RCM_KAFKA_SECURITY_PROTOCOL, RCM_KAFKA_SASL_*, RCM_KAFKA_TOPIC_PARTITIONS,
RCM_KAFKA_REPLICATION_FACTOR). For SSL / SASL_SSL the CA bundle is KAFKA_SSL_CAFILE (system CAs otherwise).
Topics that already exist are reported and left alone: this job never alters or deletes a topic, so an
operator's later changes (more partitions, retention) survive upgrades.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.helpers import create_ssl_context
from rcm_shared.config import ServiceSettings

TOPIC_ALREADY_EXISTS = 36
ATTEMPTS = 30


def admin_options(settings: ServiceSettings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
        "request_timeout_ms": 30000,
        "client_id": "rcm-topic-init",
    }
    if settings.kafka_security_protocol in {"SSL", "SASL_SSL"}:
        options["ssl_context"] = create_ssl_context(cafile=os.environ.get("KAFKA_SSL_CAFILE"))
    if settings.kafka_sasl_mechanism:
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = (
            settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None
        )
    return options


async def create_topics(settings: ServiceSettings, topics: list[str], min_insync_replicas: int) -> list[str]:
    """Create the missing topics; returns their names. Raises on any broker error but 'already exists'."""
    admin = AIOKafkaAdminClient(**admin_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        for topic in sorted(set(topics) & existing):
            print(f"exists: {topic}")
        if not missing:
            return []
        response = await admin.create_topics([
            NewTopic(t, num_partitions=settings.kafka_topic_partitions,
                     replication_factor=settings.kafka_replication_factor,
                     topic_configs={"min.insync.replicas": str(min_insync_replicas)})
            for t in missing
        ])
        failures = []
        for error in response.to_object().get("topic_errors", []):
            code = error.get("error_code", 0)
            if code not in (0, TOPIC_ALREADY_EXISTS):
                failures.append(f"{error.get('topic')}: error {code} {error.get('error_message') or ''}".strip())
        if failures:
            raise RuntimeError("topic creation failed: " + "; ".join(failures))
        for topic in missing:
            print(f"created: {topic} (partitions={settings.kafka_topic_partitions}, "
                  f"replication={settings.kafka_replication_factor}, min.insync.replicas={min_insync_replicas})")
        return missing
    finally:
        await admin.close()


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Create the platform's Kafka topics.")
    parser.add_argument("--min-insync-replicas", type=int, default=2)
    parser.add_argument("topics", nargs="+")
    args = parser.parse_args(argv)
    settings = ServiceSettings()
    if args.min_insync_replicas > settings.kafka_replication_factor:
        print("min.insync.replicas cannot exceed the replication factor", file=sys.stderr)
        return 2
    # The broker may still be starting (fresh cluster, rolling restart): retry before failing the Job.
    for attempt in range(1, ATTEMPTS + 1):
        try:
            await create_topics(settings, args.topics, args.min_insync_replicas)
            return 0
        except RuntimeError as exc:
            print(str(exc), file=sys.stderr)
            return 1
        except Exception as exc:
            print(f"broker not reachable (attempt {attempt}/{ATTEMPTS}): {type(exc).__name__}", file=sys.stderr)
            await asyncio.sleep(min(2 * attempt, 10))
    return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
