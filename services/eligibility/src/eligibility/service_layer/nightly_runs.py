"""The nightly batch: the night before the schedule, one batch 270 per practice for every scheduled patient the
freshness policy says is stale, through the payer gateway's batch mode; the 271 file becomes checks (snapshots,
eligibility-checked events) and work-queue items.

Exactly once per practice and schedule date: the run (``domain.model.BatchRun``) is claimed by inserting it, unique
on (practice, schedule date), in the transaction that plans the batch; whoever claims it (the periodic job on any
replica, or an operator) sends, everyone else finds it and sends nothing. Every later move of the run is saved
only if nobody moved it since it was loaded, so two replicas never both resend or both apply an answer. A resend
carries the run's stored PayloadID, so the receiver sees the same batch again, not a second one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from rcm_shared.db.types import new_id, utcnow
from rcm_shared.observability import metrics
from rcm_shared.x12.envelope import ControlNumbers

from eligibility.adapters.payer_gateway import BatchPayerGateway
from eligibility.domain.benefits import EligibilityResult
from eligibility.domain.commands import RunNightlyBatch
from eligibility.domain.exceptions import (
    BatchModeUnsupported,
    BatchRunNotFound,
    PayerUnavailable,
    ScheduleDateOutOfReach,
)
from eligibility.domain.model import (
    BatchInquiry,
    BatchRun,
    BatchRunStatus,
    CheckOrigin,
    CoverageCheck,
    InsuranceOnFile,
    RecheckReason,
    RunCounts,
    ScheduledVisit,
)
from eligibility.domain.nightly_batch import BookedVisit, CoverageRecord, plan_batch
from eligibility.domain.rulebook import EligibilityRules
from eligibility.domain.work_queue import NO_INSURANCE, attention_for, payer_unavailable, unsendable
from eligibility.edi.x12_270 import build_270_batch, build_270_transaction
from eligibility.service_layer import practice_day
from eligibility.service_layer.coverage_checks import PayerLink, keep_checks, new_trace_number, read_answer
from eligibility.service_layer.rechecks import enqueue_recheck, follow_carve_outs
from eligibility.service_layer.unit_of_work import SOURCE, EligibilityUnitOfWork
from eligibility.service_layer.work_queue import raise_work_item

log = logging.getLogger(__name__)

SEND_LEASE = timedelta(minutes=10)  # far above the gateway timeout: a live sender is never overtaken
Uows = Callable[[], EligibilityUnitOfWork]


@dataclass(frozen=True)
class RunStarted:
    run: BatchRun
    created: bool


class _Overtaken(Exception):
    """Another replica moved the run first: this transaction's work is rolled back and left to it."""


async def _save(uow: EligibilityUnitOfWork, run: BatchRun) -> None:
    if not await uow.batch_runs.save(run):
        raise _Overtaken


def batch_gateway(payer: PayerLink) -> BatchPayerGateway:
    if not isinstance(payer.gateway, BatchPayerGateway):
        raise BatchModeUnsupported
    return payer.gateway


# ------------------------------------------------------------------------------------------ the periodic job


async def nightly_batch_tick(uows: Uows, payer: PayerLink, rules: EligibilityRules, *, now: datetime) -> None:
    """Start the runs that are due (every practice with visits on a due schedule date and no run yet), resend
    batches whose send failed, collect the answers of submitted ones."""
    schedule = practice_day.schedule_at(rules.nightly_batch, now)
    for schedule_date in schedule.due_schedule_dates(practice_day.local_now(rules.nightly_batch, now)):
        async with uows() as uow:
            practices = await uow.schedule.practices_without_run(schedule_date)
        for practice_id in practices:
            await start_batch_run(uows, payer, rules, practice_id, schedule_date, trigger="schedule", now=now)
    await resend_batches(uows, payer, rules, now=now)
    await collect_batch_results(uows, payer, rules, now=now)


async def trigger_batch_run(uows: Uows, payer: PayerLink, rules: EligibilityRules, command: RunNightlyBatch, *,
                            now: datetime) -> RunStarted:
    """An operator's 'run it now' (testing, catch-up): the same run the night would make, at most once per
    schedule date. On a run that exists it sends nothing new: it resends a failed send and collects answers."""
    batch_gateway(payer)
    local = practice_day.local_now(rules.nightly_batch, now)
    latest = practice_day.schedule_at(rules.nightly_batch, now).next_schedule_date(local)
    schedule_date = command.schedule_date or latest
    if not local.date() <= schedule_date <= latest:
        raise ScheduleDateOutOfReach(local.date(), latest)
    started = await start_batch_run(uows, payer, rules, command.practice_id, schedule_date, trigger="operator",
                                    triggered_by=command.triggered_by, now=now)
    run_id = started.run.run_id
    if not started.created:
        await resend_batches(uows, payer, rules, now=now, run_id=run_id, ignore_backoff=True)
    await collect_batch_results(uows, payer, rules, now=now, run_id=run_id)
    async with uows() as uow:
        run = await uow.batch_runs.get(run_id)
    if run is None:
        raise BatchRunNotFound
    return RunStarted(run, started.created)


