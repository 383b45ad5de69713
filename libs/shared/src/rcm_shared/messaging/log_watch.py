"""Is the broker's log still the one a client knew?

A Kafka client keeps positions (a consumer's fetch position and committed offsets, what a relay published) that
only mean something in the log they were taken from. When that log is gone the broker does not say so: the embedded
broker (Tansu, memory storage) restarts empty on the same port, a topic deleted and created again on Kafka starts at
offset 0, and a consumer that goes on from its old position silently skips every event below it. Two signs tell:

- the cluster id changed: the embedded broker gets a new id at every start (``rcm_shared.broker``), so a restart is
  seen however fast the new log fills up again;
- a partition ends before a position we hold (a consumer's position, the highest offset a relay had acknowledged):
  the log was replaced under the same cluster (a topic re-created on Kafka, offsets reset).

:class:`BrokerLog` asks the first; consumers and relays compare the second with their own positions. What they do
about it (read again from the earliest offset; publish the retained outbox rows again) is theirs.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka.admin import AIOKafkaAdminClient

from rcm_shared.config import ServiceSettings
from rcm_shared.messaging.kafka import admin_options

log = logging.getLogger("rcm.broker")


class BrokerLog:
    """The cluster id of the broker behind the settings' bootstrap servers (one admin client, made on first use)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._admin: AIOKafkaAdminClient | None = None
        self._next_check = 0.0

    def due(self) -> bool:
        """Time for the periodic comparison (every ``kafka_log_check_seconds``)."""
        return time.monotonic() >= self._next_check

    def checked(self) -> None:
        self._next_check = time.monotonic() + self._settings.kafka_log_check_seconds

    def check_soon(self) -> None:
        """After an error: compare at the next opportunity instead of waiting for the period."""
        self._next_check = 0.0

    async def cluster_id(self) -> str | None:
        """The broker's cluster id; ``None`` if it cannot be asked now (the caller tries again later)."""
        try:
            if self._admin is None:
                admin = AIOKafkaAdminClient(**admin_options(self._settings), request_timeout_ms=5000)
                await asyncio.wait_for(admin.start(), timeout=10)
                self._admin = admin
            info = await asyncio.wait_for(self._admin.describe_cluster(), timeout=10)
        except Exception:  # broker away: the next check asks again on a fresh client
            await self.close()
            return None
        cluster = info.get("cluster_id")
        return str(cluster) if cluster else None

    async def close(self) -> None:
        if self._admin is not None:
            admin, self._admin = self._admin, None
            try:
                await admin.close()
            except Exception:  # noqa: S110 - closing a broken client
                pass
