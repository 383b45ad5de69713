"""Work items over a fake unit of work: one open item per member and kind counting occurrences; resolving."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from eligibility.domain.commands import ResolveWorkItem
from eligibility.domain.exceptions import WorkItemNotFound
from eligibility.domain.model import WorkItemStatus
from eligibility.domain.work_queue import NO_INSURANCE, payer_unavailable
from eligibility.service_layer.work_queue import raise_work_item, resolve_work_item

from .fakes import FakeUnitOfWork

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


async def raise_(uow: FakeUnitOfWork, patient_id: str = "pt-1", attention=NO_INSURANCE) -> str:  # type: ignore[no-untyped-def]
    async with uow:
        return await raise_work_item(uow, practice_id="practice-a", patient_id=patient_id, payer_id="SBXHP",
                                     attention=attention, service_date=date(2026, 12, 2), now=NOW)


async def test_a_repeat_counts_an_occurrence_and_another_kind_is_another_item(uow: FakeUnitOfWork) -> None:
    first = await raise_(uow)
    assert await raise_(uow) == first
    other = await raise_(uow, attention=payer_unavailable("no answer"))
    assert other != first
    assert uow.work_items.rows[first].occurrences == 2


async def test_resolving_is_done_once_and_a_new_repeat_opens_a_new_item(uow: FakeUnitOfWork) -> None:
    item_id = await raise_(uow)
    resolved = await resolve_work_item(uow, ResolveWorkItem("practice-a", item_id, "front-desk"), now=NOW)
    assert (resolved.status, resolved.resolved_by, resolved.resolved_at) == (WorkItemStatus.RESOLVED, "front-desk",
                                                                             NOW)
    again = await resolve_work_item(uow, ResolveWorkItem("practice-a", item_id, "someone-else"), now=NOW)
    assert again.resolved_by == "front-desk", "resolving a resolved item changes nothing"
    assert await raise_(uow) != item_id


async def test_another_practices_item_is_not_found(uow: FakeUnitOfWork) -> None:
    item_id = await raise_(uow)
    with pytest.raises(WorkItemNotFound):
        await resolve_work_item(uow, ResolveWorkItem("practice-b", item_id, "intruder"), now=NOW)
    assert uow.work_items.rows[item_id].status is WorkItemStatus.OPEN