# ------------------------------------------------------------------------------------------ planning and sending


async def start_batch_run(uows: Uows, payer: PayerLink, rules: EligibilityRules, practice_id: str,
                          schedule_date: date, *, trigger: str, triggered_by: str | None = None,
                          now: datetime) -> RunStarted:
    """Claim the run for (practice, schedule date), plan and store the batch in one transaction, then send it.
    When the run exists already nothing is planned or sent: the existing run is returned."""
    run = BatchRun.claim(run_id=new_id(), practice_id=practice_id, schedule_date=schedule_date, trigger=trigger,
                         triggered_by=triggered_by, now=now)
    async with uows() as uow:
        if not await uow.batch_runs.claim(run):  # a second replica waits here on the unique key, then finds it
            existing = await uow.batch_runs.find(practice_id, schedule_date)
            assert existing is not None
            return RunStarted(existing, False)
        await _plan(uow, payer, rules, run, now)
        await _save(uow, run)
    metrics.BUSINESS_EVENTS.labels(SOURCE, f"eligibility_batch_run_{trigger}").inc()
    if run.status == BatchRunStatus.SENDING:
        await _submit(uows, batch_gateway(payer), rules, run.run_id, now)
    async with uows() as uow:
        fresh = await uow.batch_runs.get(run.run_id)
    assert fresh is not None
    return RunStarted(fresh, True)


async def booked_visits(uow: EligibilityUnitOfWork, practice_id: str, visits: Sequence[ScheduledVisit]
                        ) -> list[BookedVisit]:
    """Scheduled visits as the planner sees them; where the EHR did not say whether it is the patient's first visit
    with the payer, it is one when this service has seen no completed visit of theirs with that payer."""
    unknown = {v.patient_id for v in visits if v.first_visit is None}
    seen = await uow.session_limits.patients_seen(practice_id, unknown) if unknown else set()
    return [BookedVisit(v.visit_id, v.patient_id, v.payer_id, v.service_date,
                        v.first_visit if v.first_visit is not None else (v.patient_id, v.payer_id) not in seen)
            for v in visits]


async def coverage_records(uow: EligibilityUnitOfWork, practice_id: str, keys: set[tuple[str, str]]
                           ) -> tuple[dict[tuple[str, str], CoverageRecord], dict[tuple[str, str], InsuranceOnFile]]:
    """What is stored for each (patient, payer): the benefits' freshness facts, and the insurance on file."""
    patients = {patient for patient, _ in keys}
    benefits = await uow.benefits.for_patients(practice_id, patients)
    insurance = await uow.insurance.for_patients(practice_id, patients)
    records: dict[tuple[str, str], CoverageRecord] = {}
    for key in keys:
        stored = benefits.get(key)
        records[key] = CoverageRecord(cached=stored.cached() if stored else None,
                                      last_eligibility_denial_on=stored.last_eligibility_denial_on if stored else None,
                                      insurance_on_file=key in insurance)
    return records, insurance


