"""The night before the schedule: which scheduled patients need a new 270, sent as one batch.

* ``NightlyBatchRules.from_rules(rules).in_force(day)`` gives the ``NightlyBatchSchedule`` (local run time, time
  zone, how many days ahead, how long to wait for the payer's batch results, send retries), with effective dates.
  ``schedule.due_schedule_dates(local_now)`` says which schedule dates' runs should exist by now.
* ``plan_batch(visits, records, freshness, limits)`` decides, per patient and payer on the schedule, whether the
  stored benefits are fresh enough (the freshness policy), must be asked in tonight's batch, cannot be asked
  (no member details on file) or, above the payer's batch cap, go out later as rate-limited real-time re-checks.

Pure: the caller passes local time, the schedule and what is stored; nothing here reads a clock or a database.
Shipped: ``rules/nightly_batch.yaml``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from rcm_shared.rules import RulesFile

from eligibility.domain.freshness import CachedCheck, FreshnessRules, RefreshReason
from eligibility.domain.payer_limits import PayerLimitRules
from eligibility.domain.rule_fields import RuleFields, entries


@dataclass(frozen=True, slots=True)
class NightlyBatchSchedule:
    """When the nightly batch runs. ``run_at`` is local time in ``time_zone`` on the day before the schedule
    (``days_ahead`` = 1). A run that did not happen (the service was down all evening) is still made the next
    morning until ``catch_up_until``: better late than a visit with unchecked coverage. ``results_wait_hours``:
    how long the payer may take to produce the batch 271 before its inquiries go to the work queue."""

    effective_from: date = date.min
    effective_to: date | None = None
    run_at: time = time(19, 0)
    time_zone: str = "UTC"
    days_ahead: int = 1
    catch_up_until: time = time(6, 0)
    results_wait_hours: int = 10
    send_retry_minutes: tuple[int, ...] = (5, 15, 30, 60)

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def due_schedule_dates(self, local_now: datetime) -> tuple[date, ...]:
        """The schedule dates whose run should exist at ``local_now`` (local wall-clock time)."""
        today, now = local_now.date(), local_now.time()
        due: list[date] = []
        if self.days_ahead >= 1 and now < self.catch_up_until:
            due.append(today + timedelta(days=self.days_ahead - 1))  # last night's run, if it was missed
        if now >= self.run_at:
            due.append(today + timedelta(days=self.days_ahead))
        return tuple(due)

    def next_schedule_date(self, local_now: datetime) -> date:
        """The schedule date an operator means by 'run tonight's batch now'."""
        return local_now.date() + timedelta(days=self.days_ahead)

    def retry_delay(self, attempts: int) -> timedelta | None:
        """The wait before resending a batch after ``attempts`` failed sends; ``None`` when retries are used up."""
        if attempts < 1 or attempts > len(self.send_retry_minutes):
            return None
        return timedelta(minutes=self.send_retry_minutes[attempts - 1])

    @classmethod
    def from_fields(cls, fields: RuleFields) -> NightlyBatchSchedule:
        def local_time(key: str, default: time) -> time:
            value = fields.data.get(key)
            if value is None:
                return default
            try:
                if isinstance(value, str) and len(value) == 5:
                    return time.fromisoformat(value)
            except ValueError:
                pass
            raise fields.fail(key, 'a local time "HH:MM" (quoted)')

        start, end = fields.effective()
        return cls(
            effective_from=start, effective_to=end, run_at=local_time("run_at", time(19, 0)),
            time_zone=fields.text("time_zone", "UTC"), days_ahead=fields.integer("days_ahead", 1, 0),
            catch_up_until=local_time("catch_up_until", time(6, 0)),
            results_wait_hours=fields.integer("results_wait_hours", 10, 1),
            send_retry_minutes=fields.minutes("send_retry_minutes", (5, 15, 30, 60)),
        )


