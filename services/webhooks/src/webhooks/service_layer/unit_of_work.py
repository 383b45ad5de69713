"""The unit of work of webhooks: one transaction and the repositories of its aggregates. Webhooks announces no
integration events of its own (it delivers other services' events), so its mapper refuses anything recorded."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from rcm_shared.unit_of_work import Announcement, UnitOfWork, UnitOfWorkFactory
from sqlalchemy.ext.asyncio import AsyncSession

from webhooks.adapters.repository import (
    SqlDeliveryRepository,
    SqlEndpointRepository,
    SqlEventRepository,
    SqlPracticeSettingsRepository,
)
from webhooks.domain.model import Delivery, Endpoint
from webhooks.domain.ordering import Queued


class EndpointRepository(Protocol):
    async def add(self, endpoint: Endpoint) -> None: ...

    async def save(self, endpoint: Endpoint) -> None: ...

    async def get(self, practice_id: str | None, endpoint_id: str, *, lock: bool = False) -> Endpoint | None: ...

    async def get_many(self, endpoint_ids: Sequence[str]) -> dict[str, Endpoint]: ...

    async def of_practices(self, practice_ids: Sequence[str]) -> list[Endpoint]: ...


class PracticeSettingsRepository(Protocol):
    async def phi_opt_in(self, practice_id: str) -> bool: ...

    async def set_phi_opt_in(self, practice_id: str, opt_in: bool, at: datetime) -> None: ...


class EventRepository(Protocol):
    async def add_new(self, rows: Sequence[dict[str, Any]]) -> set[str]: ...

    async def get(self, practice_id: str, event_id: str) -> dict[str, Any] | None: ...

    async def received_between(self, practice_id: str, since: datetime, until: datetime, *,
                               limit: int) -> list[dict[str, Any]]: ...

    async def cloud_events(self, event_ids: Sequence[str]) -> dict[str, dict[str, Any]]: ...


class DeliveryRepository(Protocol):
    async def enqueue(self, rows: Sequence[dict[str, Any]]) -> list[int]: ...

    async def due_heads(self, now: datetime, *, limit: int) -> list[Queued]: ...

    async def lease(self, delivery_ids: Sequence[int], now: datetime, until: datetime) -> list[int]: ...

    async def get(self, delivery_id: int, *, lock: bool = False) -> Delivery | None: ...

    async def save(self, delivery: Delivery, now: datetime) -> None: ...

    async def release(self, endpoint_id: str, now: datetime) -> int: ...

    async def give_up_pending(self, endpoint_id: str, now: datetime) -> int: ...


def no_announcements(event: Any) -> Iterable[Announcement]:
    raise TypeError(f"webhooks announces no integration event ({type(event).__name__})")


class WebhooksUnitOfWork(UnitOfWork):
    endpoints: EndpointRepository
    settings: PracticeSettingsRepository
    events: EventRepository
    deliveries: DeliveryRepository

    def bind(self, session: AsyncSession) -> None:
        self.endpoints = SqlEndpointRepository(session)
        self.settings = SqlPracticeSettingsRepository(session)
        self.events = SqlEventRepository(session)
        self.deliveries = SqlDeliveryRepository(session)


UnitsOfWork = UnitOfWorkFactory[WebhooksUnitOfWork]
