"""The practice's schedule, as eligibility keeps it: booked visits (from the EHR through ``POST /v1/schedule`` or
the ``visit-scheduled`` topic) and, when the EHR sends them, the member details a 270 needs.

A visit booked for a date whose nightly batch has already gone out is not lost: if the freshness policy says its
benefits are stale, a real-time re-check is queued at once (within the payer's rate)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from rcm_shared.clock import Clock
from rcm_shared.contracts import EventEnvelope, VisitScheduledV1
from rcm_shared.db.types import utcnow
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from eligibility.adapters.orm import batch_runs as batch_runs_table
from eligibility.adapters.orm import insurance_on_file, scheduled_visits
from eligibility.adapters.repository import upsert_rows
from eligibility.domain.model import Member, PayerRef, ProviderRef
from eligibility.domain.nightly_batch import plan_batch
from eligibility.service_layer import batch_runs, handlers, rechecks
from eligibility.service_layer.work_queue import raise_work_item


@dataclass(frozen=True)
class InsuranceDetails:
    payer: PayerRef
    provider: ProviderRef
    subscriber: Member
    dependent: Member | None = None


@dataclass(frozen=True)
class ScheduleEntry:
    visit_id: str
    patient_id: str
    payer_id: str
    service_date: date
    cancelled: bool = False
    first_visit: bool | None = None
    insurance: InsuranceDetails | None = None


@dataclass(frozen=True)
class ScheduleRecorded:
    recorded: int
    rechecks_queued: int


async def record_schedule(session: AsyncSession, practice_id: str, entries: Sequence[ScheduleEntry], *,
                          source: str, now: datetime) -> ScheduleRecorded:
    """Upsert booked (or cancelled) visits and the insurance given with them; check late bookings now."""
    await upsert_rows(session, scheduled_visits, ("practice_id", "visit_id"), [{
        "practice_id": practice_id, "visit_id": e.visit_id, "patient_id": e.patient_id, "payer_id": e.payer_id,
        "service_date": e.service_date, "cancelled": e.cancelled, "first_visit": e.first_visit, "source": source,
        "updated_at": now} for e in entries])
    await upsert_rows(session, insurance_on_file, handlers.INSURANCE_KEY, [
        handlers.insurance_row(practice_id, e.patient_id, e.insurance.payer, e.insurance.provider,
                               e.insurance.subscriber, e.insurance.dependent)
        for e in entries if e.insurance is not None])
    return ScheduleRecorded(len(entries), await _check_late_bookings(session, practice_id, entries, now))


async def _check_late_bookings(session: AsyncSession, practice_id: str, entries: Sequence[ScheduleEntry],
                               now: datetime) -> int:
    # Runs exist for yesterday's schedule at the earliest; the UTC date less a day covers every time zone.
    since = now.date() - timedelta(days=1)
    live = [e for e in entries if not e.cancelled and e.service_date >= since]
    if not live:
        return 0
    ran = set((await session.execute(select(batch_runs_table.c.schedule_date).where(
        batch_runs_table.c.practice_id == practice_id,
        batch_runs_table.c.schedule_date.in_({e.service_date for e in live})))).scalars().all())
    late = [e for e in live if e.service_date in ran]
    if not late:
        return 0
    rows = (await session.execute(select(scheduled_visits).where(
        scheduled_visits.c.practice_id == practice_id,
        scheduled_visits.c.visit_id.in_([e.visit_id for e in late])))).all()
    booked = await batch_runs.booked_with_first_visits(session, practice_id, rows)
    records = await batch_runs.coverage_records(session, practice_id, {(v.patient_id, v.payer_id) for v in booked})
    plan = plan_batch(booked, records, handlers.freshness_rules(), handlers.payer_limit_rules())
    queued = 0
    for planned in (*plan.send, *plan.over_payer_cap):
        if await rechecks.enqueue_recheck(session, practice_id=practice_id, patient_id=planned.patient_id,
                                          payer_id=planned.payer_id, reason=rechecks.BOOKED_AFTER_NIGHTLY_RUN,
                                          service_date=planned.service_date, now=now):
            queued += 1
    for planned in plan.no_insurance_on_file:
        await raise_work_item(session, practice_id=practice_id, patient_id=planned.patient_id,
                              payer_id=planned.payer_id, attention=rechecks.NO_INSURANCE,
                              service_date=planned.service_date)
    return queued


async def record_scheduled_visit(session: AsyncSession, envelope: EventEnvelope, event: VisitScheduledV1, *,
                                 clock: Clock) -> None:
    """The ``visit-scheduled`` topic: the same intake, without member details (those come from coverage checks)."""
    if event.payer_id is None:  # self-pay: nothing to ask a payer; a visit moved to self-pay no longer needs it
        await session.execute(update(scheduled_visits).where(
            scheduled_visits.c.practice_id == event.practice_id, scheduled_visits.c.visit_id == event.visit_id)
            .values(cancelled=True, updated_at=utcnow()))
        return
    await record_schedule(session, event.practice_id, [ScheduleEntry(
        visit_id=event.visit_id, patient_id=event.patient_id, payer_id=event.payer_id,
        service_date=event.service_date, cancelled=event.cancelled, first_visit=event.first_visit)],
        source="visit-scheduled", now=clock.now())
