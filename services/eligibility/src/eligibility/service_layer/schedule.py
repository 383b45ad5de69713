"""The practice's schedule. Eligibility is its one home: the EHR posts booked, moved and cancelled visits here
(``POST /v1/schedule``), with the member details a 270 needs when it has them, and every visit that is new or
changed goes out on ``visit-scheduled`` (authorizations forecasts its renewals from it).

A visit booked for a date whose nightly batch has already gone out is not lost: if the freshness policy says its
benefits are stale, a real-time re-check is queued at once (within the payer's rate)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rcm_shared.db.types import utcnow

from eligibility.domain.commands import RecordSchedule
from eligibility.domain.model import InsuranceOnFile, RecheckReason, ScheduledVisit
from eligibility.domain.nightly_batch import plan_batch
from eligibility.domain.rulebook import EligibilityRules
from eligibility.domain.work_queue import NO_INSURANCE
from eligibility.service_layer.nightly_runs import booked_visits, coverage_records
from eligibility.service_layer.rechecks import enqueue_recheck
from eligibility.service_layer.unit_of_work import EligibilityUnitOfWork
from eligibility.service_layer.work_queue import raise_work_item

SOURCE_EHR = "ehr"


@dataclass(frozen=True)
class ScheduleRecorded:
    recorded: int
    rechecks_queued: int


async def record_schedule(uows: Callable[[], EligibilityUnitOfWork], rules: EligibilityRules,
                          command: RecordSchedule, *, now: datetime) -> ScheduleRecorded:
    """Keep booked (or cancelled) visits and the insurance given with them, announce what changed, and check late
    bookings now."""
    async with uows() as uow:
        known = await uow.schedule.get_many(command.practice_id, [v.visit_id for v in command.visits])
        kept = utcnow()
        visits: dict[str, ScheduledVisit] = {}
        for entry in command.visits:  # a visit id posted twice in one schedule: the later entry wins
            visit = ScheduledVisit.book(
                practice_id=command.practice_id, visit_id=entry.visit_id, patient_id=entry.patient_id,
                payer_id=entry.payer_id, service_date=entry.service_date, cancelled=entry.cancelled,
                first_visit=entry.first_visit, cpt_code=entry.cpt_code, source=SOURCE_EHR, now=kept,
                previous=visits.get(entry.visit_id) or known.get(entry.visit_id))
            visits[entry.visit_id] = visit
            uow.add(visit)
        await uow.schedule.save(list(visits.values()))
        await uow.insurance.save([InsuranceOnFile(
            command.practice_id, entry.patient_id, entry.insurance.payer, entry.insurance.provider,
            entry.insurance.subscriber, entry.insurance.dependent, kept)
            for entry in command.visits if entry.insurance is not None])
        queued = await _check_late_bookings(uow, rules, command.practice_id, list(visits.values()), now)
    return ScheduleRecorded(len(command.visits), queued)


async def _check_late_bookings(uow: EligibilityUnitOfWork, rules: EligibilityRules, practice_id: str,
                               visits: Sequence[ScheduledVisit], now: datetime) -> int:
    # Runs exist for yesterday's schedule at the earliest; the UTC date less a day covers every time zone.
    since = now.date() - timedelta(days=1)
    live = [v for v in visits if not v.cancelled and v.service_date >= since]
    if not live:
        return 0
    ran = await uow.batch_runs.dates_with_runs(practice_id, {v.service_date for v in live})
    late = [v for v in live if v.service_date in ran]
    if not late:
        return 0
    booked = await booked_visits(uow, practice_id, late)
    records, _ = await coverage_records(uow, practice_id, {(v.patient_id, v.payer_id) for v in booked})
    plan = plan_batch(booked, records, rules.freshness, rules.payer_limits)
    queued = 0
    for planned in (*plan.send, *plan.over_payer_cap):
        if await enqueue_recheck(uow, rules, practice_id=practice_id, patient_id=planned.patient_id,
                                 payer_id=planned.payer_id, reason=RecheckReason.BOOKED_AFTER_NIGHTLY_RUN,
                                 service_date=planned.service_date, now=now):
            queued += 1
    for planned in plan.no_insurance_on_file:
        await raise_work_item(uow, practice_id=practice_id, patient_id=planned.patient_id, payer_id=planned.payer_id,
                              attention=NO_INSURANCE, service_date=planned.service_date, now=now)
    return queued
