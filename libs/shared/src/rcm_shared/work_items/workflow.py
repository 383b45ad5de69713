"""One work-item shape for every queue of every service: who has it, how urgent it is, what was done to it.

A work item is something a person must act on (a held claim, a denial, an ERA exception, unapplied cash, an
authorization running out). Each service owns its own items and its own queues; the shape, the states and the
moves between them are the same everywhere, so a biller works every queue the same way and the console and
integrations follow them through one pair of events (work-item-opened, work-item-resolved).

States: ``open`` → ``in_progress`` ↔ ``waiting_on_payer | waiting_on_clinician | waiting_on_patient`` →
``resolved`` (with a resolution code the queue allows) → ``reopened`` (active again). Every move is an action
in the item's trail (who, when, from, to, note). A move the state does not allow raises
:class:`IllegalWorkItemMove`; two people acting on the same version of an item: the second gets
:class:`StaleWorkItem` from the repository.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


class WorkItemState(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING_ON_PAYER = "waiting_on_payer"
    WAITING_ON_CLINICIAN = "waiting_on_clinician"
    WAITING_ON_PATIENT = "waiting_on_patient"
    RESOLVED = "resolved"
    REOPENED = "reopened"

    @property
    def active(self) -> bool:
        return self is not WorkItemState.RESOLVED


WAITING = {"payer": WorkItemState.WAITING_ON_PAYER, "clinician": WorkItemState.WAITING_ON_CLINICIAN,
           "patient": WorkItemState.WAITING_ON_PATIENT}


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"

    @property
    def rank(self) -> int:  # sort key: urgent first
        return ("urgent", "high", "normal", "low").index(self.value)


class WorkItemError(Exception):
    """Base of what a work-item move can refuse."""


class IllegalWorkItemMove(WorkItemError):
    def __init__(self, action: str, state: WorkItemState) -> None:
        super().__init__(f"cannot {action} an item that is {state.value}")
        self.action = action
        self.state = state


class UnknownResolution(WorkItemError):
    def __init__(self, queue: str, allowed: frozenset[str]) -> None:
        super().__init__(f"not a resolution of the {queue} queue; allowed: {', '.join(sorted(allowed))}")
        self.queue = queue
        self.allowed = allowed


class StaleWorkItem(WorkItemError):
    """Someone else changed the item since it was read: read it again and decide again."""


class WorkItemNotFound(WorkItemError):
    pass


@dataclass(frozen=True)
class PriorityPolicy:
    """When an item is urgent or high: a queue's thresholds, read from the owning service's rules file."""

    urgent_within_days: int = 7  # due (timely filing, appeal deadline) this close
    high_within_days: int = 30
    high_amount: Decimal = Decimal("250.00")  # at or above: at least high
    stale_after_days: int = 30  # open this long: at least high
    low_amount: Decimal | None = None  # below (and not due soon): low

    def priority(self, *, today: date, opened_on: date, due_on: date | None,
                 amount: Decimal | None) -> Priority:
        days_left = (due_on - today).days if due_on is not None else None
        if days_left is not None and days_left <= self.urgent_within_days:
            return Priority.URGENT
        if ((days_left is not None and days_left <= self.high_within_days)
                or (amount is not None and amount >= self.high_amount)
                or (today - opened_on).days >= self.stale_after_days):
            return Priority.HIGH
        if amount is not None and self.low_amount is not None and amount < self.low_amount:
            return Priority.LOW
        return Priority.NORMAL

    @classmethod
    def from_rules(cls, values: dict[str, Any]) -> PriorityPolicy:
        low = values.get("low_amount")
        return cls(urgent_within_days=int(values.get("urgent_within_days", cls.urgent_within_days)),
                   high_within_days=int(values.get("high_within_days", cls.high_within_days)),
                   high_amount=Decimal(str(values.get("high_amount", cls.high_amount))),
                   stale_after_days=int(values.get("stale_after_days", cls.stale_after_days)),
                   low_amount=Decimal(str(low)) if low is not None else None)


@dataclass(frozen=True)
class WorkItemAction:
    at: datetime
    actor: str
    action: str  # opened, assigned, started, waiting, noted, resolved, reopened, updated
    from_state: WorkItemState | None
    to_state: WorkItemState
    note: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkItemOpened:
    item: WorkItem
    reopened: bool


@dataclass(frozen=True)
class WorkItemResolved:
    item: WorkItem


@dataclass(eq=False)
class WorkItem:
    item_id: str
    practice_id: str
    queue: str
    subject_type: str
    subject_id: str
    opened_at: datetime
    state: WorkItemState = WorkItemState.OPEN
    category: str | None = None
    payer_id: str | None = None
    clinician_npi: str | None = None
    program: str | None = None
    amount: Decimal | None = None
    due_on: date | None = None
    priority: Priority = Priority.NORMAL
    assignee: str | None = None
    summary: str | None = None  # the queue's short, PHI-free description ("CO-197 no authorization")
    resolution_code: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    occurrences: int = 1
    version: int = 0  # as read; the repository saves only if nobody saved since
    new_actions: list[WorkItemAction] = field(default_factory=list)
    _events: list[WorkItemOpened | WorkItemResolved] = field(default_factory=list, repr=False)

    @classmethod
    def open(cls, *, item_id: str, practice_id: str, queue: str, subject_type: str, subject_id: str,
             now: datetime, actor: str = "system", policy: PriorityPolicy | None = None,
             detail: dict[str, Any] | None = None, **facts: Any) -> WorkItem:
        """``detail``: what the opening action records with it (e.g. the claims a joint review lists)."""
        item = cls(item_id=item_id, practice_id=practice_id, queue=queue, subject_type=subject_type,
                   subject_id=subject_id, opened_at=now, **facts)
        if policy is not None:
            item.priority = policy.priority(today=now.date(), opened_on=now.date(), due_on=item.due_on,
                                            amount=item.amount)
        item._act(now, actor, "opened", None, WorkItemState.OPEN, None, detail)
        item._events.append(WorkItemOpened(item, reopened=False))
        return item

    # -- moves a person makes
    def assign(self, assignee: str | None, *, actor: str, now: datetime, note: str | None = None) -> None:
        self._require_active("assign")
        if assignee == self.assignee:
            return
        self.assignee = assignee
        self._act(now, actor, "assigned", self.state, self.state, note, {"assignee": assignee})

    def start(self, *, actor: str, now: datetime, note: str | None = None) -> None:
        self._require_active("start")
        if self.state is WorkItemState.IN_PROGRESS:
            return
        self._move(WorkItemState.IN_PROGRESS, "started", actor, now, note)
        if self.assignee is None:
            self.assignee = actor

    def wait_on(self, party: str, *, actor: str, now: datetime, note: str | None = None) -> None:
        self._require_active("wait on")
        state = WAITING.get(party)
        if state is None:
            raise IllegalWorkItemMove(f"wait on {party!r}", self.state)
        self._move(state, "waiting", actor, now, note, {"on": party})

    def add_note(self, note: str, *, actor: str, now: datetime) -> None:
        self._act(now, actor, "noted", self.state, self.state, note)

    def resolve(self, resolution_code: str, *, actor: str, now: datetime, allowed: frozenset[str],
                note: str | None = None, detail: dict[str, Any] | None = None) -> None:
        self._require_active("resolve")
        if resolution_code not in allowed:
            raise UnknownResolution(self.queue, allowed)
        self.resolution_code = resolution_code
        self.resolved_at = now
        self.resolved_by = actor
        self._move(WorkItemState.RESOLVED, "resolved", actor, now, note,
                   {"resolution_code": resolution_code, **(detail or {})})
        self._events.append(WorkItemResolved(self))

    def reopen(self, *, actor: str, now: datetime, note: str | None = None) -> None:
        if self.state is not WorkItemState.RESOLVED:
            raise IllegalWorkItemMove("reopen", self.state)
        self.resolution_code = self.resolved_at = self.resolved_by = None
        self._move(WorkItemState.REOPENED, "reopened", actor, now, note)
        self._events.append(WorkItemOpened(self, reopened=True))

    # -- what the owning service does when the same problem is found again
    def recur(self, *, now: datetime, policy: PriorityPolicy | None = None, detail: dict[str, Any] | None = None,
              **facts: Any) -> None:
        """The problem was seen again (next night's run, another denial): one item, counted, brought up to date;
        a resolved item comes back as reopened."""
        for name, value in facts.items():
            setattr(self, name, value)
        self.occurrences += 1
        if self.state is WorkItemState.RESOLVED:
            self.reopen(actor="system", now=now, note="found again")
        else:
            self._act(now, "system", "updated", self.state, self.state, None,
                      {"occurrences": self.occurrences, **(detail or {})})
        self.reprioritize(today=now.date(), policy=policy)

    def reprioritize(self, *, today: date, policy: PriorityPolicy | None) -> None:
        if policy is not None:
            self.priority = policy.priority(today=today, opened_on=self.opened_at.date(), due_on=self.due_on,
                                            amount=self.amount)

    def pull_events(self) -> list[WorkItemOpened | WorkItemResolved]:
        events, self._events = self._events, []
        return events

    # -- internals
    def _require_active(self, action: str) -> None:
        if not self.state.active:
            raise IllegalWorkItemMove(action, self.state)

    def _move(self, to: WorkItemState, action: str, actor: str, now: datetime, note: str | None,
              detail: dict[str, Any] | None = None) -> None:
        before = self.state
        self.state = to
        self._act(now, actor, action, before, to, note, detail or {})

    def _act(self, now: datetime, actor: str, action: str, before: WorkItemState | None, after: WorkItemState,
             note: str | None = None, detail: dict[str, Any] | None = None) -> None:
        self.new_actions.append(WorkItemAction(now, actor, action, before, after, note, detail or {}))
