"""The bulk-write engine of ERA posting: a 10,000-claim ERA is otherwise tens of thousands of single-row round
trips. Rows (postings, journal lines, denials, underpayments, exceptions) and the domain events announcing them are
collected per chunk and written in bulk (COPY on PostgreSQL) in the caller's transaction, each chunk while the next
one is worked out; the events go through the unit of work (its event mapper, its outbox) a chunk at a time, in
order. Also here: row ids in bulk and the garbage-collector pause while an ERA posts."""

from __future__ import annotations

import asyncio
import gc
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, Protocol

from rcm_shared.db.bulk import insert_many
from rcm_shared.db.types import new_ids
from rcm_shared.observability import metrics
from rcm_shared.work_items.repository import new_item_rows
from rcm_shared.work_items.workflow import WorkItem
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from remittance.adapters.orm import (
    claim_postings,
    denials,
    era_exceptions,
    journal,
    plb_recoupments,
    underpayments,
    work_item_tables,
)
from remittance.domain.posting import JournalEntry

SOURCE = "remittance"


class IdPool:
    """Row ids for the bulk paths (``new_ids``: one read of randomness per thousand ids, not one per id)."""

    def __init__(self) -> None:
        self._ids: list[str] = []

    def __call__(self) -> str:
        if not self._ids:
            self._ids = new_ids(1024)
        return self._ids.pop()


next_id = IdPool()


def journal_rows(practice_id: str, posting_id: str | None, entries: Iterable[JournalEntry],
                 now: datetime) -> list[dict[str, Any]]:
    rows = []
    for entry in entries:
        if entry.total_debits != entry.total_credits:  # the domain guarantees it; the books must never drift
            raise ValueError("unbalanced journal entry refused")
        entry_id = next_id()
        for line in entry.lines:
            rows.append({"entry_id": entry_id, "posting_id": posting_id, "practice_id": practice_id,
                         "account": line.account, "debit": line.debit, "credit": line.credit,
                         "claim_id": line.claim_id, "memo": entry.kind, "at": now})
    return rows


class StagesEvents(Protocol):
    """The unit of work, as the batch needs it: its session and staging what was recorded so far."""

    @property
    def session(self) -> AsyncSession: ...

    async def stage_events(self) -> int: ...

    def add(self, *aggregates: Any) -> None: ...


class PostingBatch:
    """Rows and events of one 835 transaction, written in bulk in the unit of work's transaction.

    ``send`` starts writing what is collected so far while posting goes on: the database inserts and indexes one
    chunk while this process works out the next (one write at a time on the connection, in order, so outbox rows
    keep their order). Nothing else may use the session until ``settle`` returned. ``touched``: claims with a
    posting in the batch, so a later reversal or settlement of one of them in the same transaction flushes first
    and reads it back. The batch is an event source of the unit of work: ``pull_events`` hands over the events of
    the chunk being written."""

    def __init__(self, uow: StagesEvents) -> None:
        self._uow = uow
        self.postings: list[dict[str, Any]] = []
        self.journal: list[dict[str, Any]] = []
        self.denials: list[dict[str, Any]] = []
        self.underpayments: list[dict[str, Any]] = []
        self.exceptions: list[dict[str, Any]] = []
        self.plbs: list[dict[str, Any]] = []  # PLBs whose reason names a claim (tied or waiting for a person)
        self.work_items: list[WorkItem] = []  # opened here (a denial, unapplied cash, a held duplicate)
        # (by, key) of the denial patterns crossed in this batch -> the latest date of service that crossed it
        self.pattern_keys: dict[tuple[str, str], date] = {}
        # claims paid something in this batch -> (posting id, paid): what an overturned appeal recovered
        self.paid: dict[str, tuple[str, Any]] = {}
        self.events: list[Any] = []
        self.counts: Counter[str] = Counter()
        self.touched: set[str] = set()
        self.pending: asyncio.Task[None] | None = None
        self._sealed: list[Any] = []
        uow.add(self)

    def pull_events(self) -> list[Any]:
        sealed, self._sealed = self._sealed, []
        return sealed

    async def send(self) -> None:
        """Start writing everything collected so far (after the previous write finished)."""
        await self.settle()
        for item in self.work_items:
            self.events.extend(item.pull_events())
        item_rows, action_rows = new_item_rows(self.work_items)
        tables = [(claim_postings, self.postings), (journal, self.journal), (denials, self.denials),
                  (underpayments, self.underpayments), (era_exceptions, self.exceptions),
                  (plb_recoupments, self.plbs), (work_item_tables.items, item_rows),
                  (work_item_tables.actions, action_rows)]
        self._sealed = self.events
        self.postings, self.journal, self.denials, self.underpayments, self.exceptions, self.events = \
            [], [], [], [], [], []
        self.work_items, self.plbs = [], []
        for name, count in self.counts.items():
            metrics.BUSINESS_EVENTS.labels(SOURCE, name).inc(count)
        self.counts.clear()
        self.touched.clear()
        self.pending = asyncio.create_task(self._write(tables))
        await asyncio.sleep(0)  # let it put its first rows on the wire

    async def _write(self, tables: list[tuple[Table, list[dict[str, Any]]]]) -> None:
        session = self._uow.session
        for table, rows in tables:
            await insert_many(session, table, rows)
        await self._uow.stage_events()

    async def settle(self, *, quiet: bool = False) -> None:
        """Wait for the write in progress; ``quiet`` when already failing (the transaction rolls back)."""
        task, self.pending = self.pending, None
        if task is None:
            return
        try:
            await task
        except Exception:
            if not quiet:
                raise

    async def flush(self) -> None:
        """Write everything collected and wait for it."""
        await self.send()
        await self.settle()


_collector_paused = 0  # posts running with the cyclic collector paused (see collector_paused)
_collector_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while an ERA posts.

    Posting a 10,000-claim ERA keeps a few hundred thousand small objects alive at once (the transaction's
    parsed claims, our claim copies, rows waiting to be written). Each time they grow by a quarter the
    collector walks all of them again, looking for cycles they hardly ever form (measured: 6 full
    collections, ~1 s of a ~4.5 s post). Reference counting still frees everything that is not a cycle;
    cycles made meanwhile are found by the first collection afterwards. Counted, so overlapping posts
    resume it once, when the last one ends; a collector someone else disabled stays disabled."""
    global _collector_paused, _collector_was_enabled
    if _collector_paused == 0:
        _collector_was_enabled = gc.isenabled()
        gc.disable()
    _collector_paused += 1
    try:
        yield
    finally:
        _collector_paused -= 1
        if _collector_paused == 0 and _collector_was_enabled:
            gc.enable()
