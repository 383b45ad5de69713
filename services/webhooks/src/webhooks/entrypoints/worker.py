"""The delivery worker: a loop inside the service process (run by the runtime with the consumers) that claims the
due deliveries and sends each in its own task, at most ``delivery_concurrency`` in flight, so a slow receiver holds
up only its own line. The queue is in the database: a restart loses nothing (an attempt in flight when the process
died is leased, and attempted again when the lease runs out)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from rcm_shared.clock import Clock

from webhooks.adapters.sender import Resolver, Sender
from webhooks.config import WebhooksSettings
from webhooks.domain.destinations import DestinationPolicy
from webhooks.domain.rulebook import Rulebook
from webhooks.service_layer import delivery
from webhooks.service_layer.unit_of_work import UnitsOfWork

log = logging.getLogger("rcm.webhooks")


class DeliveryWorker:
    def __init__(self, settings: WebhooksSettings, uows: UnitsOfWork, rules: Rulebook, clock: Clock,
                 sender: Sender, resolver: Resolver, policy_for: Callable[[str], DestinationPolicy]) -> None:
        self.settings = settings
        self.uows = uows
        self.rules = rules
        self.clock = clock
        self.sender = sender
        self.resolver = resolver
        self.policy_for = policy_for
        self.lease_for = timedelta(seconds=settings.delivery_timeout_seconds * 3 + 30)
        self._in_flight: set[asyncio.Task[None]] = set()

    async def tick(self) -> int:
        """Claim what may go now and start sending it; returns how many attempts were started."""
        room = self.settings.delivery_concurrency - len(self._in_flight)
        if room <= 0:
            return 0
        claimed = await delivery.claim_due(self.uows, now=self.clock.now(), lease_for=self.lease_for, limit=room)
        for delivery_id in claimed:
            task = asyncio.create_task(self._deliver(delivery_id), name=f"webhook-{delivery_id}")
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return len(claimed)

    async def _deliver(self, delivery_id: int) -> None:
        try:
            attempt = await delivery.prepare(self.uows, delivery_id, rules=self.rules, now=self.clock.now())
            if attempt is None:
                return
            outcome = await delivery.send(attempt, sender=self.sender, resolver=self.resolver,
                                          policy=self.policy_for(attempt.practice_id), now=self.clock.now)
            await delivery.record(self.uows, attempt, outcome, rules=self.rules, now=self.clock.now())
        except Exception as exc:  # the lease runs out and the delivery is attempted again
            log.warning("webhook delivery failed before its outcome was kept",
                        extra={"delivery_id": delivery_id, "error": type(exc).__name__})

    async def drain(self) -> None:
        """Wait for the attempts in flight (tests; shutdown)."""
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)

    async def stop(self) -> None:
        for task in list(self._in_flight):
            task.cancel()
        await asyncio.gather(*list(self._in_flight), return_exceptions=True)
        await self.sender.close()
