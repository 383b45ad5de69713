"""Work items in the service's database: load, save only if unchanged since loaded, list with a biller's filters."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rcm_shared.work_items.tables import WorkItemTables
from rcm_shared.work_items.workflow import (
    Priority,
    StaleWorkItem,
    WorkItem,
    WorkItemAction,
    WorkItemState,
)

#: ``session.info`` key: the items a person is acting on in this transaction (the kernel's action route). The owning
#: service's own followers (a claim leaving its queue closes its item) leave those alone: the person's action saves
#: them.
ACTING_ON = "rcm.work_items.acting_on"


def acting_on(session: AsyncSession) -> set[str]:
    found: set[str] = session.info.setdefault(ACTING_ON, set())
    return found


SORTS = {
    "priority": ("priority_rank", "due_on"),
    "due": ("due_on", "priority_rank"),
    "amount": ("-amount", "priority_rank"),
    "age": ("opened_at", "priority_rank"),
    "updated": ("-updated_at",),
}


@dataclass(frozen=True)
class WorkItemFilter:
    queue: str | None = None
    states: tuple[WorkItemState, ...] | None = None  # None: every active state
    category: str | None = None
    payer_id: str | None = None
    clinician_npi: str | None = None
    program: str | None = None
    assignee: str | None = None  # "unassigned": no one
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    opened_before: datetime | None = None  # age: open at least since
    due_before: date | None = None
    subject_id: str | None = None


class WorkItemRepository:
    def __init__(self, session: AsyncSession, tables: WorkItemTables) -> None:
        self._session = session
        self._t = tables

    async def get(self, practice_id: str, item_id: str, *, for_update: bool = False) -> WorkItem | None:
        items = self._t.items
        query = select(items).where(items.c.practice_id == practice_id, items.c.item_id == item_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).mappings().first()
        return _item(row) if row is not None else None

    async def active_for(self, practice_id: str, queue: str, subject_type: str, subject_id: str) -> WorkItem | None:
        items = self._t.items
        row = (await self._session.execute(select(items).where(
            items.c.practice_id == practice_id, items.c.queue == queue, items.c.subject_type == subject_type,
            items.c.subject_id == subject_id, items.c.state != WorkItemState.RESOLVED.value))).mappings().first()
        return _item(row) if row is not None else None

    async def active_for_subjects(self, practice_id: str, subject_type: str,
                                  subject_ids: Collection[str]) -> list[WorkItem]:
        """The active items (any queue) about these subjects, in one query (a service following many of its
        aggregates at once)."""
        if not subject_ids:
            return []
        items = self._t.items
        rows = (await self._session.execute(select(items).where(
            items.c.practice_id == practice_id, items.c.subject_type == subject_type,
            items.c.subject_id.in_(sorted(set(subject_ids))), items.c.state != WorkItemState.RESOLVED.value)
            .order_by(items.c.item_id))).mappings().all()
        return [_item(r) for r in rows]

    async def latest_for(self, practice_id: str, queue: str, subject_type: str, subject_id: str) -> WorkItem | None:
        """The active item, or else the most recently resolved one (to reopen when the problem comes back)."""
        items = self._t.items
        row = (await self._session.execute(select(items).where(
            items.c.practice_id == practice_id, items.c.queue == queue, items.c.subject_type == subject_type,
            items.c.subject_id == subject_id).order_by(
                (items.c.state == WorkItemState.RESOLVED.value).asc(), items.c.opened_at.desc()).limit(1)
        )).mappings().first()
        return _item(row) if row is not None else None

    async def save(self, item: WorkItem) -> None:
        """Insert a new item or update one, only if its version is still the one read (else
        :class:`StaleWorkItem`), and append the actions taken since it was read."""
        if not item.new_actions and item.version > 0:
            return
        now = item.new_actions[-1].at if item.new_actions else item.opened_at
        values = _row(item, now)
        items = self._t.items
        if item.version == 0:
            await self._session.execute(insert(items).values(item_id=item.item_id, version=1, **values))
        else:
            result = await self._session.execute(update(items).where(
                items.c.item_id == item.item_id, items.c.version == item.version).values(
                    version=item.version + 1, **values))
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise StaleWorkItem(item.item_id)
        item.version += 1
        if item.new_actions:
            await self._session.execute(insert(self._t.actions), _action_rows(item))
            item.new_actions = []

    async def trail(self, practice_id: str, item_id: str) -> list[WorkItemAction]:
        actions = self._t.actions
        rows = (await self._session.execute(select(actions).where(
            actions.c.practice_id == practice_id, actions.c.item_id == item_id).order_by(actions.c.id))).all()
        return [WorkItemAction(r.at, r.actor, r.action, WorkItemState(r.from_state) if r.from_state else None,
                               WorkItemState(r.to_state), r.note, r.detail or {}) for r in rows]

    async def list(self, practice_id: str, filters: WorkItemFilter, *, sort: str = "priority", limit: int = 100,
                   offset: int = 0) -> list[WorkItem]:
        items = self._t.items
        conditions: list[Any] = [items.c.practice_id == practice_id]
        if filters.states is None:
            conditions.append(items.c.state != WorkItemState.RESOLVED.value)
        else:
            conditions.append(items.c.state.in_([s.value for s in filters.states]))
        for column in ("queue", "category", "payer_id", "clinician_npi", "program", "subject_id"):
            value = getattr(filters, column)
            if value is not None:
                conditions.append(items.c[column] == value)
        if filters.assignee == "unassigned":
            conditions.append(items.c.assignee.is_(None))
        elif filters.assignee is not None:
            conditions.append(items.c.assignee == filters.assignee)
        if filters.min_amount is not None:
            conditions.append(items.c.amount >= filters.min_amount)
        if filters.max_amount is not None:
            conditions.append(items.c.amount <= filters.max_amount)
        if filters.opened_before is not None:
            conditions.append(items.c.opened_at <= filters.opened_before)
        if filters.due_before is not None:
            conditions.append(and_(items.c.due_on.is_not(None), items.c.due_on <= filters.due_before))
        order: list[Any] = []
        for key in (*SORTS[sort], "item_id"):
            sort_column = items.c[key.lstrip("-")]
            # NULLs (no due date, no amount) last in either direction, the same in both databases.
            order.append(sort_column.is_(None).asc())
            order.append(sort_column.desc() if key.startswith("-") else sort_column.asc())
        rows = (await self._session.execute(select(items).where(*conditions).order_by(*order)
                                            .limit(limit).offset(offset))).mappings().all()
        return [_item(r) for r in rows]

    async def counts(self, practice_id: str) -> dict[tuple[str, str], int]:
        """Active items per queue and state (for the console's badges and the metrics)."""
        items = self._t.items
        rows = (await self._session.execute(select(items.c.queue, items.c.state, func.count()).where(
            items.c.practice_id == practice_id, items.c.state != WorkItemState.RESOLVED.value)
            .group_by(items.c.queue, items.c.state))).all()
        return {(q, s): n for q, s, n in rows}


def new_item_rows(items: list[WorkItem]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows of items opened and never saved, and of their actions, for a service's bulk writer (an ERA opens a
    work item per denial; one insert of many rows instead of two round trips each). The items count as saved."""
    item_rows: list[dict[str, Any]] = []
    action_rows: list[dict[str, Any]] = []
    for item in items:
        if item.version != 0:
            raise ValueError("only new items are written in bulk")
        now = item.new_actions[-1].at if item.new_actions else item.opened_at
        item_rows.append({"item_id": item.item_id, "version": 1, **_row(item, now)})
        action_rows.extend(_action_rows(item))
        item.version, item.new_actions = 1, []
    return item_rows, action_rows


def _action_rows(item: WorkItem) -> list[dict[str, Any]]:
    return [{"item_id": item.item_id, "practice_id": item.practice_id, "at": a.at, "actor": a.actor,
             "action": a.action, "from_state": a.from_state.value if a.from_state else None,
             "to_state": a.to_state.value, "note": a.note, "detail": a.detail} for a in item.new_actions]


def _row(item: WorkItem, now: datetime) -> dict[str, Any]:
    return {"practice_id": item.practice_id, "queue": item.queue, "category": item.category,
            "subject_type": item.subject_type, "subject_id": item.subject_id, "payer_id": item.payer_id,
            "clinician_npi": item.clinician_npi, "program": item.program, "amount": item.amount,
            "summary": item.summary, "state": item.state.value, "priority": item.priority.value,
            "priority_rank": item.priority.rank, "due_on": item.due_on, "assignee": item.assignee,
            "opened_at": item.opened_at, "updated_at": now, "resolution_code": item.resolution_code,
            "resolved_at": item.resolved_at, "resolved_by": item.resolved_by, "occurrences": item.occurrences}


def _item(row: Any) -> WorkItem:
    return WorkItem(
        item_id=row["item_id"], practice_id=row["practice_id"], queue=row["queue"],
        subject_type=row["subject_type"], subject_id=row["subject_id"], opened_at=row["opened_at"],
        state=WorkItemState(row["state"]), category=row["category"], payer_id=row["payer_id"],
        clinician_npi=row["clinician_npi"], program=row["program"], amount=row["amount"], due_on=row["due_on"],
        priority=Priority(row["priority"]), assignee=row["assignee"], summary=row["summary"],
        resolution_code=row["resolution_code"], resolved_at=row["resolved_at"], resolved_by=row["resolved_by"],
        occurrences=row["occurrences"], version=row["version"])
