"""``/v1/work-items``: every service's queues, worked the same way through its own API.

``GET /v1/work-items`` lists a practice's items with the filters a biller uses every day (queue, state, category,
payer, clinician, program, assignee, amount, age, due date) sorted by priority, due date, amount or age;
``GET /v1/work-items/{id}`` shows one with its trail; ``POST /v1/work-items/{id}/actions`` assigns, starts, parks
(waiting on payer / clinician / patient), annotates, resolves with a code the queue allows, or reopens.
A caller may send the ``version`` it read: if the item changed since, the answer is a 409 and nothing moves;
two people acting at once on one item: one wins, the other gets the 409. The action and the event announcing it
commit together, with the audit row.
"""

# No `from __future__ import annotations`: the routes are built inside a factory, and FastAPI must see their
# scope-bound annotations (Reader, Writer) as objects, not as names it cannot resolve.
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from rcm_shared.http.audit import AuditEntry, audited
from rcm_shared.http.auth import Principal, require_scope
from rcm_shared.http.deps import ClockDep, DatabaseDep
from rcm_shared.http.errors import ProblemError
from rcm_shared.http.pagination import cursor_after, encode_cursor
from rcm_shared.unit_of_work import Announcement, TableOutbox, UnitOfWork
from rcm_shared.work_items.announcements import work_item_announcements
from rcm_shared.work_items.repository import WorkItemFilter, WorkItemRepository, acting_on
from rcm_shared.work_items.tables import WorkItemTables
from rcm_shared.work_items.workflow import (
    IllegalWorkItemMove,
    PriorityPolicy,
    StaleWorkItem,
    UnknownResolution,
    WorkItem,
    WorkItemAction,
    WorkItemState,
)

#: What a queue's owner does, in the same transaction, when an item of that queue is resolved with a code
#: (post the write-off, release the claim...): (unit of work, item, resolution code, reference or None, principal).
#: It may refuse with a ProblemError; then nothing moves. With the router's ``unit_of_work`` it is the service's
#: own (its repositories, its event mapper).
ResolutionEffect = Callable[[UnitOfWork, WorkItem, str, str | None, Principal], Awaitable[None]]


@dataclass(frozen=True)
class WorkQueue:
    """One queue a service owns: the resolution codes a person may close its items with."""

    name: str
    resolutions: frozenset[str]
    policy: PriorityPolicy = field(default_factory=PriorityPolicy)
    on_resolve: ResolutionEffect | None = None


Code = Annotated[str, StringConstraints(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$")]
Actor = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.@:+-]+$")]
Filter = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class WorkItemActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["assign", "unassign", "start", "wait", "note", "resolve", "reopen"]
    assignee: Actor | None = None
    waiting_on: Literal["payer", "clinician", "patient"] | None = None
    resolution_code: Code | None = None
    note: Annotated[str, StringConstraints(min_length=1, max_length=4000)] | None = None
    reference: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")] | None = \
        Field(default=None, description="what a resolution links to: the corrected claim, the appeal, the "
                                        "reason code of a write-off (the queue says which it needs)")
    version: int | None = Field(default=None, ge=1, description="the version you read; 409 if it moved since")


class WorkItemActionOut(BaseModel):
    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str
    note: str | None
    detail: dict[str, Any]


class WorkItemOut(BaseModel):
    item_id: str
    queue: str
    category: str | None
    subject_type: str
    subject_id: str
    payer_id: str | None
    clinician_npi: str | None
    program: str | None
    amount: Decimal | None
    summary: str | None
    state: str
    priority: str
    due_on: date | None
    assignee: str | None
    opened_at: datetime
    age_days: int
    resolution_code: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    occurrences: int
    version: int
    trail: list[WorkItemActionOut] | None = None


class WorkItemPage(BaseModel):
    items: list[WorkItemOut]
    next_cursor: str | None


class QueueCount(BaseModel):
    queue: str
    state: str
    count: int


