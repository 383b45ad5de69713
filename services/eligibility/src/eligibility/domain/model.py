"""Eligibility's aggregates: plain classes that guard their own state changes and record what happened
(``domain.events``). Repositories (``adapters.repository``) load and store them; the unit of work collects their
events. Nothing here reads a clock or a database: instants and dates are handed in.

* ``CoverageCheck``: one 270/271 exchange and the answer it is filed under (records ``CoverageChecked``).
* ``BenefitsOnFile``: the current benefits per patient and payer (the last active / inactive answer).
* ``InsuranceOnFile``: the member details a 270 needs, per patient and payer.
* ``ScheduledVisit``: a visit on the practice's schedule (records ``VisitScheduled`` when new or changed).
* ``SessionLimit``: a patient's completed visits against a payer's yearly cap (records ``SessionLimitAlertRaised``).
* ``RecheckRequest``: an automatic real-time re-check: pending -> sending -> done / failed (or pending again).
* ``WorkItem``: an answer that needs a person: open -> resolved.
* ``BatchRun``: the nightly batch of one practice and schedule date: planned -> sending -> submitted ->
  completed / expired, send_failed -> sending again, failed when the payer never took it, empty when nothing was
  stale. Illegal moves raise ``IllegalBatchRunMove``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from eligibility.domain.benefits import (
    CarveOut,
    EligibilityRequest,
    EligibilityResult,
    Member,
    NextAction,
    PayerRef,
    ProviderRef,
    ResultStatus,
)
from eligibility.domain.coverage import active_on, primary
from eligibility.domain.events import CoverageChecked, SessionLimitAlertRaised, VisitScheduled
from eligibility.domain.exceptions import IllegalBatchRunMove, IllegalRecheckMove
from eligibility.domain.freshness import CachedCheck
from eligibility.domain.nightly_batch import PlannedInquiry
from eligibility.domain.session_limits import SessionLimitAlert, SessionLimitTracker
from eligibility.domain.work_queue import Attention


class Aggregate:
    """Records domain events as it changes; the unit of work pulls them once."""

    events: list[Any]

    def record(self, event: Any) -> None:
        self.events.append(event)

    def pull_events(self) -> list[Any]:
        events, self.events = self.events, []
        return events


# ------------------------------------------------------------------------------------------ coverage checks


class CheckOrigin(enum.StrEnum):
    REQUEST = "request"  # the front desk or claims asked
    NIGHTLY_BATCH = "nightly_batch"
    RECHECK = "recheck"


@dataclass
class CoverageCheck(Aggregate):
    """One inquiry and what came back. ``results`` is empty when the payer's answer was not a readable 271
    (``unreadable`` says where it broke); the check is then filed as 'unknown, contact the payer'."""

    check_id: str
    practice_id: str
    patient_id: str
    payer_id: str
    service_date: date
    trace_number: str
    request_x12: str
    response_x12: str | None
    results: tuple[EligibilityResult, ...]
    unreadable: dict[str, Any] | None
    origin: CheckOrigin
    checked_at: datetime
    follows_check_id: str | None = None
    batch_run_id: str | None = None
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def record_answer(cls, *, check_id: str, practice_id: str, patient_id: str, payer_id: str,
                      service_date: date, trace_number: str, request_x12: str, response_x12: str | None,
                      results: Sequence[EligibilityResult], unreadable: dict[str, Any] | None,
                      origin: CheckOrigin, checked_at: datetime, follows_check_id: str | None = None,
                      batch_run_id: str | None = None) -> CoverageCheck:
        check = cls(check_id, practice_id, patient_id, payer_id, service_date, trace_number, request_x12,
                    response_x12, tuple(results), unreadable, origin, checked_at, follows_check_id, batch_run_id)
        check.record(CoverageChecked(check_id, practice_id, patient_id, payer_id, service_date, check.primary))
        return check

    @property
    def primary(self) -> EligibilityResult:
        return primary(self.results)

    @property
    def answered(self) -> bool:
        """The payer said something readable (an empty answer is no answer)."""
        return bool(self.results)

    def carve_outs_to_follow(self) -> tuple[CarveOut, ...]:
        """The payers mental health is carved out to, when the answer says to ask them next."""
        result = self.primary
        if result.next_action != NextAction.CHECK_OTHER_PAYER:
            return ()
        return tuple(c for c in result.carve_outs if c.identifier)


def mental_health_visits(result: EligibilityResult) -> tuple[int | None, int | None]:
    """(yearly visit limit, visits remaining) of the mental-health benefit, in network."""
    benefit = result.snapshot.mental_health_benefit() if result.snapshot else None
    if benefit is None:
        return None, None
    limit = benefit.for_network(True).visit_limit
    return (limit.limit, limit.remaining) if limit else (None, None)


@dataclass
class BenefitsOnFile(Aggregate):
    """The benefits we hold for a patient and payer: the last check that said active or inactive. The claims
    scrubber and the front desk read it; the freshness policy decides when it must be asked again."""

    practice_id: str
    patient_id: str
    payer_id: str
    check_id: str
    active: bool
    checked_on: date  # the date of service the check asked about
    coverage_begin: date | None
    coverage_end: date | None
    snapshot: dict[str, Any]
    visit_limit: int | None
    payer_visits_remaining: int | None
    last_eligibility_denial_on: date | None
    updated_at: datetime
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def from_check(cls, check: CoverageCheck) -> BenefitsOnFile | None:
        """What a check leaves on file: only a clear active or inactive answer replaces stored benefits (a
        rejection or an unreadable answer says nothing about the coverage). A new answer clears a noted
        eligibility denial: the payer has just been asked."""
        result = check.primary
        if result.snapshot is None or result.status not in (ResultStatus.ACTIVE, ResultStatus.INACTIVE):
            return None
        limit, remaining = mental_health_visits(result)
        return cls(check.practice_id, check.patient_id, check.payer_id, check.check_id,
                   result.status == ResultStatus.ACTIVE, check.service_date, result.snapshot.coverage_begin,
                   result.snapshot.coverage_end, result.to_dict()["snapshot"], limit, remaining, None,
                   check.checked_at)

    def note_eligibility_denial(self, day: date, now: datetime) -> None:
        """A claim was denied for eligibility on ``day`` (the practice's date): what we hold is in doubt."""
        self.last_eligibility_denial_on = day
        self.updated_at = now

    def cached(self) -> CachedCheck:
        return CachedCheck(self.checked_on, self.coverage_end)

    def active_on(self, day: date) -> bool:
        return active_on(self.active, self.coverage_begin, self.coverage_end, day)


@dataclass
class InsuranceOnFile(Aggregate):
    """The member as the payer knows them, and who asks: kept from the last coverage check or schedule intake so
    the nightly batch and re-checks can ask unattended. PHI: never logged, never in events."""

    practice_id: str
    patient_id: str
    payer: PayerRef
    provider: ProviderRef
    subscriber: Member
    dependent: Member | None
    updated_at: datetime
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    @property
    def payer_id(self) -> str:
        return self.payer.payer_id

    def inquiry(self, service_date: date, trace_number: str,
                service_types: tuple[str, ...] | None = None) -> EligibilityRequest:
        return EligibilityRequest(
            payer=self.payer, provider=self.provider, subscriber=self.subscriber, service_date=service_date,
            trace_number=trace_number, dependent=self.dependent,
            **({"service_types": service_types} if service_types else {}))

    def with_payer(self, carve_out: CarveOut, now: datetime) -> InsuranceOnFile:
        """The same member with the payer mental health is carved out to (the member id is the plan's)."""
        payer = PayerRef(carve_out.identifier, carve_out.name[:60] or carve_out.identifier)
        return replace(self, payer=payer, updated_at=now, events=[])


# ------------------------------------------------------------------------------------------ the schedule


@dataclass
class ScheduledVisit(Aggregate):
    practice_id: str
    visit_id: str  # the EHR's appointment id
    patient_id: str
    payer_id: str
    service_date: date
    cancelled: bool
    first_visit: bool | None
    cpt_code: str | None
    source: str
    updated_at: datetime
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def book(cls, *, practice_id: str, visit_id: str, patient_id: str, payer_id: str, service_date: date,
             cancelled: bool, first_visit: bool | None, cpt_code: str | None, source: str, now: datetime,
             previous: ScheduledVisit | None) -> ScheduledVisit:
        """The visit as the EHR now says it is. Announced when it is new or any of its facts changed: the EHR
        re-posting a whole week announces only what moved."""
        visit = cls(practice_id, visit_id, patient_id, payer_id, service_date, cancelled, first_visit, cpt_code,
                    source, now)
        if previous is None or previous.facts() != visit.facts():
            visit.record(VisitScheduled(practice_id, visit_id, patient_id, payer_id, service_date, cancelled,
                                        first_visit, cpt_code))
        return visit

    def facts(self) -> tuple[object, ...]:
        return (self.patient_id, self.payer_id, self.service_date, self.cancelled, self.first_visit, self.cpt_code)


# ------------------------------------------------------------------------------------------ session limits


@dataclass(frozen=True, slots=True)
class CompletedVisit:
    """A completed insured visit, as it counts against a yearly session cap."""

    practice_id: str
    visit_id: str
    patient_id: str
    payer_id: str
    service_date: date
    voided: bool = False
    replaces_visit_id: str | None = None

    @property
    def member(self) -> tuple[str, str, str]:
        return self.practice_id, self.patient_id, self.payer_id


@dataclass
class SessionLimit(Aggregate):
    """A patient's completed visits with one payer against the yearly cap of the benefits on file. Alerts are
    raised once per benefit year and kind, however often a visit arrives."""

    benefits: BenefitsOnFile
    visits: dict[str, date]  # every counted (not voided) visit stored for this patient and payer
    alerted: set[tuple[date, str]]  # (benefit year start, kind) already raised
    raised: list[SessionLimitAlert] = field(default_factory=list)
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    def count(self, completed: Sequence[CompletedVisit], alert_at_remaining: Callable[[date], int]) -> None:
        """Count ``completed`` (in arrival order; their rows are already among ``visits``) after what was stored
        before them, and raise the alerts they bring."""
        limit = self.benefits.visit_limit
        if limit is None:
            return
        tracker = SessionLimitTracker(limit=limit, alert_at_remaining=0)
        if self.benefits.payer_visits_remaining is not None:
            tracker.reconcile_with_payer(self.benefits.payer_visits_remaining, self.benefits.checked_on)
        arriving = {visit.visit_id for visit in completed}
        for visit_id, day in self.visits.items():
            if visit_id not in arriving:
                tracker.record_visit(visit_id, day)
        for visit in completed:
            if visit.voided or visit.visit_id not in self.visits:
                continue  # voided, or voided again by a later correction in the same batch
            tracker.alert_at_remaining = alert_at_remaining(visit.service_date)
            for alert in tracker.record_visit(visit.visit_id, visit.service_date):
                self._raise(alert, visit)

    def _raise(self, alert: SessionLimitAlert, visit: CompletedVisit) -> None:
        key = (alert.benefit_year_start, alert.kind.value)
        if key in self.alerted:
            return
        self.alerted.add(key)
        self.raised.append(alert)
        benefits = self.benefits
        self.record(SessionLimitAlertRaised(
            benefits.practice_id, benefits.patient_id, benefits.payer_id, benefits.check_id, benefits.active,
            visit.service_date, alert.remaining, alert.kind.value, benefits.coverage_begin, benefits.coverage_end))


# ------------------------------------------------------------------------------------------ re-checks


class RecheckReason(enum.StrEnum):
    ELIGIBILITY_DENIAL = "eligibility_denial"  # a claim was denied for eligibility
    CARVE_OUT = "carve_out"  # an unattended check found mental health carved out to another payer
    BOOKED_AFTER_NIGHTLY_RUN = "booked_after_nightly_run"
    BATCH_OVERFLOW = "batch_overflow"  # above the payer's batch cap


class RecheckStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DONE = "done"
    FAILED = "failed"


@dataclass
class RecheckRequest(Aggregate):
    request_id: str
    practice_id: str
    patient_id: str
    payer_id: str
    reason: str
    service_date: date
    follows_check_id: str | None
    status: RecheckStatus
    due_at: datetime
    attempts: int
    created_at: datetime
    claimed_at: datetime | None = None
    sent_at: datetime | None = None
    check_id: str | None = None
    last_error: str | None = None
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def queue(cls, *, request_id: str, practice_id: str, patient_id: str, payer_id: str, reason: RecheckReason,
              service_date: date, now: datetime, follows_check_id: str | None = None) -> RecheckRequest:
        return cls(request_id, practice_id, patient_id, payer_id, reason.value, service_date, follows_check_id,
                   RecheckStatus.PENDING, now, 0, now)

    def _move(self, allowed: Iterable[RecheckStatus], to: RecheckStatus) -> None:
        if self.status not in allowed:
            raise IllegalRecheckMove(self.status.value, to.value)
        self.status = to

    def claim(self, now: datetime) -> None:
        """Taken by a sender: counted as sent now (the payer's rate), and as one more try."""
        self._move((RecheckStatus.PENDING,), RecheckStatus.SENDING)
        self.attempts += 1
        self.claimed_at = self.sent_at = now

    def answered(self, check_id: str) -> None:
        self._move((RecheckStatus.SENDING,), RecheckStatus.DONE)
        self.check_id = check_id
        self.last_error = None

    def retry_at(self, due_at: datetime, error: str) -> None:
        self._move((RecheckStatus.SENDING,), RecheckStatus.PENDING)
        self.due_at = due_at
        self.last_error = error[:200]

    def give_up(self, error: str) -> None:
        self._move((RecheckStatus.SENDING,), RecheckStatus.FAILED)
        self.last_error = error[:200]


# ------------------------------------------------------------------------------------------ work queue


class WorkItemStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


@dataclass
class WorkItem(Aggregate):
    """An answer of an unattended check that needs a person. One open item per patient, payer and kind: a repeat
    counts an occurrence (the repository does that atomically)."""

    item_id: str
    practice_id: str
    patient_id: str
    payer_id: str
    kind: str
    next_action: str
    reason_codes: tuple[str, ...]
    detail: str
    service_date: date | None
    check_id: str | None
    run_id: str | None
    recheck_id: str | None
    status: WorkItemStatus
    occurrences: int
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def raise_for(cls, *, item_id: str, practice_id: str, patient_id: str, payer_id: str, attention: Attention,
                  service_date: date | None, now: datetime, check_id: str | None = None, run_id: str | None = None,
                  recheck_id: str | None = None) -> WorkItem:
        return cls(item_id, practice_id, patient_id, payer_id, attention.kind.value, attention.next_action,
                   attention.reason_codes, attention.detail[:300], service_date, check_id, run_id, recheck_id,
                   WorkItemStatus.OPEN, 1, now, now)

    def resolve(self, by: str, now: datetime) -> None:
        """Done. Resolving a resolved item changes nothing (a double click, two people at once)."""
        if self.status == WorkItemStatus.RESOLVED:
            return
        self.status = WorkItemStatus.RESOLVED
        self.resolved_at = now
        self.resolved_by = by[:120]


# ------------------------------------------------------------------------------------------ the nightly batch


class BatchRunStatus(enum.StrEnum):
    PLANNED = "planned"  # claimed for its practice and date; only ever seen inside the planning transaction
    SENDING = "sending"
    SEND_FAILED = "send_failed"
    SUBMITTED = "submitted"
    COMPLETED = "completed"
    EMPTY = "empty"  # nothing was stale: nothing sent
    EXPIRED = "expired"  # the payer produced no usable answer in time
    FAILED = "failed"  # the payer never took the batch


class InquiryStatus(enum.StrEnum):
    PENDING = "pending"
    ANSWERED = "answered"
    UNANSWERED = "unanswered"


@dataclass
class BatchInquiry:
    """One patient and payer asked in a run (one 270 transaction; its trace number ties the answer to it)."""

    trace_number: str
    practice_id: str
    patient_id: str
    payer_id: str
    service_date: date
    reasons: tuple[str, ...]
    visit_ids: tuple[str, ...]
    request_x12: str
    status: InquiryStatus = InquiryStatus.PENDING
    check_id: str | None = None

    @classmethod
    def planned(cls, planned: PlannedInquiry, practice_id: str, trace_number: str, request_x12: str
                ) -> BatchInquiry:
        return cls(trace_number, practice_id, planned.patient_id, planned.payer_id, planned.service_date,
                   tuple(r.value for r in planned.reasons), planned.visit_ids, request_x12)


@dataclass(frozen=True, slots=True)
class RunCounts:
    inquiries: int
    fresh: int
    no_insurance: int
    deferred: int  # above the payer's batch cap: real-time re-checks instead
    attention: int  # work items raised while planning


@dataclass
class BatchRun(Aggregate):
    """The nightly batch of one practice for one schedule date. At most one per practice and date: whoever
    claims it (the repository's insert on the unique pair) plans and sends it."""

    run_id: str
    practice_id: str
    schedule_date: date
    trigger: str  # schedule (the night's job) or operator
    triggered_by: str | None
    status: BatchRunStatus
    created_at: datetime
    inquiry_count: int = 0
    fresh_count: int = 0
    no_insurance_count: int = 0
    deferred_count: int = 0
    attention_count: int = 0
    attempts: int = 0
    payload_id: str | None = None
    interchange_control_number: int | None = None
    request_x12: str | None = None
    response_x12: str | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    send_started_at: datetime | None = None
    submitted_at: datetime | None = None
    completed_at: datetime | None = None
    inquiries: list[BatchInquiry] = field(default_factory=list)
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def claim(cls, *, run_id: str, practice_id: str, schedule_date: date, trigger: str,
              triggered_by: str | None, now: datetime) -> BatchRun:
        return cls(run_id, practice_id, schedule_date, trigger, triggered_by, BatchRunStatus.PLANNED, now)

    def _move(self, allowed: Iterable[BatchRunStatus], to: BatchRunStatus) -> None:
        if self.status not in allowed:
            raise IllegalBatchRunMove(self.status.value, to.value)
        self.status = to

    def _count(self, counts: RunCounts) -> None:
        self.inquiry_count, self.fresh_count = counts.inquiries, counts.fresh
        self.no_insurance_count, self.deferred_count = counts.no_insurance, counts.deferred
        self.attention_count = counts.attention

    def ready_to_send(self, inquiries: Sequence[BatchInquiry], counts: RunCounts, *, payload_id: str,
                      interchange_control_number: int, request_x12: str, now: datetime) -> None:
        """Planned: the batch file is written and its PayloadID chosen (a resend carries the same one)."""
        self._move((BatchRunStatus.PLANNED,), BatchRunStatus.SENDING)
        self._count(counts)
        self.inquiries = list(inquiries)
        self.payload_id, self.interchange_control_number = payload_id, interchange_control_number
        self.request_x12, self.send_started_at = request_x12, now

    def nothing_to_send(self, counts: RunCounts, now: datetime) -> None:
        self._move((BatchRunStatus.PLANNED,), BatchRunStatus.EMPTY)
        self._count(counts)
        self.completed_at = now

    def resend(self, now: datetime) -> None:
        """Hand the same batch over again: after a failed send's wait, or after a sender died mid-send (the run is
        still sending when its lease ran out)."""
        self._move((BatchRunStatus.SEND_FAILED, BatchRunStatus.SENDING), BatchRunStatus.SENDING)
        self.send_started_at = now

    def submitted(self, now: datetime) -> None:
        self._move((BatchRunStatus.SENDING,), BatchRunStatus.SUBMITTED)
        self.attempts += 1
        self.submitted_at, self.last_error, self.next_attempt_at = now, None, None

    def send_failed(self, error: str, retry_after: timedelta | None, now: datetime) -> list[BatchInquiry]:
        """Not accepted. Sent again after ``retry_after``; with no retry left the run fails and its inquiries are
        returned, unanswered, for the work queue."""
        self.attempts += 1
        self.last_error = error[:200]
        if retry_after is not None:
            self._move((BatchRunStatus.SENDING,), BatchRunStatus.SEND_FAILED)
            self.next_attempt_at = now + retry_after
            return []
        self._move((BatchRunStatus.SENDING,), BatchRunStatus.FAILED)
        self.completed_at = now
        return self._unanswered()

    def complete(self, checks: Mapping[str, str], response_x12: str, now: datetime) -> list[BatchInquiry]:
        """The payer's answers are in: ``checks`` maps each answered inquiry's trace number to its check. The
        inquiries the answer says nothing about are returned, unanswered, for the work queue."""
        self._move((BatchRunStatus.SUBMITTED,), BatchRunStatus.COMPLETED)
        for inquiry in self.pending():
            if inquiry.trace_number in checks:
                inquiry.status, inquiry.check_id = InquiryStatus.ANSWERED, checks[inquiry.trace_number]
        self.response_x12, self.completed_at = response_x12, now
        return self._unanswered()

    def expire(self, reason: str, now: datetime) -> list[BatchInquiry]:
        """No usable answer within the payer's results window: its inquiries go to the work queue."""
        self._move((BatchRunStatus.SUBMITTED,), BatchRunStatus.EXPIRED)
        self.completed_at, self.last_error = now, reason[:200]
        return self._unanswered()

    def needs_attention(self, count: int) -> None:
        """Work items raised from the answers (rejections, inactive coverage ...)."""
        self.attention_count += count

    def pending(self) -> list[BatchInquiry]:
        return [i for i in self.inquiries if i.status == InquiryStatus.PENDING]

    def _unanswered(self) -> list[BatchInquiry]:
        left = self.pending()
        for inquiry in left:
            inquiry.status = InquiryStatus.UNANSWERED
        self.attention_count += len(left)
        return left

    def due_for_resend(self, now: datetime, lease: timedelta) -> bool:
        if self.status == BatchRunStatus.SEND_FAILED:
            return self.next_attempt_at is None or self.next_attempt_at <= now
        return (self.status == BatchRunStatus.SENDING and self.send_started_at is not None
                and self.send_started_at < now - lease)
