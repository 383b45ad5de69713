"""Events every service publishes about its own work items: one shape, whoever owns the queue."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from rcm_shared.contracts import topics
from rcm_shared.contracts.base import EventPayload

Priority = Literal["urgent", "high", "normal", "low"]


class WorkItemOpenedV1(EventPayload):
    event_type = "work-item.opened"
    topic = topics.WORK_ITEM_OPENED
    summary = ("A work item was opened (or reopened) in one service's queue: what it is about, its priority "
               "and due date. Ids and codes only: the owner service's API has the rest.")

    item_id: str
    practice_id: str
    service: str  # the service that owns the item (and the API to act on it)
    queue: str  # e.g. held_claims, denials, era_exceptions, unapplied_cash, eligibility, authorizations
    category: str | None = None
    subject_type: str  # claim, visit, denial, era, ...
    subject_id: str  # a platform id (UUID), never PHI
    payer_id: str | None = None
    amount: Decimal | None = None
    priority: Priority
    due_on: date | None = None
    assignee: str | None = None
    reopened: bool = False


class WorkItemResolvedV1(EventPayload):
    event_type = "work-item.resolved"
    topic = topics.WORK_ITEM_RESOLVED
    summary = "A work item was resolved with a resolution code by a person (or by the system that fixed it)."

    item_id: str
    practice_id: str
    service: str
    queue: str
    subject_type: str
    subject_id: str
    resolution_code: str
    resolved_by: str
