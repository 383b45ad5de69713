"""Fakes for use-case unit tests: a unit of work that runs in memory and records what it would publish."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from rcm_shared.contracts.base import EventPayload
from rcm_shared.contracts.envelope import EventEnvelope
from rcm_shared.unit_of_work import Announcement, EventMapper, UnitOfWork


class RecordingOutbox:
    """Keeps what a unit of work staged, in order, per practice."""

    def __init__(self) -> None:
        self.staged: list[tuple[str, EventPayload, str, EventEnvelope | None]] = []

    async def stage(self, session: AsyncSession | None, practice_id: str, announcements: list[Announcement],
                    causation: EventEnvelope | None) -> None:
        self.staged.extend((practice_id, payload, subject, causation) for payload, subject in announcements)

    def payloads(self, kind: type[EventPayload] | None = None) -> list[Any]:
        return [p for _, p, _, _ in self.staged if kind is None or isinstance(p, kind)]


class InMemoryUnitOfWork(UnitOfWork):
    """A unit of work with no database: subclasses set in-memory repositories in ``bind_in_memory``.

    ``commits`` counts commits; events staged by a block that raised are discarded, as a rollback would."""

    def __init__(self, mapper: EventMapper, outbox: RecordingOutbox | None = None) -> None:
        self.outbox = outbox or RecordingOutbox()
        super().__init__(None, mapper, self.outbox)
        self.commits = 0
        self.rollbacks = 0
        self.bind_in_memory()

    def bind_in_memory(self) -> None:
        """Build the in-memory repositories (once; they keep their contents across units)."""

    async def _begin(self) -> None:
        self._mark = len(self.outbox.staged)

    async def _commit(self) -> None:
        self.commits += 1

    async def _rollback(self) -> None:
        del self.outbox.staged[self._mark:]
        self.rollbacks += 1
