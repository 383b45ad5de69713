"""Consume integration events with an inbox, bounded retries and a dead-letter topic.

Order of work for one poll:
1. The whole poll is handled in one transaction (throughput), each event in its own SAVEPOINT with its
   inbox row, so one failing event rolls back alone.
2. An event whose key already failed in this poll is deferred, so events of one claim stay in order.
3. After the commit, failed and deferred events are retried one at a time with backoff; an event that
   still fails (or can never succeed: undecodable, unknown type, invalid payload) is published to
   ``<topic>.dlq`` with the reason before its offset is committed.
4. Offsets are committed only after every event of the poll is either committed or dead-lettered.
5. Every ``kafka_log_check_seconds`` (and at once after an error or a commit the broker would not take) the
   consumer compares its positions with the broker's log (``log_watch``): when the cluster id changed (the embedded
   broker restarted empty) or a partition ends before its position (a topic re-created, offsets reset) it seeks to
   the earliest offset of those partitions and reads them again; the inbox drops what was already applied. The
   cluster id is also asked after every fetch that returned records, before they are applied: records a restarted
   broker handed out at the old positions are dropped, not applied ahead of the earlier events of their keys. One
   warning line and one ``rcm_consumer_rewinds_total`` per occurrence. The lag it reports is measured then, against
   the log the broker has now.

A consumer built with a ``batch_handler`` instead of a ``handler`` first offers the whole poll (its new events,
in order, with their inbox rows) to that handler in one transaction, so the handler can read and write in
bulk; if the batch fails, nothing of it is kept and the poll is applied one event at a time as above (the
handler called with a batch of one), so one bad event still fails alone and goes to the dead-letter topic.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rcm_shared.config import ServiceSettings
from rcm_shared.contracts.base import EventPayload
from rcm_shared.contracts.envelope import EventEnvelope
from rcm_shared.contracts.registry import UnknownEventType, decode_payload
from rcm_shared.contracts.topics import dead_letter_topic
from rcm_shared.db.platform_tables import PlatformTables
from rcm_shared.db.types import utcnow
from rcm_shared.messaging.kafka import ensure_topics, make_consumer, make_producer, stop_within
from rcm_shared.messaging.log_watch import BrokerLog
from rcm_shared.observability import metrics
from rcm_shared.observability.redaction import safe_location
from rcm_shared.observability.tracing import consume_batch_span, consume_span

log = logging.getLogger("rcm.consumer")
CLIENT_TIMEOUT = 15.0  # seconds for a Kafka client call that could otherwise wait for a vanished broker for ever

EventHandler = Callable[[AsyncSession, EventEnvelope, EventPayload], Awaitable[None]]
#: A poll's new events of one consumer, in the order they arrived, applied together in the caller's transaction.
BatchHandler = Callable[[AsyncSession, Sequence[tuple[EventEnvelope, EventPayload]]], Awaitable[None]]


class PermanentEventError(Exception):
    """The event can never be applied (e.g. refers to data that is not ours): dead-letter at once."""


@dataclass
class _Decoded:
    record: ConsumerRecord[bytes, bytes]
    envelope: EventEnvelope
    payload: EventPayload


class EventConsumer:
    def __init__(
        self,
        settings: ServiceSettings,
        sessions: async_sessionmaker[AsyncSession],
        tables: PlatformTables,
        *,
        name: str,
        topics: list[str],
        handler: EventHandler | None = None,
        batch_handler: BatchHandler | None = None,
    ) -> None:
        if (handler is None) == (batch_handler is None):
            raise ValueError("give a consumer either a handler or a batch_handler")
        self._settings = settings
        self._sessions = sessions
        self._tables = tables
        self.name = name
        self._group_id = f"{settings.consumer_group_prefix or settings.service_name}.{name}"
        self._topics = topics
        self._batch_handler = batch_handler
        if batch_handler is not None:
            async def one_at_a_time(session: AsyncSession, envelope: EventEnvelope, payload: EventPayload) -> None:
                await batch_handler(session, [(envelope, payload)])

            handler = one_at_a_time
        assert handler is not None
        self._handler = handler
        self._commit_listeners: list[Callable[[], None]] = []
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq: AIOKafkaProducer | None = None
        self._broker_log = BrokerLog(settings)
        self._cluster_id: str | None = None  # the log our positions belong to (kept across reconnects)
        self._lag_labels: set[tuple[str, int]] = set()
        # After the cluster changed: the partitions read again from the start and committed since. Any other partition
        # assigned to us is read from its start too (its committed offset may be one we wrote from the old log
        # before we noticed). None: the log never changed under us.
        self._reread_committed: set[TopicPartition] | None = None
        self._pending_rewind: set[TopicPartition] = set()

    def add_commit_listener(self, listener: Callable[[], None]) -> None:
        """Called after each committed poll (the relay's wake-up for events the handlers staged)."""
        self._commit_listeners.append(listener)

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                await self._start()
                backoff = 0.5
                while not stop.is_set():
                    await self.poll_once(timeout_ms=500)
            except asyncio.CancelledError:
                await self._stop_clients()
                raise
            except Exception as exc:  # broker away or rebalancing trouble: reconnect, nothing acknowledged
                log.warning("consumer loop error", extra={"consumer": self._group_id,
                                                          "error": type(exc).__name__})
                await self._stop_clients()
                self._broker_log.check_soon()
                try:
                    await asyncio.wait_for(stop.wait(), timeout=backoff)
                except TimeoutError:
                    pass
                backoff = min(backoff * 2, 10.0)
        await self._stop_clients()

    async def _start(self) -> None:
        if self._consumer is None:
            consumer = make_consumer(self._settings, self._group_id, self._topics, _Rewinder(self))
            try:
                await asyncio.wait_for(consumer.start(), timeout=CLIENT_TIMEOUT * 4)
            except BaseException:
                await stop_within(consumer.stop())
                raise
            self._consumer = consumer
        if self._dlq is None:
            producer = make_producer(self._settings)
            try:
                await producer.start()
            except Exception:
                await producer.stop()
                raise
            self._dlq = producer

    async def _stop_clients(self) -> None:
        for client in (self._consumer, self._dlq):
            if client is not None:
                await stop_within(client.stop())
        self._consumer = None
        self._dlq = None
        await self._broker_log.close()

    async def poll_once(self, timeout_ms: int = 500) -> int:
        assert self._consumer is not None
        if self._pending_rewind:
            partitions, self._pending_rewind = self._pending_rewind & set(self._consumer.assignment()), set()
            if partitions:
                await asyncio.wait_for(self._consumer.seek_to_beginning(*partitions), timeout=CLIENT_TIMEOUT)
        if self._broker_log.due():
            await self.check_log()
        batches = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=500)
        records = [r for tp_records in batches.values() for r in tp_records]
        if not records:
            return 0
        if not await self._same_log(batches):
            return 0  # not applied: fetched from a log that replaced ours, or the broker could not say
        await self.handle_records(records)
        offsets = {tp: tp_records[-1].offset + 1 for tp, tp_records in batches.items() if tp_records}
        await self._commit(offsets)
        for listener in self._commit_listeners:
            listener()
        return len(records)

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit, but never wait for ever: aiokafka retries a commit the broker refuses as retriable (a topic the
        restarted broker does not have yet) without end. Not committing is safe (the events come again and the inbox
        drops them); the log check that follows finds out why."""
        assert self._consumer is not None
        try:
            await asyncio.wait_for(self._consumer.commit(offsets),
                                   timeout=self._settings.kafka_commit_timeout_seconds)
            if self._reread_committed is not None:
                self._reread_committed.update(offsets)
        except TimeoutError:
            log.warning("offset commit not accepted in time; checking the broker's log", extra={
                "consumer": self._group_id, "seconds": self._settings.kafka_commit_timeout_seconds})
            self._broker_log.check_soon()

    async def _same_log(self, batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> bool:
        """Before records are applied: were they fetched from the log our positions belong to? Asked after the fetch,
        so records a restarted broker handed out at our old positions (past the start of its new log) are never
        applied ahead of the earlier events of their keys. When the broker cannot say (it is going away), the
        records are fetched again later."""
        consumer = self._consumer
        assert consumer is not None
        cluster = await self._broker_log.cluster_id()
        if cluster is None:
            for tp, records in batches.items():
                if records and tp in consumer.assignment():
                    consumer.seek(tp, records[0].offset)
            self._broker_log.check_soon()
            await asyncio.sleep(0.5)
            return False
        if self._cluster_id is not None and cluster != self._cluster_id:
            await self._cluster_changed(consumer, cluster)
            return False
        self._cluster_id = cluster
        return True

    async def _cluster_changed(self, consumer: AIOKafkaConsumer, cluster: str) -> None:
        # The topics may not exist yet on the new broker (a commit for them would be refused): create them.
        try:
            await asyncio.wait_for(ensure_topics(self._settings, self._topics), timeout=CLIENT_TIMEOUT * 2)
        except Exception as exc:  # a relay creates them too; a commit that is refused meanwhile times out
            log.info("topics not created", extra={"consumer": self._group_id, "error": type(exc).__name__})
        self._reread_committed = set()
        await self._rewind(consumer, set(consumer.assignment()), "cluster_changed")
        self._cluster_id = cluster

    async def check_log(self) -> None:
        """Compare our positions with the broker's log; read again from the earliest offset where they no longer
        belong to it (see the module docstring, step 5); report the lag against the log as it is now."""
        consumer = self._consumer
        if consumer is None:
            return
        self._broker_log.checked()
        cluster = await self._broker_log.cluster_id()
        if cluster is None:
            self._broker_log.check_soon()
            return
        if self._cluster_id is not None and cluster != self._cluster_id:
            await self._cluster_changed(consumer, cluster)
            return  # positions are being reset; the next check measures the lag
        self._cluster_id = cluster
        assigned = set(consumer.assignment())
        if not assigned:
            self._forget_lag(set())
            return
        try:
            ends = await asyncio.wait_for(consumer.end_offsets(list(assigned)), timeout=CLIENT_TIMEOUT)
        except Exception:  # the broker is going away or busy: measured at the next check
            self._broker_log.check_soon()
            return
        past_end: set[TopicPartition] = set()
        lags: dict[TopicPartition, int] = {}
        for tp in assigned:
            try:
                position = await asyncio.wait_for(consumer.position(tp), timeout=2)
            except Exception:  # noqa: S112 - no position yet (being reset, or revoked): measured at the next check
                continue
            if tp not in ends:
                continue
            # The last fetch's high watermark as well: Tansu answers a ListOffsets for the end with the last batch's
            # first offset + 1, below the true end when that batch held several records.
            end = max(ends[tp], consumer.highwater(tp) or 0)
            if position > end:
                past_end.add(tp)
            else:
                lags[tp] = end - position
        if past_end:
            await self._rewind(consumer, past_end, "position_past_end")
        for tp, lag in lags.items():
            metrics.CONSUMER_LAG.labels(self._settings.service_name, self._group_id, tp.topic,
                                        str(tp.partition)).set(lag)
        self._forget_lag({(tp.topic, tp.partition) for tp in lags} | {(tp.topic, tp.partition) for tp in past_end})

    async def _rewind(self, consumer: AIOKafkaConsumer, partitions: set[TopicPartition], reason: str) -> None:
        if partitions:
            await asyncio.wait_for(consumer.seek_to_beginning(*partitions), timeout=CLIENT_TIMEOUT)
        self._broker_log.check_soon()
        metrics.CONSUMER_REWINDS.labels(self._settings.service_name, self._group_id, reason).inc()
        log.warning("consumer position outside the broker's log; reading again from the earliest offset",
                    extra={"consumer": self._group_id, "reason": reason, "partitions": len(partitions)})

    def partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """A new assignment takes the group's committed offsets; after the cluster changed they may be stale. Noted
        here, sought in the poll loop before the next fetch is taken (a seek that waits for its offset lookup inside
        the group coordinator's callback would wait for the coordinator itself)."""
        if self._reread_committed is not None:
            self._pending_rewind |= {tp for tp in assigned if tp not in self._reread_committed}

    def _forget_lag(self, current: set[tuple[str, int]]) -> None:
        """Drop the lag series of partitions no longer ours (another member reports them)."""
        for topic, partition in self._lag_labels - current:
            try:
                metrics.CONSUMER_LAG.remove(self._settings.service_name, self._group_id, topic, str(partition))
            except KeyError:
                pass
        self._lag_labels = set(current)

    async def handle_records(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        """Apply a poll's records: batch first, then one by one for what failed, then the DLQ."""
        decoded: list[_Decoded] = []
        for record in records:
            try:
                envelope = EventEnvelope.from_bytes(record.value or b"")
                payload = decode_payload(envelope)
            except (ValidationError, UnknownEventType, ValueError) as exc:
                await self._dead_letter(record, f"undecodable event: {_reason(exc)}", attempts=1)
                continue
            decoded.append(_Decoded(record, envelope, payload))
        if self._batch_handler is not None and len(decoded) > 1 and await self._apply_batch(decoded):
            return

        retry: list[_Decoded] = []
        failed_keys: set[tuple[str, bytes | None]] = set()
        async with self._sessions() as session, session.begin():
            for item in decoded:
                key = (item.record.topic, item.record.key)
                if key in failed_keys:
                    retry.append(item)
                    continue
                try:
                    async with session.begin_nested():
                        await self._apply(session, item)
                except Exception as exc:
                    if isinstance(exc, PermanentEventError | ValidationError):
                        await self._dead_letter(item.record, _reason(exc), attempts=1)
                        continue
                    failed_keys.add(key)
                    retry.append(item)
        for item in retry:
            await self._apply_with_retries(item)

    async def _apply_batch(self, decoded: list[_Decoded]) -> bool:
        """The whole poll in one call of the batch handler, in one transaction; False (nothing kept) if it failed."""
        assert self._batch_handler is not None
        inbox = self._tables.inbox
        try:
            async with self._sessions() as session, session.begin():
                seen = set((await session.scalars(select(inbox.c.event_id).where(
                    inbox.c.consumer == self._group_id,
                    inbox.c.event_id.in_({item.envelope.id for item in decoded})))).all())
                fresh: list[_Decoded] = []
                for item in decoded:
                    if item.envelope.id not in seen:
                        seen.add(item.envelope.id)  # twice in one poll: the second is a duplicate too
                        fresh.append(item)
                if fresh:
                    now = utcnow()
                    await session.execute(insert(inbox), [{
                        "consumer": self._group_id, "event_id": item.envelope.id, "event_type": item.envelope.type,
                        "topic": item.record.topic, "partition": item.record.partition,
                        "offset": item.record.offset, "processed_at": now} for item in fresh])
                    with consume_batch_span(fresh[0].record.topic, [i.envelope for i in fresh], self._group_id):
                        await self._batch_handler(session, [(item.envelope, item.payload) for item in fresh])
        except Exception as exc:
            log.info("batch failed; applying its events one by one", extra={
                "consumer": self._group_id, "events": len(decoded), "error": type(exc).__name__})
            return False
        fresh_ids = {id(item) for item in fresh}
        for item in decoded:
            outcome = "processed" if id(item) in fresh_ids else "duplicate"
            metrics.EVENTS_CONSUMED.labels(self._settings.service_name, self._group_id, item.record.topic,
                                           outcome).inc()
        return True

    async def _apply(self, session: AsyncSession, item: _Decoded) -> None:
        inbox = self._tables.inbox
        seen = await session.scalar(
            select(inbox.c.event_id).where(inbox.c.consumer == self._group_id,
                                           inbox.c.event_id == item.envelope.id)
        )
        if seen is not None:
            metrics.EVENTS_CONSUMED.labels(self._settings.service_name, self._group_id, item.record.topic,
                                           "duplicate").inc()
            return
        await session.execute(insert(inbox).values(
            consumer=self._group_id, event_id=item.envelope.id, event_type=item.envelope.type,
            topic=item.record.topic, partition=item.record.partition, offset=item.record.offset,
            processed_at=utcnow(),
        ))
        with consume_span(item.record.topic, item.envelope, self._group_id):
            await self._handler(session, item.envelope, item.payload)
        metrics.EVENTS_CONSUMED.labels(self._settings.service_name, self._group_id, item.record.topic,
                                       "processed").inc()

    async def _apply_with_retries(self, item: _Decoded) -> None:
        attempts = 0
        delay = self._settings.consumer_retry_base_seconds
        while True:
            attempts += 1
            try:
                async with self._sessions() as session, session.begin():
                    await self._apply(session, item)
                return
            except Exception as exc:
                permanent = isinstance(exc, PermanentEventError | ValidationError)
                if permanent or attempts >= self._settings.consumer_max_attempts:
                    await self._dead_letter(item.record, _reason(exc), attempts=attempts)
                    return
                log.info("event failed; retrying", extra={"consumer": self._group_id,
                                                          "event_id": item.envelope.id,
                                                          "attempt": attempts, "error": type(exc).__name__})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], reason: str, *, attempts: int) -> None:
        """Publish the original bytes to the DLQ; keep trying until the broker takes it (never drop)."""
        headers = list(record.headers or ()) + [
            ("dlq-reason", reason[:1000].encode()),
            ("dlq-consumer", self._group_id.encode()),
            ("dlq-attempts", str(attempts).encode()),
            ("dlq-original-topic", record.topic.encode()),
            ("dlq-original-partition", str(record.partition).encode()),
            ("dlq-original-offset", str(record.offset).encode()),
        ]
        delay = 0.5
        while True:
            try:
                if self._dlq is None:
                    producer = make_producer(self._settings)
                    await producer.start()
                    self._dlq = producer
                await self._dlq.send_and_wait(dead_letter_topic(record.topic), record.value, key=record.key,
                                              headers=headers)
                break
            except Exception as exc:
                log.warning("dead-letter publish failed; retrying",
                            extra={"consumer": self._group_id, "error": type(exc).__name__})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        metrics.DLQ_MESSAGES.labels(self._settings.service_name, self._group_id, record.topic).inc()
        metrics.EVENTS_CONSUMED.labels(self._settings.service_name, self._group_id, record.topic,
                                       "dead_lettered").inc()
        log.error("event dead-lettered", extra={"consumer": self._group_id, "topic": record.topic,
                                                "offset": record.offset, "reason": reason[:200]})


class _Rewinder(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: EventConsumer) -> None:
        self._owner = owner

    def on_partitions_revoked(self, revoked: object) -> None:
        return None

    def on_partitions_assigned(self, assigned: object) -> None:
        self._owner.partitions_assigned(set(assigned))  # type: ignore[call-overload]


def _reason(exc: BaseException) -> str:
    # Validation errors can echo input values (PHI): keep only locations and error types.
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(safe_location(e['loc'], e['type']))}: {e['type']}" for e in exc.errors()[:10]]
        return f"invalid payload: {'; '.join(parts)}"
    if isinstance(exc, UnknownEventType):
        return "UnknownEventType: unknown event type"  # the type is the sender's text: not repeated
    # Our own permanent errors are written without PHI; anything else (a database error quotes the row it
    # refused, a driver error the statement's values) is reduced to its type.
    if isinstance(exc, PermanentEventError):
        return f"{type(exc).__name__}: {str(exc)[:300]}"
    return type(exc).__name__
