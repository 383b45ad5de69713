"""Outbox relay: publish committed outbox rows to Kafka, in order per key, through broker outages.

One relay publishes per service database at a time: on PostgreSQL an advisory lock elects it (replicas
stand by), which keeps per-key order without a partition scheme; on SQLite there is only one process.
A row is marked published only after the broker acknowledged it (acks=all). A failure stops that key's
rows for this round so a later event never overtakes an earlier one; the rest go on.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rcm_shared.config import ServiceSettings
from rcm_shared.db.platform_tables import PlatformTables
from rcm_shared.db.types import utcnow
from rcm_shared.messaging.kafka import make_producer
from rcm_shared.observability import metrics

log = logging.getLogger("rcm.outbox")

ProducerFactory = Callable[[ServiceSettings], AIOKafkaProducer]


class OutboxRelay:
    def __init__(
        self,
        settings: ServiceSettings,
        sessions: async_sessionmaker[AsyncSession],
        tables: PlatformTables,
        producer_factory: ProducerFactory = make_producer,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._tables = tables
        self._producer_factory = producer_factory
        self._producer: AIOKafkaProducer | None = None
        self._wake = asyncio.Event()
        self._lock_key = zlib.crc32(f"outbox:{settings.service_name}".encode())
        self._is_postgres = not settings.is_sqlite

    def wake(self) -> None:
        """Publish soon (called after a commit that staged events): the poll is only the fallback."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.2
        while not stop.is_set():
            try:
                published = await self.publish_pending()
                backoff = 0.2
                if published:
                    continue
            except Exception as exc:  # broker or database trouble: keep going, slower
                log.warning("outbox relay round failed", extra={"error": type(exc).__name__})
                await self._close_producer()
                await _sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            self._wake.clear()
            waiter = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait(
                {waiter, stopper}, timeout=self._settings.outbox_poll_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
            waiter.cancel()
            stopper.cancel()
        await self._close_producer()

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = self._producer_factory(self._settings)
            try:
                await producer.start()
            except Exception:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _close_producer(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            try:
                await producer.stop()
            except Exception:  # noqa: S110 - closing a broken client; nothing to recover
                pass

    async def backlog(self) -> int:
        async with self._sessions() as session:
            count = await session.scalar(
                select(func.count()).select_from(self._tables.outbox)
                .where(self._tables.outbox.c.published_at.is_(None))
            )
        metrics.OUTBOX_BACKLOG.labels(self._settings.service_name).set(count or 0)
        return int(count or 0)

    async def publish_pending(self) -> int:
        """Publish one batch; returns how many rows were marked published."""
        if self._is_postgres:
            async with self._sessions() as session, session.begin():
                got = await session.scalar(select(func.pg_try_advisory_xact_lock(self._lock_key)))
                if not got:
                    return 0
                rows = await self._claim(session, lock=True)
                if not rows:
                    await self._report_backlog(session)
                    return 0
                producer = await self._ensure_producer()
                sent, failed = await self._publish_and_mark(session, producer, rows)
            return _checked(sent, failed)
        # SQLite: never hold the write lock while talking to the broker (the API must keep accepting).
        async with self._sessions() as session, session.begin():
            rows = await self._claim(session, lock=False)
        if not rows:
            async with self._sessions() as session:
                await self._report_backlog(session)
            return 0
        producer = await self._ensure_producer()
        async with self._sessions() as session, session.begin():
            sent, failed = await self._publish_and_mark(session, producer, rows)
        return _checked(sent, failed)

    async def _report_backlog(self, session: AsyncSession) -> None:
        metrics.OUTBOX_BACKLOG.labels(self._settings.service_name).set(0)

    async def _claim(self, session: AsyncSession, *, lock: bool) -> list[Any]:
        outbox = self._tables.outbox
        query = (
            select(outbox.c.id, outbox.c.topic, outbox.c.message_key, outbox.c.payload, outbox.c.headers,
                   outbox.c.attempts)
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.id)
            .limit(self._settings.outbox_batch_size)
        )
        if lock:
            query = query.with_for_update(skip_locked=True)
        return list((await session.execute(query)).all())

    async def _publish_and_mark(
        self, session: AsyncSession, producer: AIOKafkaProducer, rows: list[Any]
    ) -> tuple[int, int]:
        futures: list[Awaitable[Any] | BaseException] = []
        for row in rows:
            headers = [(k, str(v).encode()) for k, v in (row.headers or {}).items() if v]
            try:
                futures.append(
                    await producer.send(row.topic, row.payload, key=row.message_key.encode(), headers=headers)
                )
            except Exception as exc:
                futures.append(exc)
        results = await asyncio.gather(
            *[f if not isinstance(f, BaseException) else _raise(f) for f in futures], return_exceptions=True
        )
        blocked_keys: set[str] = set()
        sent_ids: list[int] = []
        failed: list[tuple[int, str]] = []
        for row, result in zip(rows, results, strict=True):
            if row.message_key in blocked_keys:
                continue  # an earlier event for this key failed: keep order, resend both next round
            if isinstance(result, BaseException):
                blocked_keys.add(row.message_key)
                failed.append((row.id, type(result).__name__))
            else:
                sent_ids.append(row.id)
                metrics.OUTBOX_PUBLISHED.labels(self._settings.service_name, row.topic).inc()
        outbox = self._tables.outbox
        if sent_ids:
            now = utcnow()
            for start in range(0, len(sent_ids), 500):
                await session.execute(
                    update(outbox).where(outbox.c.id.in_(sent_ids[start:start + 500]))
                    .values(published_at=now, attempts=outbox.c.attempts + 1)
                )
        for row_id, error in failed:
            await session.execute(
                update(outbox).where(outbox.c.id == row_id)
                .values(attempts=outbox.c.attempts + 1, last_error=error)
            )
        return len(sent_ids), len(failed)


class RelayRoundIncomplete(RuntimeError):
    pass


def _checked(sent: int, failed: int) -> int:
    # Raised after the commit so the rows that did go out stay marked published.
    if failed:
        raise RelayRoundIncomplete(f"{failed} outbox rows not acknowledged; {sent} published; retrying")
    return sent


async def _raise(exc: BaseException) -> None:
    raise exc


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
