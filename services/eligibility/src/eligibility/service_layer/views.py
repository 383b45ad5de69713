"""Reads: SQL straight to what the API returns (no aggregates loaded). Every read is one practice's."""

from __future__ import annotations

from datetime import date
from typing import Any

from rcm_shared.db.database import Database
from sqlalchemy import select

from eligibility.adapters.orm import (
    batch_inquiries,
    batch_runs,
    coverage_checks,
    recheck_requests,
    session_alerts,
    snapshots,
    work_items,
)
from eligibility.domain.coverage import active_on
from eligibility.domain.exceptions import BatchRunNotFound, NoStoredCoverage
from eligibility.domain.freshness import CachedCheck, FreshnessRules

_HIDDEN = ("request_x12", "response_x12")  # whole X12 files (PHI, large): not in listings


async def coverage(db: Database, freshness: FreshnessRules, practice_id: str, patient_id: str,
                   payer_id: str | None, *, on: date | None, first_visit: bool, today: date) -> dict[str, Any]:
    """Stored benefits as the claims scrubber and the front desk read them: active on the date asked about, and
    whether the freshness policy wants a new 270 first (for ``on``, else the practice's ``today``)."""
    query = select(snapshots).where(snapshots.c.practice_id == practice_id, snapshots.c.patient_id == patient_id)
    if payer_id:
        query = query.where(snapshots.c.payer_id == payer_id)
    async with db.sessions() as session:
        rows = (await session.execute(query)).all()
    if not rows:
        raise NoStoredCoverage
    items = []
    for row in rows:
        day = on or today
        decision = freshness.policy_for(row.payer_id, day).decide(
            CachedCheck(row.checked_on, row.coverage_end), day, first_visit=first_visit,
            last_eligibility_denial_on=row.last_eligibility_denial_on)
        items.append({
            "payer_id": row.payer_id, "active": row.active,
            "active_on_date": active_on(row.active, row.coverage_begin, row.coverage_end, on) if on else None,
            "recheck_needed": decision.refresh, "recheck_reasons": [r.value for r in decision.reasons],
            "checked_on": row.checked_on, "coverage_begin": row.coverage_begin, "coverage_end": row.coverage_end,
            "visit_limit": row.visit_limit, "payer_visits_remaining": row.payer_visits_remaining,
            "check_id": row.check_id, "snapshot": row.snapshot})
    return {"patient_id": patient_id, "coverage": items}


async def checks_for(db: Database, practice_id: str, patient_id: str) -> list[dict[str, Any]]:
    c = coverage_checks.c
    async with db.sessions() as session:
        rows = (await session.execute(select(
            c.check_id, c.payer_id, c.service_date, c.status, c.next_action, c.follows_check_id, c.checked_at,
            c.origin, c.batch_run_id, c.result).where(c.practice_id == practice_id, c.patient_id == patient_id)
            .order_by(c.checked_at.desc()).limit(100))).all()
    return [dict(r._mapping) for r in rows]


async def session_limit_alerts(db: Database, practice_id: str) -> list[dict[str, Any]]:
    async with db.sessions() as session:
        rows = (await session.execute(select(session_alerts).where(session_alerts.c.practice_id == practice_id)
                                      .order_by(session_alerts.c.raised_at.desc()).limit(500))).all()
    return [dict(r._mapping) for r in rows]


def _run_view(row: Any) -> dict[str, Any]:
    return {k: v for k, v in row._mapping.items() if k not in _HIDDEN}


async def batch_runs_of(db: Database, practice_id: str, *, limit: int = 60) -> list[dict[str, Any]]:
    async with db.sessions() as session:
        rows = (await session.execute(select(batch_runs).where(batch_runs.c.practice_id == practice_id)
                                      .order_by(batch_runs.c.schedule_date.desc()).limit(limit))).all()
    return [_run_view(r) for r in rows]


async def batch_run(db: Database, practice_id: str, run_id: str) -> dict[str, Any]:
    """One run (without its X12 files) and its inquiries; ``BatchRunNotFound`` for another practice's."""
    i = batch_inquiries.c
    async with db.sessions() as session:
        row = (await session.execute(select(batch_runs).where(
            batch_runs.c.practice_id == practice_id, batch_runs.c.run_id == run_id))).first()
        if row is None:
            raise BatchRunNotFound
        inquiries = (await session.execute(select(
            i.trace_number, i.patient_id, i.payer_id, i.service_date, i.reasons, i.visit_ids, i.status, i.check_id)
            .where(i.practice_id == practice_id, i.run_id == run_id).order_by(i.payer_id, i.patient_id))).all()
    return {"run": _run_view(row), "inquiries": [dict(r._mapping) for r in inquiries]}


async def work_queue(db: Database, practice_id: str, status: str, *, run_id: str | None = None,
                     limit: int = 500) -> list[dict[str, Any]]:
    query = select(work_items).where(work_items.c.practice_id == practice_id, work_items.c.status == status)
    if run_id is not None:
        query = query.where(work_items.c.run_id == run_id)
    async with db.sessions() as session:
        rows = (await session.execute(query.order_by(work_items.c.created_at.desc()).limit(limit))).all()
    return [dict(r._mapping) for r in rows]


async def work_item(db: Database, practice_id: str, item_id: str) -> dict[str, Any]:
    async with db.sessions() as session:
        row = (await session.execute(select(work_items).where(
            work_items.c.practice_id == practice_id, work_items.c.item_id == item_id))).one()
    return dict(row._mapping)


async def rechecks(db: Database, practice_id: str, status: str | None = None, *, limit: int = 500
                   ) -> list[dict[str, Any]]:
    query = select(recheck_requests).where(recheck_requests.c.practice_id == practice_id)
    if status is not None:
        query = query.where(recheck_requests.c.status == status)
    async with db.sessions() as session:
        rows = (await session.execute(query.order_by(recheck_requests.c.created_at.desc()).limit(limit))).all()
    return [dict(r._mapping) for r in rows]
