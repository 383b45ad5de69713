"""Authorizations' work queues on the work-item kernel (``rcm_shared.work_items``), brought up to date by a periodic
job from what the read-time work queue computes (``GET /v1/work-queue``):

* ``authorization_renewals``: one item per authorization crossing a threshold of ``rules/renewal.yaml`` (subject
  the authorization's id; due on the day the renewal must be submitted by); closed by the system
  (``no_longer_due``) when a successor, a pending concurrent review or a changed balance takes it out of the
  renewal list; a person closes it with ``renewal_requested`` (naming the request) or ``not_needed``.
* ``missing_authorizations``: one item per insured visit whose payer wanted an authorization none covered (subject
  the visit's id); closed by the system (``authorization_on_file``) once one covers it; a person closes it with
  ``requested`` or ``not_needed``.

An item is opened once per problem (not found again on every run); its due date and facts follow the problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from rcm_shared.db.types import new_id
from rcm_shared.work_items.api import WorkQueue
from rcm_shared.work_items.repository import WorkItemFilter
from rcm_shared.work_items.workflow import PriorityPolicy, WorkItem
from sqlalchemy import select

from authorizations.adapters.orm import authorizations, missing
from authorizations.domain.rulebook import Rulebook
from authorizations.service_layer import views
from authorizations.service_layer.renewals import renewals_due
from authorizations.service_layer.unit_of_work import AuthorizationsUnitOfWork, UnitsOfWork

RENEWALS = "authorization_renewals"
MISSING = "missing_authorizations"
POLICY = PriorityPolicy()


@dataclass(frozen=True)
class Wanted:
    queue: str
    subject_type: str
    subject_id: str
    closed_as: str  # the system's code when the problem goes away
    facts: dict[str, Any]


async def practices(uows: UnitsOfWork) -> list[str]:
    async with uows() as uow:
        found = set((await uow.session.execute(select(authorizations.c.practice_id).distinct())).scalars())
        found |= set((await uow.session.execute(select(missing.c.practice_id).distinct())).scalars())
    return sorted(found)


async def wanted(uow: AuthorizationsUnitOfWork, practice_id: str, today: date, rules: Rulebook) -> list[Wanted]:
    ids = {r.number: r.authorization_id for r in (await uow.session.execute(select(
        authorizations.c.number, authorizations.c.authorization_id).where(
        authorizations.c.practice_id == practice_id))).all()}
    found = []
    for task in await renewals_due(uow.session, practice_id, today, rules=rules):
        found.append(Wanted(RENEWALS, "authorization", ids[task["authorization_number"]], "no_longer_due", {
            "payer_id": task["payer_id"][:64], "due_on": task["due_by"], "category": task["triggers"][0],
            "summary": ("renewal due: " + ", ".join(task["triggers"]))[:200]}))
    for row in await views.missing_authorizations(uow.session, practice_id):
        found.append(Wanted(MISSING, "visit", row["visit_id"], "authorization_on_file", {
            "payer_id": row["payer_id"][:64], "category": row["reason"][:60],
            "summary": f"no authorization on file for {row['cpt_code']} ({row['reason']})"[:200]}))
    return found


async def sync_practice(uow: AuthorizationsUnitOfWork, practice_id: str, today: date, now: datetime,
                        rules: Rulebook) -> tuple[int, int]:
    """Open an item for each problem without one, close each item whose problem went away. Returns (opened,
    closed)."""
    problems = {(w.queue, w.subject_id): w for w in await wanted(uow, practice_id, today, rules)}
    active: dict[tuple[str, str], WorkItem] = {}
    for queue in (RENEWALS, MISSING):
        offset = 0
        while True:
            page = await uow.work_items.list(practice_id, WorkItemFilter(queue=queue), limit=500, offset=offset)
            active.update({(i.queue, i.subject_id): i for i in page})
            if len(page) < 500:
                break
            offset += 500
    opened = closed = 0
    for key, item in active.items():
        problem = problems.get(key)
        if problem is None:
            code = "no_longer_due" if item.queue == RENEWALS else "authorization_on_file"
            item.resolve(code, actor="system", now=now, allowed=frozenset({code}), note="the problem went away")
            closed += 1
        elif problem.facts.get("due_on") != item.due_on:
            item.due_on = problem.facts.get("due_on")
            item.reprioritize(today=today, policy=POLICY)
            item.add_note(f"due on {item.due_on}", actor="system", now=now)
        else:
            continue
        await uow.work_items.save(item)
        uow.add(item)
    for key, problem in problems.items():
        if key in active:
            continue
        item = WorkItem.open(item_id=new_id(), practice_id=practice_id, queue=problem.queue,
                             subject_type=problem.subject_type, subject_id=problem.subject_id, now=now,
                             policy=POLICY, **problem.facts)
        await uow.work_items.save(item)
        uow.add(item)
        opened += 1
    return opened, closed


async def sync_work_items(uows: UnitsOfWork, rules: Rulebook, *, today: date, now: datetime) -> tuple[int, int]:
    """Every practice's queues brought up to date, one transaction per practice."""
    opened = closed = 0
    for practice_id in await practices(uows):
        async with uows() as uow:
            o, c = await sync_practice(uow, practice_id, today, now, rules)
        opened, closed = opened + o, closed + c
    return opened, closed


def queues() -> dict[str, WorkQueue]:
    return {RENEWALS: WorkQueue(RENEWALS, frozenset({"renewal_requested", "not_needed"}), POLICY),
            MISSING: WorkQueue(MISSING, frozenset({"requested", "not_needed"}), POLICY)}