@dataclass(frozen=True, slots=True)
class NightlyBatchRules:
    schedules: tuple[NightlyBatchSchedule, ...]
    version: str = "built-in"

    @classmethod
    def from_rules(cls, rules: RulesFile) -> NightlyBatchRules:
        return cls(tuple(NightlyBatchSchedule.from_fields(item) for item in entries(rules, "schedules")),
                   rules.version)

    def time_zones(self) -> set[str]:
        """Every zone the schedules name (checked against the tz database at start-up)."""
        return {schedule.time_zone for schedule in self.schedules}

    def in_force(self, day: date) -> NightlyBatchSchedule:
        for schedule in self.schedules:
            if schedule.in_force(day):
                return schedule
        return NightlyBatchSchedule()

    def in_force_at(self, now: datetime, zone_of: Callable[[str], tzinfo]) -> NightlyBatchSchedule:
        """The schedule in force at the instant ``now`` (aware): its effective dates are the practice's local
        dates, in its own time zone, so at 20:00 in New York (01:00 UTC the next day) it is still today's."""
        for schedule in self.schedules:
            if schedule.in_force(now.astimezone(zone_of(schedule.time_zone)).date()):
                return schedule
        return NightlyBatchSchedule()

    def local_now(self, now: datetime, zone_of: Callable[[str], tzinfo]) -> datetime:
        """``now`` as the practice's wall clock (the time zone of the schedule in force)."""
        return now.astimezone(zone_of(self.in_force_at(now, zone_of).time_zone))


# ------------------------------------------------------------------------------------------ selection


@dataclass(frozen=True, slots=True)
class BookedVisit:
    """A visit on the schedule. ``first_visit``: the patient's first with this payer (the EHR's word, or
    worked out from the visits this service has seen completed)."""

    visit_id: str
    patient_id: str
    payer_id: str
    service_date: date
    first_visit: bool = False


@dataclass(frozen=True, slots=True)
class CoverageRecord:
    """What is stored for one patient and payer: the last successful check, the last eligibility denial, and
    whether we hold the member details a 270 needs (member id, name, birth date, the provider who asks)."""

    cached: CachedCheck | None = None
    last_eligibility_denial_on: date | None = None
    insurance_on_file: bool = False


@dataclass(frozen=True, slots=True)
class PlannedInquiry:
    patient_id: str
    payer_id: str
    service_date: date
    reasons: tuple[RefreshReason, ...]
    visit_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BatchPlan:
    send: tuple[PlannedInquiry, ...]  # in tonight's batch
    fresh: tuple[PlannedInquiry, ...]  # stored benefits are good enough: nothing sent
    no_insurance_on_file: tuple[PlannedInquiry, ...]  # must be asked, but we lack member details: work queue
    over_payer_cap: tuple[PlannedInquiry, ...]  # above the payer's batch cap: rate-limited real-time re-checks


def plan_batch(visits: Iterable[BookedVisit], records: Mapping[tuple[str, str], CoverageRecord],
               freshness: FreshnessRules, limits: PayerLimitRules) -> BatchPlan:
    """One inquiry per patient and payer (several visits of one patient share it), asked for the earliest of
    their visits; ordered by payer then patient so the same schedule always gives the same batch."""
    grouped: dict[tuple[str, str], list[BookedVisit]] = {}
    for visit in visits:
        grouped.setdefault((visit.patient_id, visit.payer_id), []).append(visit)
    send: list[PlannedInquiry] = []
    fresh: list[PlannedInquiry] = []
    missing: list[PlannedInquiry] = []
    over_cap: list[PlannedInquiry] = []
    taken: dict[str, int] = {}
    for (patient_id, payer_id), booked in sorted(grouped.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        service_date = min(v.service_date for v in booked)
        record = records.get((patient_id, payer_id), CoverageRecord())
        decision = freshness.policy_for(payer_id, service_date).decide(
            record.cached, service_date, first_visit=any(v.first_visit for v in booked),
            last_eligibility_denial_on=record.last_eligibility_denial_on)
        planned = PlannedInquiry(patient_id, payer_id, service_date, decision.reasons,
                                 tuple(sorted(v.visit_id for v in booked)))
        if not decision.refresh:
            fresh.append(planned)
        elif not record.insurance_on_file:
            missing.append(planned)
        elif taken.get(payer_id, 0) >= limits.for_payer(payer_id, service_date).batch_max_inquiries:
            over_cap.append(planned)
        else:
            taken[payer_id] = taken.get(payer_id, 0) + 1
            send.append(planned)
    return BatchPlan(tuple(send), tuple(fresh), tuple(missing), tuple(over_cap))
