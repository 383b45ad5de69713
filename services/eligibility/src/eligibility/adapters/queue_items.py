"""Eligibility's work queue on the work-item kernel (``rcm_shared.work_items``): each eligibility work item (the
member, payer, kind and next action, in ``eligibility_work_items``) has one kernel item with the same id in queue
``eligibility`` (category its kind, due on the visit's date), so it is assigned, annotated, parked and resolved
through ``/v1/work-items/{id}/actions`` and announced (work-item-opened / work-item-resolved) like every queue.
Kept together where the eligibility item is written: raised (opened, or found again), resolved (either way)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rcm_shared.messaging import stage_events
from rcm_shared.work_items.announcements import work_item_announcements
from rcm_shared.work_items.repository import WorkItemRepository, acting_on
from rcm_shared.work_items.workflow import PriorityPolicy, WorkItem
from sqlalchemy.ext.asyncio import AsyncSession

from eligibility.adapters.orm import platform, queue_item_tables
from eligibility.domain.model import WorkItem as EligibilityItem

SOURCE = "eligibility"
QUEUE = "eligibility"
SUBJECT = "eligibility_item"
POLICY = PriorityPolicy()


def _facts(item: EligibilityItem) -> dict[str, Any]:
    return {"category": item.kind[:60], "payer_id": item.payer_id[:64], "due_on": item.service_date,
            "summary": f"{item.next_action}: {','.join(item.reason_codes) or item.kind}"[:200]}


async def _announce(session: AsyncSession, item: WorkItem) -> None:
    announcements = [a for event in item.pull_events() for a in work_item_announcements(event, SOURCE)]
    if announcements:
        await stage_events(session, platform, announcements, source=SOURCE, practice_id=item.practice_id)


async def raised(session: AsyncSession, item: EligibilityItem, item_id: str, now: datetime) -> None:
    """The eligibility item ``item_id`` was opened, or an open one found again."""
    repository = WorkItemRepository(session, queue_item_tables)
    queued = await repository.get(item.practice_id, item_id)
    if queued is None:
        queued = WorkItem.open(item_id=item_id, practice_id=item.practice_id, queue=QUEUE, subject_type=SUBJECT,
                               subject_id=item_id, now=now, policy=POLICY, **_facts(item))
    elif queued.state.active:
        queued.recur(now=now, policy=POLICY, **_facts(item))
    else:
        return
    await repository.save(queued)
    await _announce(session, queued)


async def resolved(session: AsyncSession, item: EligibilityItem) -> None:
    """The eligibility item was resolved (its old route): its kernel item closes with it, unless a person's
    action on the kernel item is what resolved it."""
    if item.resolved_at is None or item.item_id in acting_on(session):
        return
    repository = WorkItemRepository(session, queue_item_tables)
    queued = await repository.get(item.practice_id, item.item_id)
    if queued is None or not queued.state.active:
        return
    queued.resolve("resolved", actor=item.resolved_by or "system", now=item.resolved_at,
                   allowed=frozenset({"resolved"}))
    await repository.save(queued)
    await _announce(session, queued)
