"""The nightly batch: the night before the schedule, one batch 270 per practice for every scheduled patient the
freshness policy says is stale, through the payer gateway's batch mode; the 271 file becomes snapshots,
eligibility-checked events and work-queue items.

Exactly once per practice and schedule date: the ``batch_runs`` row, unique on (practice, schedule date), is
inserted in the same transaction that plans the batch; whoever inserts it (the periodic job on any replica, or an
operator) sends, everyone else finds it and sends nothing. The run then moves sending -> submitted ->
completed (or empty when nothing was stale; send_failed -> retried; failed / expired when the payer never
took or answered it). A resend (a send that failed, or a sender that died mid-send) carries the run's stored
PayloadID, so the receiver sees the same batch again, not a second one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from rcm_shared.db.database import Database
from rcm_shared.db.types import new_id
from rcm_shared.observability import metrics
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from eligibility.adapters.orm import (
    batch_inquiries,
    batch_runs,
    insurance_on_file,
    scheduled_visits,
    session_visits,
    snapshots,
)
from eligibility.adapters.payer_gateway import BatchPayerGateway, PayerUnavailable
from eligibility.domain.freshness import CachedCheck
from eligibility.domain.model import EligibilityResult, NextAction
from eligibility.domain.nightly_batch import BatchPlan, BookedVisit, CoverageRecord, plan_batch
from eligibility.domain.work_queue import Attention, WorkItemKind, attention_for
from eligibility.domain.x12_270 import build_270_batch, build_270_transaction
from eligibility.service_layer import handlers, rechecks
from eligibility.service_layer.practice_day import local_now, schedule_in_force
from eligibility.service_layer.work_queue import raise_work_item

log = logging.getLogger(__name__)

SOURCE = "eligibility"
SEND_LEASE = timedelta(minutes=10)  # far above the gateway timeout: a live sender is never overtaken
SENDING, SEND_FAILED, SUBMITTED = "sending", "send_failed", "submitted"
COMPLETED, EMPTY, EXPIRED, FAILED = "completed", "empty", "expired", "failed"
_HIDDEN = ("request_x12", "response_x12")  # whole X12 files (PHI, large): not in listings


class ScheduleDateOutOfReach(ValueError):
    """An operator asked for a run of a date the night's job would never run: before today (those visits are
    past) or beyond the next schedule date (its run would go out before the schedule is complete, and block the
    night's own run for that date)."""


@dataclass(frozen=True)
class RunStarted:
    run: dict[str, Any]
    created: bool


# ------------------------------------------------------------------------------------------ the periodic job


async def nightly_batch_tick(db: Database, gateway: BatchPayerGateway, parties: InterchangeParties, *,
                             now: datetime) -> None:
    """Start the runs that are due (every practice with visits on a due schedule date and no run yet), resend
    batches whose send failed, collect the answers of submitted ones."""
    schedule = schedule_in_force(now)
    for schedule_date in schedule.due_schedule_dates(local_now(now)):
        async with db.sessions() as session:
            already = select(batch_runs.c.practice_id).where(batch_runs.c.schedule_date == schedule_date)
            practices = (await session.execute(select(scheduled_visits.c.practice_id).distinct().where(
                scheduled_visits.c.service_date == schedule_date, scheduled_visits.c.cancelled.is_(False),
                scheduled_visits.c.practice_id.not_in(already)))).scalars().all()
        for practice_id in practices:
            await start_batch_run(db, gateway, parties, practice_id, schedule_date, trigger="schedule", now=now)
    await resend_batches(db, gateway, now=now)
    await collect_batch_results(db, gateway, now=now)


async def trigger_batch_run(db: Database, gateway: BatchPayerGateway, parties: InterchangeParties, practice_id: str,
                            schedule_date: date | None, *, triggered_by: str, now: datetime
                            ) -> RunStarted:
    """An operator's 'run it now' (testing, catch-up): the same run the night would make, at most once per
    schedule date. On a run that exists it sends nothing new: it resends a failed send and collects answers."""
    local = local_now(now)
    latest = schedule_in_force(now).next_schedule_date(local)
    schedule_date = schedule_date or latest
    if not local.date() <= schedule_date <= latest:
        raise ScheduleDateOutOfReach(f"the schedule date must be from {local.date()} to {latest}")
    started = await start_batch_run(db, gateway, parties, practice_id, schedule_date, trigger="operator",
                                    triggered_by=triggered_by, now=now)
    run_id = started.run["run_id"]
    if not started.created:
        await resend_batches(db, gateway, now=now, run_id=run_id, ignore_backoff=True)
    await collect_batch_results(db, gateway, now=now, run_id=run_id)
    async with db.sessions() as session:
        run = await get_run(session, practice_id, run_id)
    assert run is not None
    return RunStarted(run, started.created)


# ------------------------------------------------------------------------------------------ planning and sending


async def start_batch_run(db: Database, gateway: BatchPayerGateway, parties: InterchangeParties, practice_id: str,
                          schedule_date: date, *, trigger: str, triggered_by: str | None = None,
                          now: datetime) -> RunStarted:
    """Claim the run for (practice, schedule date), plan and store the batch in one transaction, then send it.
    When the run exists already nothing is planned or sent: the existing run is returned."""
    run_id = new_id()
    async with db.transaction() as session:
        try:
            async with session.begin_nested():  # a second replica waits here on the unique key, then fails
                await session.execute(insert(batch_runs).values(
                    run_id=run_id, practice_id=practice_id, schedule_date=schedule_date, trigger=trigger,
                    triggered_by=triggered_by, status=SENDING, inquiry_count=0, fresh_count=0,
                    no_insurance_count=0, deferred_count=0, attention_count=0, attempts=0, created_at=now))
        except IntegrityError:
            created = False
        else:
            created = True
            await _plan_and_store(session, parties, practice_id, schedule_date, run_id, now)
    async with db.sessions() as session:
        run = (await session.execute(select(batch_runs).where(
            batch_runs.c.practice_id == practice_id, batch_runs.c.schedule_date == schedule_date))).one()
    if not created:
        return RunStarted(_view(run), False)
    metrics.BUSINESS_EVENTS.labels(SOURCE, f"eligibility_batch_run_{trigger}").inc()
    if run.status == SENDING:
        await _submit(db, gateway, run, now)
    async with db.sessions() as session:
        fresh = await get_run(session, practice_id, run.run_id)
    assert fresh is not None
    return RunStarted(fresh, True)


async def _plan_and_store(session: AsyncSession, parties: InterchangeParties, practice_id: str, schedule_date: date,
                          run_id: str, now: datetime) -> None:
    booked = await _booked_visits(session, practice_id, schedule_date)
    records, insurance = await _coverage_records(session, practice_id, {(v.patient_id, v.payer_id) for v in booked})
    plan: BatchPlan = plan_batch(booked, records, handlers.freshness_rules(), handlers.payer_limit_rules())
    for planned in plan.no_insurance_on_file:
        await raise_work_item(session, practice_id=practice_id, patient_id=planned.patient_id,
                              payer_id=planned.payer_id, attention=rechecks.NO_INSURANCE,
                              service_date=planned.service_date, run_id=run_id)
    for planned in plan.over_payer_cap:  # above the payer's batch cap: real time, within its rate
        await rechecks.enqueue_recheck(session, practice_id=practice_id, patient_id=planned.patient_id,
                                       payer_id=planned.payer_id, reason=rechecks.BATCH_OVERFLOW,
                                       service_date=planned.service_date, now=now)
    transactions: list[list[str]] = []
    rows: list[dict[str, Any]] = []
    unsendable = 0
    for planned in plan.send:
        command = handlers.command_from_insurance(insurance[(planned.patient_id, planned.payer_id)],
                                                  planned.service_date)
        trace = handlers.new_trace_number()
        try:
            segments = build_270_transaction(handlers.inquiry_for(command, trace), f"{len(transactions) + 1:04d}",
                                             now, parties)
        except ValueError as exc:  # names the segment and element only
            unsendable += 1
            await raise_work_item(session, practice_id=practice_id, patient_id=planned.patient_id,
                                  payer_id=planned.payer_id, service_date=planned.service_date, run_id=run_id,
                                  attention=Attention(WorkItemKind.UNSENDABLE_REQUEST,
                                                      NextAction.CORRECT_AND_RESEND.value, detail=str(exc)[:200]))
            continue
        transactions.append(segments)
        rows.append({"run_id": run_id, "trace_number": trace, "practice_id": practice_id,
                     "patient_id": planned.patient_id, "payer_id": planned.payer_id,
                     "service_date": planned.service_date, "reasons": [r.value for r in planned.reasons],
                     "visit_ids": list(planned.visit_ids), "status": "pending", "check_id": None,
                     "request_x12": "".join(f"{segment}~\n" for segment in segments)})
    counts = {"inquiry_count": len(rows), "fresh_count": len(plan.fresh),
              "no_insurance_count": len(plan.no_insurance_on_file), "deferred_count": len(plan.over_payer_cap),
              "attention_count": len(plan.no_insurance_on_file) + unsendable}
    if not rows:
        await session.execute(update(batch_runs).where(batch_runs.c.run_id == run_id).values(
            status=EMPTY, completed_at=now, **counts))
        return
    icn = await handlers.next_control_number(session, "interchange")
    x12 = build_270_batch(transactions, ControlNumbers(icn, icn, 1, now), parties)
    await session.execute(insert(batch_inquiries), rows)
    await session.execute(update(batch_runs).where(batch_runs.c.run_id == run_id).values(
        status=SENDING, payload_id=str(uuid.uuid4()), interchange_control_number=icn, request_x12=x12,
        send_started_at=now, **counts))


async def _booked_visits(session: AsyncSession, practice_id: str, schedule_date: date) -> list[BookedVisit]:
    rows = (await session.execute(select(scheduled_visits).where(
        scheduled_visits.c.practice_id == practice_id, scheduled_visits.c.service_date == schedule_date,
        scheduled_visits.c.cancelled.is_(False)))).all()
    return await booked_with_first_visits(session, practice_id, rows)


async def booked_with_first_visits(session: AsyncSession, practice_id: str, rows: Sequence[Any]
                                   ) -> list[BookedVisit]:
    """Scheduled-visit rows as domain values; where the EHR did not say whether it is the patient's first visit
    with the payer, it is one when this service has seen no completed visit of theirs with that payer before."""
    patients = {r.patient_id for r in rows if r.first_visit is None}
    seen: set[tuple[str, str]] = set()
    if patients:
        seen = {(r.patient_id, r.payer_id) for r in (await session.execute(select(
            session_visits.c.patient_id, session_visits.c.payer_id).where(
            session_visits.c.practice_id == practice_id, session_visits.c.patient_id.in_(patients),
            session_visits.c.voided.is_(False)))).all()}
    return [BookedVisit(r.visit_id, r.patient_id, r.payer_id, r.service_date,
                        bool(r.first_visit) if r.first_visit is not None else (r.patient_id, r.payer_id) not in seen)
            for r in rows]


async def coverage_records(session: AsyncSession, practice_id: str, keys: set[tuple[str, str]]
                           ) -> dict[tuple[str, str], CoverageRecord]:
    return (await _coverage_records(session, practice_id, keys))[0]


async def _coverage_records(session: AsyncSession, practice_id: str, keys: set[tuple[str, str]]
                            ) -> tuple[dict[tuple[str, str], CoverageRecord], dict[tuple[str, str], Any]]:
    """What is stored for each (patient, payer): the snapshot's freshness facts, and the insurance on file."""
    patients = {patient for patient, _ in keys}
    if not patients:
        return {}, {}
    stored = {(r.patient_id, r.payer_id): r for r in (await session.execute(select(
        snapshots.c.patient_id, snapshots.c.payer_id, snapshots.c.checked_on, snapshots.c.coverage_end,
        snapshots.c.last_eligibility_denial_on).where(
        snapshots.c.practice_id == practice_id, snapshots.c.patient_id.in_(patients)))).all()}
    insurance = {(r.patient_id, r.payer_id): r for r in (await session.execute(select(insurance_on_file).where(
        insurance_on_file.c.practice_id == practice_id, insurance_on_file.c.patient_id.in_(patients)))).all()}
    records: dict[tuple[str, str], CoverageRecord] = {}
    for key in keys:
        snapshot = stored.get(key)
        records[key] = CoverageRecord(
            cached=CachedCheck(snapshot.checked_on, snapshot.coverage_end) if snapshot else None,
            last_eligibility_denial_on=snapshot.last_eligibility_denial_on if snapshot else None,
            insurance_on_file=key in insurance)
    return records, insurance


async def _submit(db: Database, gateway: BatchPayerGateway, run: Any, now: datetime) -> None:
    """Hand the stored batch to the payer with the run's PayloadID; a failure is retried with backoff (rules)."""
    try:
        await gateway.submit_batch(run.request_x12, run.payload_id)
    except PayerUnavailable as exc:
        code = (exc.error_code or "payer_unavailable")[:60]
        attempts = int(run.attempts) + 1
        delay = schedule_in_force(now).retry_delay(attempts)
        log.warning("nightly batch not accepted", extra={"run_id": run.run_id, "error": code, "attempts": attempts})
        async with db.transaction() as session:
            if delay is not None:
                await session.execute(update(batch_runs).where(
                    batch_runs.c.run_id == run.run_id, batch_runs.c.status == SENDING).values(
                    status=SEND_FAILED, attempts=attempts, last_error=code, next_attempt_at=now + delay))
            else:
                await session.execute(update(batch_runs).where(
                    batch_runs.c.run_id == run.run_id, batch_runs.c.status == SENDING).values(
                    status=FAILED, attempts=attempts, last_error=code, completed_at=now))
                await _unanswered(session, run.run_id, f"the payer never accepted the batch ({code})")
        return
    async with db.transaction() as session:
        await session.execute(update(batch_runs).where(
            batch_runs.c.run_id == run.run_id, batch_runs.c.status == SENDING).values(
            status=SUBMITTED, attempts=int(run.attempts) + 1, submitted_at=now, last_error=None,
            next_attempt_at=None))
    log.info("nightly batch submitted", extra={"run_id": run.run_id})


async def resend_batches(db: Database, gateway: BatchPayerGateway, *, now: datetime,
                         run_id: str | None = None, ignore_backoff: bool = False) -> int:
    """Resend batches whose send failed (once their backoff is over) or whose sender died mid-send (after the
    lease). Each is claimed with a compare-and-set on its status, so one replica resends it."""
    due_failed = batch_runs.c.status == SEND_FAILED
    if not ignore_backoff:
        due_failed = due_failed & (batch_runs.c.next_attempt_at <= now)
    stuck = (batch_runs.c.status == SENDING) & (batch_runs.c.send_started_at < now - SEND_LEASE)
    query = select(batch_runs).where(due_failed | stuck)
    if run_id is not None:
        query = query.where(batch_runs.c.run_id == run_id)
    async with db.sessions() as session:
        candidates = (await session.execute(query)).all()
    sent = 0
    for run in candidates:
        started = batch_runs.c.send_started_at
        async with db.transaction() as session:
            claimed = await session.execute(update(batch_runs).where(
                batch_runs.c.run_id == run.run_id, batch_runs.c.status == run.status,
                batch_runs.c.attempts == run.attempts,
                started.is_(None) if run.send_started_at is None else started == run.send_started_at,
            ).values(status=SENDING, send_started_at=now))
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        async with db.sessions() as session:
            fresh = (await session.execute(select(batch_runs).where(batch_runs.c.run_id == run.run_id))).one()
        await _submit(db, gateway, fresh, now)
        sent += 1
    return sent


# ------------------------------------------------------------------------------------------ answers


async def collect_batch_results(db: Database, gateway: BatchPayerGateway, *, now: datetime,
                                run_id: str | None = None) -> int:
    """Ask the payer for the 271 file of every submitted batch; apply the ones that are ready. A batch the payer
    has not answered within ``results_wait_hours`` expires: its inquiries go to the work queue."""
    query = select(batch_runs.c.run_id, batch_runs.c.payload_id, batch_runs.c.submitted_at).where(
        batch_runs.c.status == SUBMITTED)
    if run_id is not None:
        query = query.where(batch_runs.c.run_id == run_id)
    async with db.sessions() as session:
        submitted = (await session.execute(query)).all()
    applied = 0
    wait = timedelta(hours=schedule_in_force(now).results_wait_hours)
    for run in submitted:
        overdue = run.submitted_at is not None and now - run.submitted_at > wait
        try:
            applied += await _collect(db, gateway, run, now, overdue=overdue)
        except Exception as exc:  # one practice's answer must not hold up every other practice's run
            # Nothing of it was kept (one transaction); tried again each tick until the results window closes.
            log.error("batch results could not be applied", extra={"run_id": run.run_id,
                                                                     "error": type(exc).__name__})
            if overdue:
                await _expire(db, run.run_id, now, reason="batch_results_unusable")
    return applied


async def _collect(db: Database, gateway: BatchPayerGateway, run: Any, now: datetime, *, overdue: bool) -> int:
    try:
        answer = await gateway.retrieve_batch(run.payload_id)
    except PayerUnavailable as exc:
        log.warning("batch results not retrievable yet",
                    extra={"run_id": run.run_id, "error": (exc.error_code or "")[:60]})
        answer = None
    if answer is None:
        if overdue:
            await _expire(db, run.run_id, now)
        return 0
    return 1 if await _apply(db, run.run_id, answer, now) else 0


async def _apply(db: Database, run_id: str, answer: str, now: datetime) -> bool:
    results, unreadable = handlers.read_answer(answer)
    by_trace: dict[str, EligibilityResult] = {}
    for each in results:
        by_trace.setdefault(each.trace_number, each)
    async with db.transaction() as session:
        run = (await session.execute(select(batch_runs.c.status).where(batch_runs.c.run_id == run_id)
                                     .with_for_update())).one()
        if run.status != SUBMITTED:
            return False  # another replica applied it first
        inquiries = (await session.execute(select(batch_inquiries).where(
            batch_inquiries.c.run_id == run_id, batch_inquiries.c.status == "pending")
            .order_by(batch_inquiries.c.trace_number))).all()
        answered = [i for i in inquiries if i.trace_number in by_trace or unreadable is not None]
        for inquiry in inquiries:
            if inquiry.trace_number not in by_trace and unreadable is None:
                await _mark_unanswered(session, inquiry, "the payer's batch answer has nothing for this inquiry")
        checks = [handlers.CheckToRecord(
            handlers.CheckSubject(i.practice_id, i.patient_id, i.payer_id, i.service_date), new_id(), i.trace_number,
            i.request_x12, None, [by_trace[i.trace_number]] if i.trace_number in by_trace else [], unreadable,
            origin="nightly_batch", batch_run_id=run_id) for i in answered]
        primaries = await handlers.record_checks(session, checks)
        if checks:
            await session.execute(update(batch_inquiries).where(
                batch_inquiries.c.run_id == run_id, batch_inquiries.c.trace_number == bindparam("trace")).values(
                status="answered", check_id=bindparam("check")),
                [{"trace": c.trace_number, "check": c.check_id} for c in checks])
        raised = len(inquiries) - len(answered)
        for inquiry, check, primary in zip(answered, checks, primaries, strict=True):
            attention = attention_for(by_trace.get(inquiry.trace_number))
            if attention is not None:
                raised += 1
                await raise_work_item(session, practice_id=inquiry.practice_id, patient_id=inquiry.patient_id,
                                      payer_id=inquiry.payer_id, attention=attention,
                                      service_date=inquiry.service_date, check_id=check.check_id, run_id=run_id)
            if primary.next_action == NextAction.CHECK_OTHER_PAYER:
                insurance = await handlers.load_insurance(session, inquiry.practice_id, inquiry.patient_id,
                                                          inquiry.payer_id)
                if insurance is not None:
                    await rechecks.follow_carve_outs(session, insurance, primary, check.check_id,
                                                     inquiry.service_date, now)
        await session.execute(update(batch_runs).where(batch_runs.c.run_id == run_id).values(
            status=COMPLETED, response_x12=handlers.storable(answer), completed_at=now,
            attention_count=batch_runs.c.attention_count + raised))
    metrics.BUSINESS_EVENTS.labels(SOURCE, "eligibility_batch_run_completed").inc()
    return True


async def _expire(db: Database, run_id: str, now: datetime, *, reason: str = "no_batch_results") -> None:
    async with db.transaction() as session:
        run = (await session.execute(select(batch_runs.c.status).where(batch_runs.c.run_id == run_id)
                                     .with_for_update())).one()
        if run.status != SUBMITTED:
            return
        await session.execute(update(batch_runs).where(batch_runs.c.run_id == run_id).values(
            status=EXPIRED, completed_at=now, last_error=reason))
        await _unanswered(session, run_id, "the payer produced no usable answer to the batch in time")


async def _unanswered(session: AsyncSession, run_id: str, detail: str) -> None:
    inquiries = (await session.execute(select(batch_inquiries).where(
        batch_inquiries.c.run_id == run_id, batch_inquiries.c.status == "pending"))).all()
    for inquiry in inquiries:
        await _mark_unanswered(session, inquiry, detail)
    await session.execute(update(batch_runs).where(batch_runs.c.run_id == run_id).values(
        attention_count=batch_runs.c.attention_count + len(inquiries)))


async def _mark_unanswered(session: AsyncSession, inquiry: Any, detail: str) -> None:
    await session.execute(update(batch_inquiries).where(
        batch_inquiries.c.run_id == inquiry.run_id, batch_inquiries.c.trace_number == inquiry.trace_number).values(
        status="unanswered"))
    await raise_work_item(session, practice_id=inquiry.practice_id, patient_id=inquiry.patient_id,
                          payer_id=inquiry.payer_id, service_date=inquiry.service_date, run_id=inquiry.run_id,
                          attention=Attention(WorkItemKind.PAYER_UNAVAILABLE, NextAction.RETRY_LATER.value,
                                              detail=detail))


# ------------------------------------------------------------------------------------------ reads


def _view(row: Any) -> dict[str, Any]:
    return {k: v for k, v in row._mapping.items() if k not in _HIDDEN}


async def list_runs(session: AsyncSession, practice_id: str, *, limit: int = 60) -> list[dict[str, Any]]:
    rows = (await session.execute(select(batch_runs).where(batch_runs.c.practice_id == practice_id)
                                  .order_by(batch_runs.c.schedule_date.desc()).limit(limit))).all()
    return [_view(r) for r in rows]


async def get_run(session: AsyncSession, practice_id: str, run_id: str) -> dict[str, Any] | None:
    row = (await session.execute(select(batch_runs).where(
        batch_runs.c.practice_id == practice_id, batch_runs.c.run_id == run_id))).first()
    return _view(row) if row is not None else None


async def run_inquiries(session: AsyncSession, practice_id: str, run_id: str) -> list[dict[str, Any]]:
    rows = (await session.execute(select(
        batch_inquiries.c.trace_number, batch_inquiries.c.patient_id, batch_inquiries.c.payer_id,
        batch_inquiries.c.service_date, batch_inquiries.c.reasons, batch_inquiries.c.visit_ids,
        batch_inquiries.c.status, batch_inquiries.c.check_id).where(
        batch_inquiries.c.practice_id == practice_id, batch_inquiries.c.run_id == run_id)
        .order_by(batch_inquiries.c.payer_id, batch_inquiries.c.patient_id))).all()
    return [dict(r._mapping) for r in rows]
