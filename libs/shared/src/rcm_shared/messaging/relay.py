"""Outbox relay: publish committed outbox rows to Kafka, in order per key, through broker outages.

One relay publishes per service database at a time: on PostgreSQL an advisory lock elects it (replicas
stand by), which keeps per-key order without a partition scheme; on SQLite there is only one process.
A row is marked published only after the broker acknowledged it (acks=all). A failure stops that key's
rows for this round so a later event never overtakes an earlier one; the rest go on.

A published row is kept for ``outbox_retention_seconds`` with the cluster id of the broker that acknowledged it
(``published_to``), then pruned. Before each round that has rows to send (and every ``kafka_log_check_seconds``) the
relay asks the broker's cluster id (``log_watch``): rows acknowledged by another cluster within the window (the
embedded broker restarted empty with a new id, while this process ran or while it was down) are queued again,
unpublished, and go out again in row order ahead of anything newer. Less often it compares the end of every
partition it published to with the highest offset the broker had acknowledged there: a partition that ends before
it (a topic deleted and created again on Kafka) has its topic's retained rows queued again. Consumers' inboxes drop
what they had already applied.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rcm_shared.config import ServiceSettings
from rcm_shared.contracts.topics import all_topics_with_dead_letters
from rcm_shared.db.platform_tables import PlatformTables
from rcm_shared.db.types import utcnow
from rcm_shared.messaging.kafka import ensure_topics, make_log_reader, make_producer, stop_within
from rcm_shared.messaging.log_watch import BrokerLog
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
        self._broker_log = BrokerLog(settings)
        self._cluster_id: str | None = None  # the broker acknowledging our rows now (None: not asked yet)
        self._acknowledged: dict[TopicPartition, int] = {}  # highest offset acknowledged per partition, this cluster
        self._log_reader: AIOKafkaConsumer | None = None
        self._next_offsets_check = 0.0
        self._next_prune = 0.0
        self._cluster_confirmed_until = 0.0  # the broker's cluster id was seen unchanged this recently

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
                metrics.OUTBOX_ROUNDS_FAILED.labels(self._settings.service_name, type(exc).__name__).inc()
                await self._close_producer()
                self._broker_log.check_soon()
                self._cluster_confirmed_until = 0.0
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
            await stop_within(producer.stop())
        if self._log_reader is not None:
            reader, self._log_reader = self._log_reader, None
            await stop_within(reader.stop())
        await self._broker_log.close()

    async def _same_cluster(self) -> bool:
        """Right before a round's rows are sent: is the broker still the one whose acknowledgements we recorded? If
        not, the rows it had taken are queued again first, so they go out ahead of the newer ones, in row order.

        Asked at most every ``outbox_cluster_check_seconds`` while rounds succeed (under load a round runs every few
        milliseconds, and the question is a broker round trip and a metadata parse each), and at once after a failed
        round. A broker that restarted empty inside that window and took a round's rows has them recorded under the
        old cluster id: the next check finds the new id and publishes them again (consumers' inboxes drop the second
        copy). Nothing is lost; at most the window's rows go out twice."""
        now = time.monotonic()
        if self._cluster_id is not None and now < self._cluster_confirmed_until:
            return True
        cluster = await self._broker_log.cluster_id()
        if cluster is None:
            raise BrokerUnreachable("the broker's cluster id could not be read")
        if cluster == self._cluster_id:
            self._cluster_confirmed_until = now + self._settings.outbox_cluster_check_seconds
            return True
        self._cluster_confirmed_until = 0.0
        await self.check_log(cluster)
        return False

    async def check_log(self, cluster: str | None = None) -> int:
        """Queue again what the broker no longer holds (see the module docstring); returns how many rows."""
        self._broker_log.checked()
        cluster = cluster or await self._broker_log.cluster_id()
        if cluster is None:
            raise BrokerUnreachable("the broker's cluster id could not be read")
        requeued = 0
        outbox = self._tables.outbox
        if cluster != self._cluster_id:
            # First check of this process, or the broker changed under us: rows another cluster acknowledged.
            requeued = await self._requeue(outbox.c.published_to.is_not(None), outbox.c.published_to != cluster,
                                           reason="cluster_changed")
            self._cluster_id = cluster
            self._acknowledged.clear()
            self._next_offsets_check = time.monotonic() + self._settings.kafka_log_check_seconds * 6
        elif self._acknowledged and time.monotonic() >= self._next_offsets_check:
            self._next_offsets_check = time.monotonic() + self._settings.kafka_log_check_seconds * 6
            requeued = await self._requeue_lost_partitions(cluster)
        if requeued:
            # A broker that restarted empty has no topics yet: auto-created ones would not have our partition count.
            await ensure_topics(self._settings, all_topics_with_dead_letters())
        return requeued

    async def _requeue_lost_partitions(self, cluster: str) -> int:
        if self._log_reader is None:
            reader = make_log_reader(self._settings)
            try:
                await reader.start()
            except Exception:
                await reader.stop()
                raise
            self._log_reader = reader
        reader = self._log_reader
        ends = await asyncio.wait_for(reader.end_offsets(list(self._acknowledged)), timeout=15)
        suspects = {tp: offset for tp, offset in self._acknowledged.items() if ends.get(tp, offset + 1) <= offset}
        if not suspects:
            return 0
        # Tansu answers the end with its last batch's first offset + 1: read where the row was acknowledged to be sure.
        reader.assign(list(suspects))
        for tp, offset in suspects.items():
            reader.seek(tp, offset)
        fetched = await reader.getmany(timeout_ms=1000)
        found = {tp for tp, records in fetched.items() if any(r.offset >= suspects[tp] for r in records)}
        lost = sorted({tp.topic for tp, offset in suspects.items()
                       if tp not in found and (reader.highwater(tp) or offset + 1) <= offset})
        if not lost:
            return 0
        outbox = self._tables.outbox
        for tp in [tp for tp in self._acknowledged if tp.topic in lost]:
            del self._acknowledged[tp]
        return await self._requeue(outbox.c.published_to == cluster, outbox.c.topic.in_(lost),
                                   reason="partition_behind")

    async def _requeue(self, *where: ColumnElement[bool], reason: str) -> int:
        outbox = self._tables.outbox
        since = utcnow() - timedelta(seconds=self._settings.outbox_retention_seconds)
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(outbox).where(outbox.c.published_at >= since, *where)
                .values(published_at=None, published_to=None))
        count = int(getattr(result, "rowcount", 0) or 0)
        if count:
            metrics.OUTBOX_REPLAYED.labels(self._settings.service_name, reason).inc(count)
            log.warning("broker lost published events; publishing the retained outbox rows again",
                        extra={"reason": reason, "rows": count,
                               "retention_seconds": self._settings.outbox_retention_seconds})
        return count

    async def prune(self) -> int:
        """Delete published rows older than the retention window (in chunks: a short lock each)."""
        outbox = self._tables.outbox
        before = utcnow() - timedelta(seconds=self._settings.outbox_retention_seconds)
        pruned = 0
        while True:
            async with self._sessions() as session, session.begin():
                ids = list((await session.scalars(
                    select(outbox.c.id).where(outbox.c.published_at.is_not(None), outbox.c.published_at < before)
                    .order_by(outbox.c.id).limit(5000))).all())
                if ids:
                    await session.execute(delete(outbox).where(outbox.c.id.in_(ids)))
            pruned += len(ids)
            if len(ids) < 5000:
                break
        if pruned:
            metrics.OUTBOX_PRUNED.labels(self._settings.service_name).inc(pruned)
        return pruned

    async def _housekeeping(self) -> None:
        """Before a round: the broker-log check and the pruning, each when due."""
        if self._cluster_id is None or self._broker_log.due():
            await self.check_log()
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + self._settings.outbox_prune_seconds
            await self.prune()

    async def backlog(self) -> int:
        """Rows not yet published, and the age of the oldest (both gauges; asked at each /metrics scrape)."""
        outbox = self._tables.outbox
        async with self._sessions() as session:
            count, oldest = (await session.execute(
                select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.published_at.is_(None))
            )).one()
        metrics.OUTBOX_BACKLOG.labels(self._settings.service_name).set(count or 0)
        age = max(0.0, (utcnow() - _aware(oldest)).total_seconds()) if oldest is not None else 0.0
        metrics.OUTBOX_OLDEST_AGE.labels(self._settings.service_name).set(age)
        return int(count or 0)

    async def publish_pending(self) -> int:
        """Publish one batch; returns how many rows were marked published."""
        await self._housekeeping()
        if self._is_postgres:
            async with self._sessions() as session, session.begin():
                got = await session.scalar(select(func.pg_try_advisory_xact_lock(self._lock_key)))
                if not got:
                    return 0
                rows = await self._claim(session, lock=True)
                if not rows:
                    await self._report_backlog(session)
                    return 0
                if not await self._same_cluster():
                    return 0  # older rows were queued again: the next round starts from them
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
        if not await self._same_cluster():
            return 0  # older rows were queued again: the next round starts from them
        producer = await self._ensure_producer()
        async with self._sessions() as session, session.begin():
            sent, failed = await self._publish_and_mark(session, producer, rows)
        return _checked(sent, failed)

    async def _report_backlog(self, session: AsyncSession) -> None:
        metrics.OUTBOX_BACKLOG.labels(self._settings.service_name).set(0)
        metrics.OUTBOX_OLDEST_AGE.labels(self._settings.service_name).set(0)

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
                partition, offset = getattr(result, "topic_partition", None), getattr(result, "offset", None)
                if isinstance(partition, TopicPartition) and isinstance(offset, int):
                    self._acknowledged[partition] = max(offset, self._acknowledged.get(partition, -1))
        outbox = self._tables.outbox
        if sent_ids:
            now = utcnow()
            for start in range(0, len(sent_ids), 500):
                await session.execute(
                    update(outbox).where(outbox.c.id.in_(sent_ids[start:start + 500]))
                    .values(published_at=now, published_to=self._cluster_id, attempts=outbox.c.attempts + 1)
                )
        for row_id, error in failed:
            await session.execute(
                update(outbox).where(outbox.c.id == row_id)
                .values(attempts=outbox.c.attempts + 1, last_error=error)
            )
        return len(sent_ids), len(failed)


class RelayRoundIncomplete(RuntimeError):
    pass


class BrokerUnreachable(RuntimeError):
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


def _aware(instant: datetime) -> datetime:
    """SQLite hands back naive UTC instants; PostgreSQL aware ones."""
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