def work_items_router(*, service: str, tables: WorkItemTables, queues: Mapping[str, WorkQueue],
                      read_scope: str, write_scope: str,
                      unit_of_work: Callable[[], UnitOfWork] | None = None) -> APIRouter:
    """``unit_of_work``: the service's own units of work, when its resolution effects need its repositories or
    record events of their own (its event mapper must map the work-item events too: ``work_item_announcements``)."""
    router = APIRouter(prefix="/v1", tags=["work items"])
    Reader = Annotated[Principal, require_scope(read_scope)]
    Writer = Annotated[Principal, require_scope(write_scope)]
    ItemId = Annotated[str, Path(max_length=36, pattern=r"^[A-Za-z0-9-]+$")]

    @router.get("/work-items", response_model=WorkItemPage, dependencies=[audited("work_item", "list")],
                summary="The practice's work items, filtered and sorted as a biller works them")
    async def list_items(
        principal: Reader, db: DatabaseDep, clock: ClockDep,
        after: Annotated[dict[str, Any] | None, cursor_after("offset")],
        queue: Filter = None, category: Filter = None, payer_id: Filter = None, clinician_npi: Filter = None,
        program: Filter = None,
        assignee: Annotated[str | None, Query(max_length=200, pattern=r"^[A-Za-z0-9_.@:+-]+$",
                                              description="a person, or `unassigned`")] = None,
        state: Annotated[list[WorkItemState] | None, Query(description="default: every active state")] = None,
        min_amount: Annotated[Decimal | None, Query(ge=0, le=10_000_000, decimal_places=2)] = None,
        max_amount: Annotated[Decimal | None, Query(ge=0, le=10_000_000, decimal_places=2)] = None,
        min_age_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
        due_within_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
        sort: Annotated[Literal["priority", "due", "amount", "age", "updated"], Query()] = "priority",
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> WorkItemPage:
        if queue is not None and queue not in queues:
            raise ProblemError(422, "unknown-queue", "No such work queue", errors=[
                {"field": "query.queue", "code": "unknown", "message": f"one of {', '.join(sorted(queues))}"}])
        now = clock.now()
        offset = _offset(after)
        filters = WorkItemFilter(
            queue=queue, states=tuple(state) if state else None, category=category, payer_id=payer_id,
            clinician_npi=clinician_npi, program=program, assignee=assignee, min_amount=min_amount,
            max_amount=max_amount,
            opened_before=now - timedelta(days=min_age_days) if min_age_days is not None else None,
            due_before=clock.today() + timedelta(days=due_within_days) if due_within_days is not None else None)
        async with db.sessions() as session:
            found = await WorkItemRepository(session, tables).list(principal.practice_id, filters, sort=sort,
                                                                   limit=limit + 1, offset=offset)
        more = len(found) > limit
        return WorkItemPage(items=[_out(i, now) for i in found[:limit]],
                            next_cursor=encode_cursor({"offset": offset + limit}) if more else None)

    @router.get("/work-queues", response_model=list[QueueCount], dependencies=[audited("work_item", "list")],
                summary="Active work items per queue and state")
    async def queue_counts(principal: Reader, db: DatabaseDep) -> list[QueueCount]:
        async with db.sessions() as session:
            counts = await WorkItemRepository(session, tables).counts(principal.practice_id)
        return [QueueCount(queue=q, state=s, count=n) for (q, s), n in sorted(counts.items())]

    @router.get("/work-items/{item_id}", response_model=WorkItemOut, summary="One work item and its trail")
    async def get_item(item_id: ItemId, principal: Reader, db: DatabaseDep, clock: ClockDep,
                       audit: Annotated[AuditEntry, audited("work_item")]) -> WorkItemOut:
        audit.object_id = item_id
        async with db.sessions() as session:
            repository = WorkItemRepository(session, tables)
            item = await repository.get(principal.practice_id, item_id)
            if item is None:
                raise _not_found()
            trail = await repository.trail(principal.practice_id, item_id)
        return _out(item, clock.now(), trail)

    @router.post("/work-items/{item_id}/actions", response_model=WorkItemOut,
                 summary="Assign, start, park, annotate, resolve or reopen a work item")
    async def act(item_id: ItemId, body: WorkItemActionIn, principal: Writer, db: DatabaseDep, clock: ClockDep,
                  audit: Annotated[AuditEntry, audited("work_item", "write")]) -> WorkItemOut:
        audit.object_id = item_id
        now = clock.now()
        actor = principal.subject

        def mapper(event: Any) -> Iterable[Announcement]:
            return work_item_announcements(event, service)

        async with (unit_of_work() if unit_of_work is not None else UnitOfWork(db, mapper, TableOutbox(db, service))
                    ) as uow:
            repository = WorkItemRepository(uow.session, tables)
            item = await repository.get(principal.practice_id, item_id)
            if item is None:
                raise _not_found()
            if body.version is not None and body.version != item.version:
                raise _stale(item.version)
            queue = queues.get(item.queue)
            acting_on(uow.session).add(item.item_id)
            try:
                await _apply(body, item, queue, actor, now, uow, principal)
                await repository.save(item)
            except StaleWorkItem as exc:
                raise _stale(None) from exc
            except IllegalWorkItemMove as exc:
                raise ProblemError(409, "work-item-state", "The item's state does not allow that",
                                   detail=str(exc), errors=[{"field": "body.action", "code": "state",
                                                             "message": str(exc)}]) from exc
            except UnknownResolution as exc:
                raise ProblemError(422, "unknown-resolution", "Not a resolution of this queue", errors=[
                    {"field": "body.resolution_code", "code": "unknown", "message": str(exc)}]) from exc
            uow.add(item)
            await audit.record_in(uow.session)
            trail = await repository.trail(principal.practice_id, item_id)
        return _out(item, now, trail)

    return router


async def _apply(body: WorkItemActionIn, item: WorkItem, queue: WorkQueue | None, actor: str, now: datetime,
                 uow: UnitOfWork, principal: Principal) -> None:
    def need(field_name: str) -> ProblemError:
        return ProblemError(422, "missing-field", "A field this action needs is missing", errors=[
            {"field": f"body.{field_name}", "code": "missing", "message": f"is required to {body.action}"}])

    match body.action:
        case "assign":
            if body.assignee is None:
                raise need("assignee")
            item.assign(body.assignee, actor=actor, now=now, note=body.note)
        case "unassign":
            item.assign(None, actor=actor, now=now, note=body.note)
        case "start":
            item.start(actor=actor, now=now, note=body.note)
        case "wait":
            if body.waiting_on is None:
                raise need("waiting_on")
            item.wait_on(body.waiting_on, actor=actor, now=now, note=body.note)
        case "note":
            if body.note is None:
                raise need("note")
            item.add_note(body.note, actor=actor, now=now)
        case "resolve":
            if body.resolution_code is None:
                raise need("resolution_code")
            allowed = queue.resolutions if queue is not None else frozenset()
            item.resolve(body.resolution_code, actor=actor, now=now, allowed=allowed, note=body.note,
                         detail={"reference": body.reference} if body.reference else None)
            if queue is not None and queue.on_resolve is not None:
                await queue.on_resolve(uow, item, body.resolution_code, body.reference, principal)
        case "reopen":
            item.reopen(actor=actor, now=now, note=body.note)
            if queue is not None:
                item.reprioritize(today=now.date(), policy=queue.policy)


def _offset(after: dict[str, Any] | None) -> int:
    if after is None:
        return 0
    offset = after.get("offset")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise ProblemError(400, "invalid-cursor", "Cursor is invalid", errors=[
            {"field": "query.cursor", "code": "invalid", "message": "use the next_cursor of a previous page"}])
    return offset


def _not_found() -> ProblemError:
    return ProblemError(404, "work-item-not-found", "No such work item in this practice")


def _stale(current: int | None) -> ProblemError:
    return ProblemError(409, "work-item-changed", "The item changed since you read it: read it again",
                        extra={"current_version": current} if current is not None else None)


def _out(item: WorkItem, now: datetime, trail: list[WorkItemAction] | None = None) -> WorkItemOut:
    return WorkItemOut(
        item_id=item.item_id, queue=item.queue, category=item.category, subject_type=item.subject_type,
        subject_id=item.subject_id, payer_id=item.payer_id, clinician_npi=item.clinician_npi,
        program=item.program, amount=item.amount, summary=item.summary, state=item.state.value,
        priority=item.priority.value, due_on=item.due_on, assignee=item.assignee, opened_at=item.opened_at,
        age_days=max(0, (now - item.opened_at).days), resolution_code=item.resolution_code,
        resolved_at=item.resolved_at, resolved_by=item.resolved_by, occurrences=item.occurrences,
        version=item.version,
        trail=[WorkItemActionOut(at=a.at, actor=a.actor, action=a.action,
                                 from_state=a.from_state.value if a.from_state else None,
                                 to_state=a.to_state.value, note=a.note, detail=a.detail) for a in trail]
        if trail is not None else None)
