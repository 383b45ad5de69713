"""The integration events that announce a work item's opening and resolution (each service's event mapper
hands its work-item events here, so every service announces them the same way)."""

from __future__ import annotations

from typing import Any

from rcm_shared.contracts.work_items import WorkItemOpenedV1, WorkItemResolvedV1
from rcm_shared.unit_of_work import Announcement
from rcm_shared.work_items.workflow import WorkItemOpened, WorkItemResolved


def work_item_announcements(event: Any, service: str) -> list[Announcement]:
    if isinstance(event, WorkItemOpened):
        item = event.item
        return [(WorkItemOpenedV1(
            item_id=item.item_id, practice_id=item.practice_id, service=service, queue=item.queue,
            category=item.category, subject_type=item.subject_type, subject_id=item.subject_id,
            payer_id=item.payer_id, amount=item.amount, priority=item.priority.value, due_on=item.due_on,
            assignee=item.assignee, reopened=event.reopened), item.item_id)]
    if isinstance(event, WorkItemResolved):
        item = event.item
        assert item.resolution_code is not None and item.resolved_by is not None
        return [(WorkItemResolvedV1(
            item_id=item.item_id, practice_id=item.practice_id, service=service, queue=item.queue,
            subject_type=item.subject_type, subject_id=item.subject_id, resolution_code=item.resolution_code,
            resolved_by=item.resolved_by), item.item_id)]
    return []
