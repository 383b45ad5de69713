"""The work-item shape every queue shares: its state machine (pure), and its API over a real database file
(filters, the trail, a 409 for a stale version, an event per opening and resolution, committed with the move)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st
from rcm_shared.clock import FixedClock
from rcm_shared.config import ServiceSettings
from rcm_shared.db.database import Database
from rcm_shared.db.platform_tables import add_platform_tables
from rcm_shared.db.types import service_metadata
from rcm_shared.http.audit import AuditMiddleware
from rcm_shared.http.errors import PROBLEM_JSON, install_error_handlers
from rcm_shared.testing.identity import claims_for, public_jwks, sign
from rcm_shared.unit_of_work import TableOutbox, UnitOfWork
from rcm_shared.work_items.announcements import work_item_announcements
from rcm_shared.work_items.api import WorkQueue, work_items_router
from rcm_shared.work_items.repository import WorkItemRepository
from rcm_shared.work_items.tables import add_work_item_tables
from rcm_shared.work_items.workflow import (
    IllegalWorkItemMove,
    Priority,
    PriorityPolicy,
    UnknownResolution,
    WorkItem,
    WorkItemOpened,
    WorkItemResolved,
    WorkItemState,
)

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
RESOLUTIONS = frozenset({"corrected_and_resubmitted", "written_off", "appealed"})


def new_item(**facts: Any) -> WorkItem:
    return WorkItem.open(item_id="i1", practice_id="p1", queue="denials", subject_type="claim", subject_id="c1",
                         now=NOW, policy=PriorityPolicy(), **facts)


# --- the state machine ---------------------------------------------------------------------------------------


def test_an_item_is_worked_to_a_resolution_and_every_move_is_in_its_trail() -> None:
    item = new_item(amount=Decimal("120.00"))
    item.assign("biller-1", actor="lead", now=NOW)
    item.start(actor="biller-1", now=NOW)
    item.wait_on("payer", actor="biller-1", now=NOW, note="called, reprocessing")
    item.resolve("corrected_and_resubmitted", actor="biller-1", now=NOW, allowed=RESOLUTIONS)
    assert item.state is WorkItemState.RESOLVED and item.resolved_by == "biller-1"
    assert [a.action for a in item.new_actions] == ["opened", "assigned", "started", "waiting", "resolved"]
    assert item.new_actions[3].to_state is WorkItemState.WAITING_ON_PAYER
    assert [type(e) for e in item.pull_events()] == [WorkItemOpened, WorkItemResolved]


def test_a_resolved_item_refuses_work_until_reopened() -> None:
    item = new_item()
    item.resolve("written_off", actor="b", now=NOW, allowed=RESOLUTIONS)
    with pytest.raises(IllegalWorkItemMove):
        item.start(actor="b", now=NOW)
    with pytest.raises(IllegalWorkItemMove):
        item.resolve("written_off", actor="b", now=NOW, allowed=RESOLUTIONS)
    item.reopen(actor="senior", now=NOW, note="payer paid less than agreed")
    assert item.state is WorkItemState.REOPENED and item.resolution_code is None
    item.start(actor="b", now=NOW)
    events = item.pull_events()
    assert isinstance(events[-1], WorkItemOpened) and events[-1].reopened


def test_only_the_queues_resolutions_close_an_item_and_an_open_item_cannot_be_reopened() -> None:
    item = new_item()
    with pytest.raises(UnknownResolution):
        item.resolve("made_up", actor="b", now=NOW, allowed=RESOLUTIONS)
    assert item.state is WorkItemState.OPEN
    with pytest.raises(IllegalWorkItemMove):
        item.reopen(actor="b", now=NOW)
    with pytest.raises(IllegalWorkItemMove):
        item.wait_on("lawyer", actor="b", now=NOW)


def test_a_problem_found_again_counts_on_its_item_and_reopens_it_if_resolved() -> None:
    item = new_item()
    item.recur(now=NOW, amount=Decimal("300.00"), policy=PriorityPolicy())
    assert item.occurrences == 2 and item.priority is Priority.HIGH and item.state is WorkItemState.OPEN
    item.resolve("appealed", actor="b", now=NOW, allowed=RESOLUTIONS)
    item.recur(now=NOW + timedelta(days=1))
    assert item.state is WorkItemState.REOPENED and item.occurrences == 3


@pytest.mark.parametrize(("due_in", "amount", "age", "expected"), [
    (3, None, 0, Priority.URGENT),          # a deadline this week
    (20, None, 0, Priority.HIGH),           # a deadline this month
    (None, Decimal("250.00"), 0, Priority.HIGH),  # at the dollar threshold
    (None, Decimal("40.00"), 45, Priority.HIGH),  # open too long
    (None, Decimal("40.00"), 2, Priority.NORMAL),
    (None, Decimal("5.00"), 2, Priority.LOW),
])
def test_priority_comes_from_deadlines_dollars_and_age(due_in: int | None, amount: Decimal | None, age: int,
                                                       expected: Priority) -> None:
    policy = PriorityPolicy.from_rules({"urgent_within_days": 7, "high_within_days": 30, "high_amount": "250.00",
                                        "stale_after_days": 30, "low_amount": "10.00"})
    today = date(2026, 12, 2)
    due = today + timedelta(days=due_in) if due_in is not None else None
    assert policy.priority(today=today, opened_on=today - timedelta(days=age), due_on=due,
                           amount=amount) is expected


MOVES = st.lists(st.sampled_from(["assign", "start", "wait", "note", "resolve", "bad_resolve", "reopen"]),
                 max_size=30)


@given(MOVES)
@settings(max_examples=200)
def test_any_sequence_of_moves_keeps_the_item_consistent(moves: list[str]) -> None:
    item = new_item()
    for move in moves:
        before = (item.state, len(item.new_actions))
        try:
            match move:
                case "assign":
                    item.assign("x", actor="a", now=NOW)
                case "start":
                    item.start(actor="a", now=NOW)
                case "wait":
                    item.wait_on("patient", actor="a", now=NOW)
                case "note":
                    item.add_note("n", actor="a", now=NOW)
                case "resolve":
                    item.resolve("appealed", actor="a", now=NOW, allowed=RESOLUTIONS)
                case "bad_resolve":
                    item.resolve("nope", actor="a", now=NOW, allowed=RESOLUTIONS)
                case "reopen":
                    item.reopen(actor="a", now=NOW)
        except (IllegalWorkItemMove, UnknownResolution):
            assert (item.state, len(item.new_actions)) == before  # a refused move changes nothing
        # resolved exactly when it carries a resolution
        assert (item.state is WorkItemState.RESOLVED) == (item.resolution_code is not None)
    resolutions = sum(isinstance(e, WorkItemResolved) for e in item.pull_events())
    assert resolutions == sum(a.action == "resolved" for a in item.new_actions)


def test_events_announce_openings_and_resolutions_without_phi() -> None:
    item = new_item(amount=Decimal("80.00"), payer_id="ACME")
    item.resolve("written_off", actor="b", now=NOW, allowed=RESOLUTIONS)
    announced = [a for e in item.pull_events() for a in work_item_announcements(e, "remittance")]
    assert [p.event_type for p, _ in announced] == ["work-item.opened", "work-item.resolved"]
    assert all(key == "i1" for _, key in announced)
    assert announced[1][0].model_dump()["resolution_code"] == "written_off"


# --- the API over a database -----------------------------------------------------------------------------------

metadata = service_metadata()
platform = add_platform_tables(metadata)
work_tables = add_work_item_tables(metadata)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, Database]]:
    settings_ = ServiceSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'work.db'}", jwks=public_jwks())
    db = Database(settings_, metadata, platform)
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    app = FastAPI()
    app.state.settings = settings_
    app.state.db = db
    app.state.clock = FixedClock(NOW)
    install_error_handlers(app, None)
    app.add_middleware(AuditMiddleware, service="remittance")
    app.include_router(work_items_router(service="remittance", tables=work_tables, read_scope="remittance:read",
                                         write_scope="remittance:write",
                                         queues={"denials": WorkQueue("denials", RESOLUTIONS)}))
    yield app, db
    await db.engine.dispose()


def headers(practice: str = "p1", subject: str = "biller-1") -> dict[str, str]:
    return {"Authorization": "Bearer " + sign(claims_for(practice_id=practice, subject=subject,
                                                         scopes=["remittance:read", "remittance:write"]))}


async def seed(db: Database, **facts: Any) -> None:
    async with UnitOfWork(db, lambda e: work_item_announcements(e, "remittance"), TableOutbox(db, "remittance")) as uow:
        repository = WorkItemRepository(uow.session, work_tables)
        for n, (subject, amount, payer) in enumerate([("c1", "300.00", "ACME"), ("c2", "40.00", "BETA"),
                                                      ("c3", "90.00", "ACME")]):
            item = WorkItem.open(item_id=f"i{n + 1}", practice_id="p1", queue="denials", subject_type="claim",
                                 subject_id=subject, now=NOW - timedelta(days=10 * n), payer_id=payer,
                                 amount=Decimal(amount), policy=PriorityPolicy(), **facts)
            await repository.save(item)
            uow.add(item)


async def test_a_biller_filters_works_and_resolves_an_item_through_the_api(
        app: tuple[FastAPI, Database]) -> None:
    application, db = app
    await seed(db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://t") as client:
        listed = (await client.get("/v1/work-items", params={"payer_id": "ACME"}, headers=headers())).json()
        assert [i["item_id"] for i in listed["items"]] == ["i1", "i3"]  # the 300.00 one is high priority
        by_amount = (await client.get("/v1/work-items", params={"sort": "amount", "limit": 2},
                                      headers=headers())).json()
        assert [i["amount"] for i in by_amount["items"]] == ["300.00", "90.00"] and by_amount["next_cursor"]
        rest = (await client.get("/v1/work-items", params={"sort": "amount", "limit": 2,
                                                           "cursor": by_amount["next_cursor"]},
                                 headers=headers())).json()
        assert [i["item_id"] for i in rest["items"]] == ["i2"] and rest["next_cursor"] is None
        old = (await client.get("/v1/work-items", params={"min_age_days": 15}, headers=headers())).json()
        assert [i["item_id"] for i in old["items"]] == ["i3"]

        started = await client.post("/v1/work-items/i1/actions", json={"action": "start"}, headers=headers())
        assert started.status_code == 200 and started.json()["assignee"] == "biller-1"
        done = await client.post("/v1/work-items/i1/actions", json={
            "action": "resolve", "resolution_code": "appealed", "note": "level 1 appeal sent",
            "version": started.json()["version"]}, headers=headers())
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["state"] == "resolved" and [a["action"] for a in body["trail"]] == ["opened", "started",
                                                                                       "resolved"]
        active = (await client.get("/v1/work-items", headers=headers())).json()
        assert "i1" not in [i["item_id"] for i in active["items"]]
        other_practice = await client.get("/v1/work-items/i1", headers=headers(practice="p2"))
        assert other_practice.status_code == 404
    async with db.sessions() as session:
        outbox = platform.outbox
        from sqlalchemy import select
        types = (await session.execute(select(outbox.c.event_type).order_by(outbox.c.id))).scalars().all()
    assert types == ["work-item.opened"] * 3 + ["work-item.resolved"]


async def test_a_stale_version_or_a_concurrent_action_is_a_409_and_moves_nothing(
        app: tuple[FastAPI, Database]) -> None:
    application, db = app
    await seed(db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://t") as client:
        stale = await client.post("/v1/work-items/i2/actions", json={"action": "start", "version": 7},
                                  headers=headers())
        assert stale.status_code == 409 and stale.headers["content-type"] == PROBLEM_JSON
        assert stale.json()["current_version"] == 1
        both = await asyncio.gather(*(client.post("/v1/work-items/i2/actions", json={
            "action": "assign", "assignee": who, "version": 1}, headers=headers(subject=who))
            for who in ("ann", "bob")))
        assert sorted(r.status_code for r in both) == [200, 409]
        illegal = await client.post("/v1/work-items/i2/actions", json={"action": "reopen"}, headers=headers())
        assert illegal.status_code == 409 and illegal.json()["errors"][0]["field"] == "body.action"
        unknown = await client.post("/v1/work-items/i2/actions", json={"action": "resolve",
                                                                      "resolution_code": "vanished"},
                                    headers=headers())
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "body.resolution_code"
        missing = await client.post("/v1/work-items/i2/actions", json={"action": "assign"}, headers=headers())
        assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "body.assignee"
        item = (await client.get("/v1/work-items/i2", headers=headers())).json()
        assert item["state"] == "open" and item["version"] == 2 and len(item["trail"]) == 2
        bad_queue = await client.get("/v1/work-items", params={"queue": "nope"}, headers=headers())
        assert bad_queue.status_code == 422 and bad_queue.json()["errors"][0]["field"] == "query.queue"
