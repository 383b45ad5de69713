"""In-memory repositories and unit of work for eligibility's use-case tests (no database, no broker).

``FakeUnitOfWork`` is the service's own unit of work over the kernel's ``InMemoryUnitOfWork``: the event mapper
and the recording outbox are the real ones, so a test sees the integration events a use case would publish. The
repositories keep copies of what is saved, as a database would: an aggregate changed but not saved is not
stored. They keep the repositories' contracts (one open re-check and work item per member, one run per practice
and date, a run saved only if nobody moved it since it was loaded)."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any, TypeVar

from eligibility.adapters.event_mapper import announce
from eligibility.adapters.repository import (
    BatchRunRepository,
    BenefitsRepository,
    ControlNumberRepository,
    CoverageCheckRepository,
    InsuranceRepository,
    RecheckRepository,
    ScheduleRepository,
    SessionLimitRepository,
    WorkItemRepository,
)
from eligibility.domain.model import (
    BatchRun,
    BatchRunStatus,
    BenefitsOnFile,
    CompletedVisit,
    CoverageCheck,
    InsuranceOnFile,
    RecheckRequest,
    RecheckStatus,
    ScheduledVisit,
    SessionLimit,
    WorkItem,
    WorkItemStatus,
)
from eligibility.service_layer.unit_of_work import EligibilityUnitOfWork
from rcm_shared.testing.fakes import InMemoryUnitOfWork, RecordingOutbox

T = TypeVar("T")
Member3 = tuple[str, str, str]


def _stored(aggregate: T) -> T:
    kept = copy.deepcopy(aggregate)
    kept.events = []  # type: ignore[attr-defined]
    return kept


class FakeChecks(CoverageCheckRepository):
    def __init__(self) -> None:
        self.rows: list[CoverageCheck] = []

    async def add(self, checks: Sequence[CoverageCheck]) -> None:
        self.rows.extend(_stored(c) for c in checks)


class FakeBenefits(BenefitsRepository):
    def __init__(self) -> None:
        self.rows: dict[Member3, BenefitsOnFile] = {}

    async def get_many(self, members: Iterable[Member3]) -> dict[Member3, BenefitsOnFile]:
        return {m: _stored(self.rows[m]) for m in set(members) if m in self.rows}

    async def for_patients(self, practice_id: str, patient_ids: Iterable[str]) -> dict[tuple[str, str],
                                                                                       BenefitsOnFile]:
        patients = set(patient_ids)
        return {(p, payer): _stored(b) for (practice, p, payer), b in self.rows.items()
                if practice == practice_id and p in patients}

    async def save(self, benefits: Sequence[BenefitsOnFile]) -> None:
        for b in benefits:
            self.rows[(b.practice_id, b.patient_id, b.payer_id)] = _stored(b)

    async def save_denial(self, benefits: BenefitsOnFile) -> None:
        key = (benefits.practice_id, benefits.patient_id, benefits.payer_id)
        if key in self.rows:
            self.rows[key] = replace(self.rows[key], last_eligibility_denial_on=benefits.last_eligibility_denial_on)


class FakeInsurance(InsuranceRepository):
    def __init__(self) -> None:
        self.rows: dict[Member3, InsuranceOnFile] = {}

    async def get(self, practice_id: str, patient_id: str, payer_id: str) -> InsuranceOnFile | None:
        found = self.rows.get((practice_id, patient_id, payer_id))
        return _stored(found) if found else None

    async def for_patients(self, practice_id: str, patient_ids: Iterable[str]) -> dict[tuple[str, str],
                                                                                       InsuranceOnFile]:
        patients = set(patient_ids)
        return {(p, payer): _stored(i) for (practice, p, payer), i in self.rows.items()
                if practice == practice_id and p in patients}

    async def save(self, insurance: Sequence[InsuranceOnFile]) -> None:
        for i in insurance:
            self.rows[(i.practice_id, i.patient_id, i.payer_id)] = _stored(i)


class FakeBatchRuns(BatchRunRepository):
    def __init__(self) -> None:
        self.rows: dict[str, BatchRun] = {}
        self.versions: dict[str, int] = {}
        self._loaded: dict[str, int] = {}  # type: ignore[assignment]
        self.moved_elsewhere: set[str] = set()  # runs another replica moves between a load and a save

    def _load(self, run_id: str) -> BatchRun:
        self._loaded[run_id] = self.versions[run_id]
        return _stored(self.rows[run_id])

    async def claim(self, run: BatchRun) -> bool:
        if any((r.practice_id, r.schedule_date) == (run.practice_id, run.schedule_date) for r in self.rows.values()):
            return False
        self.rows[run.run_id], self.versions[run.run_id] = _stored(run), 0
        self._loaded[run.run_id] = 0
        return True

    async def find(self, practice_id: str, schedule_date: date) -> BatchRun | None:
        for run_id, run in self.rows.items():
            if (run.practice_id, run.schedule_date) == (practice_id, schedule_date):
                return self._load(run_id)
        return None

    async def get(self, run_id: str, *, lock: bool = False, with_inquiries: bool = False) -> BatchRun | None:
        return self._load(run_id) if run_id in self.rows else None

    async def dates_with_runs(self, practice_id: str, days: Iterable[date]) -> set[date]:
        wanted = set(days)
        return {r.schedule_date for r in self.rows.values() if r.practice_id == practice_id
                and r.schedule_date in wanted}

    async def due_for_resend(self, now: datetime, lease_start: datetime, *, run_id: str | None = None,
                             ignore_backoff: bool = False) -> list[BatchRun]:
        due = []
        for rid, run in self.rows.items():
            if run_id is not None and rid != run_id:
                continue
            failed = run.status == BatchRunStatus.SEND_FAILED and (
                ignore_backoff or (run.next_attempt_at is not None and run.next_attempt_at <= now))
            stuck = (run.status == BatchRunStatus.SENDING and run.send_started_at is not None
                     and run.send_started_at < lease_start)
            if failed or stuck:
                due.append(self._load(rid))
        return due

    async def submitted(self, *, run_id: str | None = None) -> list[BatchRun]:
        return [self._load(rid) for rid, run in self.rows.items()
                if run.status == BatchRunStatus.SUBMITTED and (run_id is None or rid == run_id)]

    async def save(self, run: BatchRun) -> bool:
        if run.run_id in self.moved_elsewhere:
            self.moved_elsewhere.discard(run.run_id)
            self.versions[run.run_id] += 1
        if self._loaded.get(run.run_id) != self.versions[run.run_id]:
            return False
        self.versions[run.run_id] += 1
        self._loaded[run.run_id] = self.versions[run.run_id]
        self.rows[run.run_id] = _stored(run)
        return True


class FakeSchedule(ScheduleRepository):
    def __init__(self, runs: FakeBatchRuns) -> None:
        self.rows: dict[tuple[str, str], ScheduledVisit] = {}
        self.runs = runs

    async def get_many(self, practice_id: str, visit_ids: Iterable[str]) -> dict[str, ScheduledVisit]:
        return {v: _stored(self.rows[(practice_id, v)]) for v in set(visit_ids) if (practice_id, v) in self.rows}

    async def booked_on(self, practice_id: str, day: date) -> list[ScheduledVisit]:
        return [_stored(v) for (practice, _), v in self.rows.items()
                if practice == practice_id and v.service_date == day and not v.cancelled]

    async def practices_without_run(self, day: date) -> list[str]:
        ran = {r.practice_id for r in self.runs.rows.values() if r.schedule_date == day}
        return sorted({p for (p, _), v in self.rows.items() if v.service_date == day and not v.cancelled} - ran)

    async def save(self, visits: Sequence[ScheduledVisit]) -> None:
        for v in visits:
            self.rows[(v.practice_id, v.visit_id)] = _stored(v)


class FakeSessionLimits(SessionLimitRepository):
    def __init__(self) -> None:
        self.visits: dict[tuple[str, str], CompletedVisit] = {}
        self.alerts: list[dict[str, Any]] = []

    async def record_visits(self, visits: Sequence[CompletedVisit]) -> None:
        for v in visits:
            self.visits[(v.practice_id, v.visit_id)] = v
        for v in visits:
            replaced = self.visits.get((v.practice_id, v.replaces_visit_id or ""))
            if replaced is not None:
                self.visits[(v.practice_id, replaced.visit_id)] = replace(replaced, voided=True)

    async def limits_for(self, benefits: Mapping[Member3, BenefitsOnFile]) -> dict[Member3, SessionLimit]:
        found = {}
        for member, b in benefits.items():
            if b.visit_limit is None:
                continue
            visits = {v.visit_id: v.service_date for v in self.visits.values() if v.member == member and not v.voided}
            alerted = {(a["benefit_year_start"], a["kind"]) for a in self.alerts
                       if (a["practice_id"], a["patient_id"], a["payer_id"]) == member}
            found[member] = SessionLimit(b, visits, alerted)
        return found

    async def save(self, limits: Iterable[SessionLimit], now: datetime) -> None:
        for limit in limits:
            for alert in limit.raised:
                b = limit.benefits
                self.alerts.append({"practice_id": b.practice_id, "patient_id": b.patient_id, "payer_id": b.payer_id,
                                    "kind": alert.kind.value, "benefit_year_start": alert.benefit_year_start,
                                    "remaining": alert.remaining, "visit_id": alert.visit_id})

    async def patients_seen(self, practice_id: str, patient_ids: Iterable[str]) -> set[tuple[str, str]]:
        patients = set(patient_ids)
        return {(v.patient_id, v.payer_id) for v in self.visits.values()
                if v.practice_id == practice_id and v.patient_id in patients and not v.voided}


class FakeRechecks(RecheckRepository):
    def __init__(self) -> None:
        self.rows: dict[str, RecheckRequest] = {}

    def _open(self, r: RecheckRequest) -> bool:
        return r.status in (RecheckStatus.PENDING, RecheckStatus.SENDING)

    async def get(self, request_id: str) -> RecheckRequest | None:
        return _stored(self.rows[request_id]) if request_id in self.rows else None

    async def recently_asked(self, practice_id: str, patient_id: str, payer_id: str, since: datetime | None
                             ) -> bool:
        return any((r.practice_id, r.patient_id, r.payer_id) == (practice_id, patient_id, payer_id) and (
            self._open(r) or (since is not None and r.sent_at is not None and r.sent_at >= since))
            for r in self.rows.values())

    async def queue(self, request: RecheckRequest) -> bool:
        member = (request.practice_id, request.patient_id, request.payer_id)
        if any((r.practice_id, r.patient_id, r.payer_id) == member and self._open(r) for r in self.rows.values()):
            return False
        self.rows[request.request_id] = _stored(request)
        return True

    async def lock_claims(self) -> None:
        return None

    async def release_stale(self, claimed_before: datetime) -> None:
        for r in self.rows.values():
            if r.status == RecheckStatus.SENDING and r.claimed_at is not None and r.claimed_at < claimed_before:
                r.status = RecheckStatus.PENDING

    async def due(self, now: datetime, limit: int) -> list[RecheckRequest]:
        due = sorted((r for r in self.rows.values() if r.status == RecheckStatus.PENDING and r.due_at <= now),
                     key=lambda r: r.due_at)
        return [_stored(r) for r in due[:limit]]

    async def sent_per_payer_since(self, since: datetime) -> dict[str, int]:
        sent: dict[str, int] = {}
        for r in self.rows.values():
            if r.sent_at is not None and r.sent_at >= since:
                sent[r.payer_id] = sent.get(r.payer_id, 0) + 1
        return sent

    async def save(self, requests: Sequence[RecheckRequest]) -> None:
        for r in requests:
            self.rows[r.request_id] = _stored(r)


class FakeWorkItems(WorkItemRepository):
    def __init__(self) -> None:
        self.rows: dict[str, WorkItem] = {}

    async def raise_item(self, item: WorkItem) -> str:
        for existing in self.rows.values():
            same = (existing.practice_id, existing.patient_id, existing.payer_id, existing.kind) == (
                item.practice_id, item.patient_id, item.payer_id, item.kind)
            if same and existing.status == WorkItemStatus.OPEN:
                existing.occurrences += 1
                existing.next_action, existing.reason_codes, existing.detail = (item.next_action, item.reason_codes,
                                                                                item.detail)
                existing.check_id, existing.run_id, existing.recheck_id = item.check_id, item.run_id, item.recheck_id
                return existing.item_id
        self.rows[item.item_id] = _stored(item)
        return item.item_id

    async def get(self, practice_id: str, item_id: str) -> WorkItem | None:
        item = self.rows.get(item_id)
        return _stored(item) if item is not None and item.practice_id == practice_id else None

    async def save(self, item: WorkItem) -> None:
        self.rows[item.item_id] = _stored(item)

    def open_items(self) -> list[WorkItem]:
        return [i for i in self.rows.values() if i.status == WorkItemStatus.OPEN]


class FakeControlNumbers(ControlNumberRepository):
    def __init__(self) -> None:
        self.issued: dict[str, int] = {}

    async def next(self, name: str) -> int:
        self.issued[name] = self.issued.get(name, 0) + 1
        return self.issued[name]


class FakeUnitOfWork(InMemoryUnitOfWork, EligibilityUnitOfWork):
    """Reused for every unit a use case opens (``uows = lambda: uow``): the repositories keep their contents."""

    checks: FakeChecks
    benefits: FakeBenefits
    insurance: FakeInsurance
    schedule: FakeSchedule
    session_limits: FakeSessionLimits
    rechecks: FakeRechecks
    work_items: FakeWorkItems
    batch_runs: FakeBatchRuns
    control_numbers: FakeControlNumbers

    def __init__(self) -> None:
        super().__init__(announce, RecordingOutbox())

    def bind_in_memory(self) -> None:
        self.checks = FakeChecks()
        self.benefits = FakeBenefits()
        self.insurance = FakeInsurance()
        self.batch_runs = FakeBatchRuns()
        self.schedule = FakeSchedule(self.batch_runs)
        self.session_limits = FakeSessionLimits()
        self.rechecks = FakeRechecks()
        self.work_items = FakeWorkItems()
        self.control_numbers = FakeControlNumbers()

    def __call__(self) -> FakeUnitOfWork:
        return self
