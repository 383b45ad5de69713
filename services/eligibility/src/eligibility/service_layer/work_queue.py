"""The eligibility work queue: answers of unattended checks that need a person (front desk, billing). Raised by
the nightly batch, re-checks and eligibility denials; resolved by a person."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from rcm_shared.db.types import new_id
from rcm_shared.http.auth import Principal
from rcm_shared.observability import metrics
from rcm_shared.unit_of_work import UnitOfWork
from rcm_shared.work_items.api import WorkQueue
from rcm_shared.work_items.workflow import WorkItem as QueueItem

from eligibility.adapters.queue_items import POLICY, QUEUE
from eligibility.domain.commands import ResolveWorkItem
from eligibility.domain.exceptions import WorkItemNotFound
from eligibility.domain.model import WorkItem
from eligibility.domain.work_queue import Attention
from eligibility.service_layer.unit_of_work import SOURCE, EligibilityUnitOfWork


async def raise_work_item(uow: EligibilityUnitOfWork, *, practice_id: str, patient_id: str, payer_id: str,
                          attention: Attention, service_date: date | None, now: datetime,
                          check_id: str | None = None, run_id: str | None = None,
                          recheck_id: str | None = None) -> str:
    """One open item per patient, payer and kind: a repeat (the next night, another denial) brings the open
    item up to date and counts the occurrence instead of piling up duplicates."""
    metrics.BUSINESS_EVENTS.labels(SOURCE, f"eligibility_work_item_{attention.kind.value}").inc()
    return await uow.work_items.raise_item(WorkItem.raise_for(
        item_id=new_id(), practice_id=practice_id, patient_id=patient_id, payer_id=payer_id, attention=attention,
        service_date=service_date, now=now, check_id=check_id, run_id=run_id, recheck_id=recheck_id))


async def resolve_work_item(uows: Callable[[], EligibilityUnitOfWork], command: ResolveWorkItem, *,
                            now: datetime) -> WorkItem:
    """Mark an item done (again: no change). ``WorkItemNotFound`` when the practice has no such item."""
    async with uows() as uow:
        item = await uow.work_items.get(command.practice_id, command.item_id)
        if item is None:
            raise WorkItemNotFound
        item.resolve(command.resolved_by, now)
        await uow.work_items.save(item)
    return item


async def resolve_from_queue(uow: UnitOfWork, item: QueueItem, code: str, reference: str | None,
                             principal: Principal) -> None:
    """The kernel's resolution of an eligibility item (``/v1/work-items/{id}/actions``): the eligibility item is
    resolved with it (same id), by the person acting."""
    assert isinstance(uow, EligibilityUnitOfWork) and item.resolved_at is not None
    found = await uow.work_items.get(item.practice_id, item.item_id)
    if found is None:
        raise WorkItemNotFound
    found.resolve(principal.subject, item.resolved_at)
    await uow.work_items.save(found)


QUEUES = {QUEUE: WorkQueue(QUEUE, frozenset({"resolved", "coverage_updated", "patient_self_pay"}), POLICY,
                           resolve_from_queue)}