async def _plan(uow: EligibilityUnitOfWork, payer: PayerLink, rules: EligibilityRules, run: BatchRun,
                now: datetime) -> None:
    practice_id = run.practice_id
    booked = await booked_visits(uow, practice_id, await uow.schedule.booked_on(practice_id, run.schedule_date))
    records, insurance = await coverage_records(uow, practice_id, {(v.patient_id, v.payer_id) for v in booked})
    plan = plan_batch(booked, records, rules.freshness, rules.payer_limits)
    for planned in plan.no_insurance_on_file:
        await raise_work_item(uow, practice_id=practice_id, patient_id=planned.patient_id, payer_id=planned.payer_id,
                              attention=NO_INSURANCE, service_date=planned.service_date, now=now, run_id=run.run_id)
    for planned in plan.over_payer_cap:  # above the payer's batch cap: real time, within its rate
        await enqueue_recheck(uow, rules, practice_id=practice_id, patient_id=planned.patient_id,
                              payer_id=planned.payer_id, reason=RecheckReason.BATCH_OVERFLOW,
                              service_date=planned.service_date, now=now)
    transactions: list[list[str]] = []
    inquiries: list[BatchInquiry] = []
    unsendable_count = 0
    for planned in plan.send:
        trace = new_trace_number()
        on_file = insurance[(planned.patient_id, planned.payer_id)]
        try:
            segments = build_270_transaction(on_file.inquiry(planned.service_date, trace),
                                             f"{len(transactions) + 1:04d}", now, payer.parties)
        except ValueError as exc:  # names the segment and element only
            unsendable_count += 1
            await raise_work_item(uow, practice_id=practice_id, patient_id=planned.patient_id,
                                  payer_id=planned.payer_id, attention=unsendable(str(exc)),
                                  service_date=planned.service_date, now=now, run_id=run.run_id)
            continue
        transactions.append(segments)
        inquiries.append(BatchInquiry.planned(planned, practice_id, trace,
                                              "".join(f"{segment}~\n" for segment in segments)))
    counts = RunCounts(len(inquiries), len(plan.fresh), len(plan.no_insurance_on_file), len(plan.over_payer_cap),
                       len(plan.no_insurance_on_file) + unsendable_count)
    if not inquiries:
        run.nothing_to_send(counts, now)
        return
    icn = await uow.control_numbers.next("interchange")
    run.ready_to_send(inquiries, counts, payload_id=str(uuid.uuid4()), interchange_control_number=icn,
                      request_x12=build_270_batch(transactions, ControlNumbers(icn, icn, 1, now), payer.parties),
                      now=now)


async def _submit(uows: Uows, gateway: BatchPayerGateway, rules: EligibilityRules, run_id: str,
                  now: datetime) -> None:
    """Hand the stored batch to the payer with the run's PayloadID; a failure is retried with backoff (rules)."""
    async with uows() as uow:
        run = await uow.batch_runs.get(run_id)
    assert run is not None and run.request_x12 is not None and run.payload_id is not None
    try:
        await gateway.submit_batch(run.request_x12, run.payload_id)
    except PayerUnavailable as exc:
        code = (exc.error_code or "payer_unavailable")[:60]
        log.warning("nightly batch not accepted", extra={"run_id": run_id, "error": code, "attempts": run.attempts + 1})
        try:
            async with uows() as uow:
                failed = await uow.batch_runs.get(run_id, with_inquiries=True)
                if failed is None or failed.status != BatchRunStatus.SENDING:
                    return
                delay = practice_day.schedule_at(rules.nightly_batch, now).retry_delay(failed.attempts + 1)
                for inquiry in failed.send_failed(code, delay, now):
                    await _unanswered(uow, failed, inquiry, f"the payer never accepted the batch ({code})", now)
                await _save(uow, failed)
        except _Overtaken:
            pass
        return
    try:
        async with uows() as uow:
            taken = await uow.batch_runs.get(run_id)
            if taken is None or taken.status != BatchRunStatus.SENDING:
                return
            taken.submitted(now)
            await _save(uow, taken)
    except _Overtaken:
        return
    log.info("nightly batch submitted", extra={"run_id": run_id})


async def resend_batches(uows: Uows, payer: PayerLink, rules: EligibilityRules, *, now: datetime,
                         run_id: str | None = None, ignore_backoff: bool = False) -> int:
    """Resend batches whose send failed (once their backoff is over) or whose sender died mid-send (after the
    lease). Each is claimed by saving it as sending again only if nobody moved it: one replica resends it."""
    async with uows() as uow:
        candidates = await uow.batch_runs.due_for_resend(now, now - SEND_LEASE, run_id=run_id,
                                                         ignore_backoff=ignore_backoff)
    sent = 0
    for candidate in candidates:
        try:
            async with uows() as uow:
                run = await uow.batch_runs.get(candidate.run_id)
                due = run is not None and (run.due_for_resend(now, SEND_LEASE) or (
                    ignore_backoff and run.status == BatchRunStatus.SEND_FAILED))
                if run is None or not due:
                    continue
                run.resend(now)
                await _save(uow, run)
        except _Overtaken:
            continue
        await _submit(uows, batch_gateway(payer), rules, candidate.run_id, now)
        sent += 1
    return sent


# ------------------------------------------------------------------------------------------ answers


