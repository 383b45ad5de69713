"""The unit of work: one transaction, and the events that announce what it changed.

A use case works on aggregates it loads through the unit of work's repositories and hands them back with
``uow.add(aggregate)``. On commit the unit of work pulls the domain events each aggregate recorded, asks the
service's event mapper which integration events (``rcm_shared.contracts``) announce them, and stages those as
outbox rows in the same transaction: a state change and its announcement commit together, and no use case
builds a Kafka payload or calls the outbox by hand.

Two ways in:

* ``async with factory() as uow:`` (HTTP routes, periodic jobs): the unit of work owns the transaction;
  leaving the block commits (an exception rolls back).
* ``factory.joining(session, causation=envelope)`` (consumers): the consumer owns the transaction (one per
  poll, a savepoint per event); the unit of work stages its events when the handler's block ends and never
  commits itself. The consumed envelope becomes the causation of every event staged.

A service subclasses :class:`UnitOfWork` to expose its repositories (``bind`` is called with the session),
and its tests use the same subclass over fakes, or :class:`rcm_shared.testing.fakes.RecordingOutbox` to see
what would have been published.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from rcm_shared.contracts.base import EventPayload
from rcm_shared.contracts.envelope import EventEnvelope
from rcm_shared.db.database import Database
from rcm_shared.messaging.outbox import stage_events


class RecordsEvents(Protocol):
    """An aggregate: it records past-tense domain events as it changes and hands them over once."""

    def pull_events(self) -> list[Any]: ...


#: An integration event to publish and the aggregate id it is about (the Kafka key; never PHI).
Announcement = tuple[EventPayload, str]


class EventMapper(Protocol):
    """Turns one domain event into the integration events that announce it (often one, sometimes none)."""

    def __call__(self, event: Any) -> Iterable[Announcement]: ...


class Outbox(Protocol):
    """Where announcements go: the service's outbox table (or a recording fake in unit tests)."""

    async def stage(self, session: AsyncSession | None, practice_id: str, announcements: list[Announcement],
                    causation: EventEnvelope | None) -> None: ...


class TableOutbox:
    """Announcements as outbox rows in the caller's transaction (bulk: one statement per practice)."""

    def __init__(self, db: Database, source: str) -> None:
        self._tables = db.tables
        self._source = source

    async def stage(self, session: AsyncSession | None, practice_id: str, announcements: list[Announcement],
                    causation: EventEnvelope | None) -> None:
        assert session is not None, "a table outbox stages inside a transaction"
        await stage_events(session, self._tables, announcements, source=self._source, practice_id=practice_id,
                           causation=causation)


class UnitOfWork:
    """One transaction of one service. Subclasses add repositories in :meth:`bind`."""

    def __init__(self, db: Database | None, mapper: EventMapper, outbox: Outbox, *,
                 session: AsyncSession | None = None, causation: EventEnvelope | None = None) -> None:
        self._db = db
        self._mapper = mapper
        self._outbox = outbox
        self._joined = session is not None
        self._session = session
        self.causation = causation
        self._aggregates: list[RecordsEvents] = []
        self._added: set[int] = set()
        self._announcements: list[Announcement] = []
        if session is not None:
            self.bind(session)

    # -- what a subclass provides
    def bind(self, session: AsyncSession) -> None:
        """Build the repositories on ``session`` (called once the transaction exists)."""

    # -- what use cases call
    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("the unit of work has not begun: use `async with`")
        return self._session

    def add(self, *aggregates: RecordsEvents) -> None:
        """Collect these aggregates' recorded events when the unit of work commits."""
        for aggregate in aggregates:
            if id(aggregate) not in self._added:  # by identity; the list keeps each alive, so ids stay unique
                self._added.add(id(aggregate))
                self._aggregates.append(aggregate)

    def announce(self, payload: EventPayload, subject: str) -> None:
        """Publish an integration event that no aggregate records (a projection's own fact, a work item)."""
        self._announcements.append((payload, subject))

    async def stage_events(self) -> int:
        """Map what was recorded so far and stage it in this transaction; returns how many were staged."""
        announcements = self._announcements
        self._announcements = []
        for aggregate in self._aggregates:
            for event in aggregate.pull_events():
                announcements.extend(self._mapper(event))
        if not announcements:
            return 0
        by_practice: dict[str, list[Announcement]] = defaultdict(list)
        for payload, subject in announcements:
            by_practice[_practice_of(payload)].append((payload, subject))
        for practice_id, rows in by_practice.items():
            await self._outbox.stage(self._session, practice_id, rows, self.causation)
        return len(announcements)

    # -- transaction boundary
    async def __aenter__(self) -> Self:
        if not self._joined:
            await self._begin()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._joined:
            if exc is None:
                await self.stage_events()
            return
        if exc is not None:
            await self._rollback()
            return
        try:
            await self.stage_events()
        except BaseException:
            await self._rollback()
            raise
        await self._commit()

    async def _begin(self) -> None:
        if self._db is None:
            raise RuntimeError("a unit of work without a database can only join a session")
        self._session = self._db.sessions()
        await self._session.begin()
        self.bind(self._session)

    async def _commit(self) -> None:
        session = self.session
        try:
            await session.commit()
        finally:
            await session.close()
            self._session = None
        if self._db is not None:
            self._db.committed()

    async def _rollback(self) -> None:
        session = self.session
        try:
            await session.rollback()
        finally:
            await session.close()
            self._session = None


def _practice_of(payload: EventPayload) -> str:
    practice = getattr(payload, "practice_id", None)
    if not isinstance(practice, str) or not practice:
        raise ValueError(f"{type(payload).__name__} carries no practice_id: every event belongs to one practice")
    return practice


U = TypeVar("U", bound=UnitOfWork)


class UnitOfWorkFactory(Generic[U]):
    """What a composition root hands to entrypoints: new units of work, or one joining a consumer's session."""

    def __init__(self, build: Callable[..., U], db: Database) -> None:
        self._build = build
        self._db = db

    def __call__(self) -> U:
        return self._build(self._db)

    def joining(self, session: AsyncSession, *, causation: EventEnvelope | None = None) -> U:
        return self._build(self._db, session=session, causation=causation)