async def collect_batch_results(uows: Uows, payer: PayerLink, rules: EligibilityRules, *, now: datetime,
                                run_id: str | None = None) -> int:
    """Ask the payer for the 271 file of every submitted batch; apply the ones that are ready. A batch the payer
    has not answered within ``results_wait_hours`` expires: its inquiries go to the work queue."""
    async with uows() as uow:
        submitted = await uow.batch_runs.submitted(run_id=run_id)
    applied = 0
    wait = timedelta(hours=practice_day.schedule_at(rules.nightly_batch, now).results_wait_hours)
    for run in submitted:
        overdue = run.submitted_at is not None and now - run.submitted_at > wait
        try:
            applied += await _collect(uows, batch_gateway(payer), rules, run, now, overdue=overdue)
        except Exception as exc:  # one practice's answer must not hold up every other practice's run
            # Nothing of it was kept (one transaction); tried again each tick until the results window closes.
            log.error("batch results could not be applied", extra={"run_id": run.run_id,
                                                                     "error": type(exc).__name__})
            if overdue:
                await _expire(uows, run.run_id, now, reason="batch_results_unusable")
    return applied


async def _collect(uows: Uows, gateway: BatchPayerGateway, rules: EligibilityRules, run: BatchRun, now: datetime,
                   *, overdue: bool) -> int:
    assert run.payload_id is not None
    try:
        answer = await gateway.retrieve_batch(run.payload_id)
    except PayerUnavailable as exc:
        log.warning("batch results not retrievable yet",
                    extra={"run_id": run.run_id, "error": (exc.error_code or "")[:60]})
        answer = None
    if answer is None:
        if overdue:
            await _expire(uows, run.run_id, now)
        return 0
    return 1 if await _apply(uows, rules, run.run_id, answer, now) else 0


async def _apply(uows: Uows, rules: EligibilityRules, run_id: str, answer: str, now: datetime) -> bool:
    results, unreadable = read_answer(answer, rules.telehealth)
    by_trace: dict[str, EligibilityResult] = {}
    for each in results:
        by_trace.setdefault(each.trace_number, each)
    try:
        async with uows() as uow:
            run = await uow.batch_runs.get(run_id, lock=True, with_inquiries=True)
            if run is None or run.status != BatchRunStatus.SUBMITTED:
                return False  # another replica applied it first
            # An answer that cannot be read answers every inquiry with 'unknown' (kept, for the payer's desk).
            answered = [i for i in run.pending() if i.trace_number in by_trace or unreadable is not None]
            checks = [CoverageCheck.record_answer(
                check_id=new_id(), practice_id=i.practice_id, patient_id=i.patient_id, payer_id=i.payer_id,
                service_date=i.service_date, trace_number=i.trace_number, request_x12=i.request_x12,
                response_x12=None, results=[by_trace[i.trace_number]] if i.trace_number in by_trace else [],
                unreadable=unreadable, origin=CheckOrigin.NIGHTLY_BATCH, checked_at=utcnow(), batch_run_id=run_id)
                for i in answered]
            await keep_checks(uow, checks)
            for inquiry in run.complete({c.trace_number: c.check_id for c in checks}, answer, now):
                await _unanswered(uow, run, inquiry, "the payer's batch answer has nothing for this inquiry", now)
            insurance = await uow.insurance.for_patients(run.practice_id, {c.patient_id for c in checks
                                                                           if c.carve_outs_to_follow()})
            raised = 0
            for check in checks:
                attention = attention_for(by_trace.get(check.trace_number))
                if attention is not None:
                    raised += 1
                    await raise_work_item(uow, practice_id=check.practice_id, patient_id=check.patient_id,
                                          payer_id=check.payer_id, attention=attention,
                                          service_date=check.service_date, now=now, check_id=check.check_id,
                                          run_id=run_id)
                on_file = insurance.get((check.patient_id, check.payer_id))
                if on_file is not None:
                    await follow_carve_outs(uow, rules, on_file, check, now=now)
            run.needs_attention(raised)
            await _save(uow, run)
    except _Overtaken:
        return False
    metrics.BUSINESS_EVENTS.labels(SOURCE, "eligibility_batch_run_completed").inc()
    return True


async def _expire(uows: Uows, run_id: str, now: datetime, *, reason: str = "no_batch_results") -> None:
    try:
        async with uows() as uow:
            run = await uow.batch_runs.get(run_id, lock=True, with_inquiries=True)
            if run is None or run.status != BatchRunStatus.SUBMITTED:
                return
            for inquiry in run.expire(reason, now):
                await _unanswered(uow, run, inquiry, "the payer produced no usable answer to the batch in time", now)
            await _save(uow, run)
    except _Overtaken:
        return


async def _unanswered(uow: EligibilityUnitOfWork, run: BatchRun, inquiry: BatchInquiry, detail: str,
                      now: datetime) -> None:
    await raise_work_item(uow, practice_id=inquiry.practice_id, patient_id=inquiry.patient_id,
                          payer_id=inquiry.payer_id, service_date=inquiry.service_date, run_id=run.run_id,
                          attention=payer_unavailable(detail), now=now)
