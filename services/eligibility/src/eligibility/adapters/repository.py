"""One repository per aggregate of ``domain.model``, on the caller's session (the unit of work's transaction).

Writes are set-wise where a use case handles many at once (a schedule of thousands of visits, a nightly batch's
answers, a poll of completed visits): a handful of statements, not one round trip per row. Rows with natural keys
are written with ``INSERT .. ON CONFLICT``, so two writers of the same new key (the EHR posting a schedule twice
at once, two consumers on different partitions) both succeed instead of one failing on the key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from rcm_shared.db import sequences
from sqlalchemy import Table, bindparam, func, insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import ColumnElement, Executable

from eligibility.adapters import queue_items
from eligibility.adapters.orm import (
    OPEN_RECHECK,
    OPEN_WORK_ITEM,
    batch_inquiries,
    batch_runs,
    control_numbers,
    coverage_checks,
    insurance_on_file,
    recheck_requests,
    scheduled_visits,
    session_alerts,
    session_visits,
    snapshots,
    work_items,
)
from eligibility.domain.benefits import Member, PayerRef, ProviderRef
from eligibility.domain.model import (
    BatchInquiry,
    BatchRun,
    BatchRunStatus,
    BenefitsOnFile,
    CompletedVisit,
    CoverageCheck,
    InquiryStatus,
    InsuranceOnFile,
    RecheckRequest,
    RecheckStatus,
    ScheduledVisit,
    SessionLimit,
    WorkItem,
    WorkItemStatus,
)

Member3 = tuple[str, str, str]  # (practice, patient, payer)
RECHECK_LOCK = 0x454C4752  # PostgreSQL advisory lock: one claimer of re-checks at a time, so rates hold


def storable(x12: str) -> str:
    """A payer's file as it can be kept: PostgreSQL text cannot hold NUL, and failing the write would lose the
    answered check (and re-send it) over one character X12 does not allow anyway."""
    return x12.replace("\x00", "\ufffd")


class CoverageCheckRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, checks: Sequence[CoverageCheck]) -> None:
        if not checks:
            return
        await self.session.execute(insert(coverage_checks), [{
            "check_id": c.check_id, "practice_id": c.practice_id, "patient_id": c.patient_id,
            "payer_id": c.payer_id, "service_date": c.service_date, "trace_number": c.trace_number,
            "status": c.primary.status.value, "next_action": c.primary.next_action.value,
            "follows_check_id": c.follows_check_id, "request_x12": c.request_x12,
            "response_x12": storable(c.response_x12) if c.response_x12 is not None else None,
            "result": {"results": [r.to_dict() for r in c.results], "unreadable_response": c.unreadable},
            "checked_at": c.checked_at, "origin": c.origin.value, "batch_run_id": c.batch_run_id} for c in checks])


class BenefitsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, practice_id: str, patient_id: str, payer_id: str) -> BenefitsOnFile | None:
        return (await self.get_many([(practice_id, patient_id, payer_id)])).get((practice_id, patient_id, payer_id))

    async def get_many(self, members: Iterable[Member3]) -> dict[Member3, BenefitsOnFile]:
        wanted = list(set(members))
        if not wanted:
            return {}
        key = tuple_(snapshots.c.practice_id, snapshots.c.patient_id, snapshots.c.payer_id)
        rows = (await self.session.execute(select(snapshots).where(key.in_(wanted)))).all()
        return {(r.practice_id, r.patient_id, r.payer_id): _benefits(r) for r in rows}

    async def for_patients(self, practice_id: str, patient_ids: Iterable[str]) -> dict[tuple[str, str],
                                                                                       BenefitsOnFile]:
        patients = list(set(patient_ids))
        if not patients:
            return {}
        rows = (await self.session.execute(select(snapshots).where(
            snapshots.c.practice_id == practice_id, snapshots.c.patient_id.in_(patients)))).all()
        return {(r.patient_id, r.payer_id): _benefits(r) for r in rows}

    async def save(self, benefits: Sequence[BenefitsOnFile]) -> None:
        await upsert_rows(self.session, snapshots, ("practice_id", "patient_id", "payer_id"), [{
            "practice_id": b.practice_id, "patient_id": b.patient_id, "payer_id": b.payer_id,
            "check_id": b.check_id, "active": b.active, "checked_on": b.checked_on,
            "coverage_begin": b.coverage_begin, "coverage_end": b.coverage_end, "snapshot": b.snapshot,
            "visit_limit": b.visit_limit, "payer_visits_remaining": b.payer_visits_remaining,
            "last_eligibility_denial_on": b.last_eligibility_denial_on, "updated_at": b.updated_at}
            for b in benefits])

    async def save_denial(self, benefits: BenefitsOnFile) -> None:
        """Only the noted denial: a check answered meanwhile keeps the benefits it brought."""
        await self.session.execute(update(snapshots).where(
            snapshots.c.practice_id == benefits.practice_id, snapshots.c.patient_id == benefits.patient_id,
            snapshots.c.payer_id == benefits.payer_id).values(
            last_eligibility_denial_on=benefits.last_eligibility_denial_on, updated_at=benefits.updated_at))


def _benefits(row: Any) -> BenefitsOnFile:
    return BenefitsOnFile(row.practice_id, row.patient_id, row.payer_id, row.check_id, bool(row.active),
                          row.checked_on, row.coverage_begin, row.coverage_end, dict(row.snapshot or {}),
                          row.visit_limit, row.payer_visits_remaining, row.last_eligibility_denial_on,
                          row.updated_at)


INSURANCE_KEY = ("practice_id", "patient_id", "payer_id")


class InsuranceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, practice_id: str, patient_id: str, payer_id: str) -> InsuranceOnFile | None:
        row = (await self.session.execute(select(insurance_on_file).where(
            insurance_on_file.c.practice_id == practice_id, insurance_on_file.c.patient_id == patient_id,
            insurance_on_file.c.payer_id == payer_id))).first()
        return _insurance(row) if row is not None else None

    async def for_patients(self, practice_id: str, patient_ids: Iterable[str]) -> dict[tuple[str, str],
                                                                                       InsuranceOnFile]:
        patients = list(set(patient_ids))
        if not patients:
            return {}
        rows = (await self.session.execute(select(insurance_on_file).where(
            insurance_on_file.c.practice_id == practice_id, insurance_on_file.c.patient_id.in_(patients)))).all()
        return {(r.patient_id, r.payer_id): _insurance(r) for r in rows}

    async def save(self, insurance: Sequence[InsuranceOnFile]) -> None:
        await upsert_rows(self.session, insurance_on_file, INSURANCE_KEY, [{
            "practice_id": i.practice_id, "patient_id": i.patient_id, "payer_id": i.payer.payer_id,
            "payer_name": (i.payer.name or i.payer.payer_id)[:60], "provider_npi": i.provider.npi,
            "provider_name": i.provider.name[:60], "provider_first_name": i.provider.first_name[:35],
            "subscriber": _member_json(i.subscriber),
            "dependent": _member_json(i.dependent) if i.dependent else None, "updated_at": i.updated_at}
            for i in insurance])


def _member_json(member: Member) -> dict[str, Any]:
    return {"last_name": member.last_name, "first_name": member.first_name, "member_id": member.member_id,
            "birth_date": member.birth_date.isoformat() if member.birth_date else None, "gender": member.gender}


def _member(data: Mapping[str, Any]) -> Member:
    born = data.get("birth_date")
    return Member(last_name=str(data["last_name"]), first_name=str(data["first_name"]),
                  birth_date=date.fromisoformat(born) if born else None, member_id=str(data.get("member_id", "")),
                  gender=str(data.get("gender", "")))


def _insurance(row: Any) -> InsuranceOnFile:
    return InsuranceOnFile(
        row.practice_id, row.patient_id, PayerRef(row.payer_id, row.payer_name),
        ProviderRef(row.provider_npi, row.provider_name, row.provider_first_name), _member(row.subscriber),
        _member(row.dependent) if row.dependent else None, row.updated_at)


class ScheduleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_many(self, practice_id: str, visit_ids: Iterable[str]) -> dict[str, ScheduledVisit]:
        ids = list(set(visit_ids))
        if not ids:
            return {}
        rows = (await self.session.execute(select(scheduled_visits).where(
            scheduled_visits.c.practice_id == practice_id, scheduled_visits.c.visit_id.in_(ids)))).all()
        return {r.visit_id: _scheduled(r) for r in rows}

    async def booked_on(self, practice_id: str, day: date) -> list[ScheduledVisit]:
        """The visits booked (not cancelled) for ``day``."""
        rows = (await self.session.execute(select(scheduled_visits).where(
            scheduled_visits.c.practice_id == practice_id, scheduled_visits.c.service_date == day,
            scheduled_visits.c.cancelled.is_(False)))).all()
        return [_scheduled(r) for r in rows]

    async def practices_without_run(self, day: date) -> list[str]:
        """Practices with visits booked for ``day`` whose nightly run for it does not exist yet."""
        already = select(batch_runs.c.practice_id).where(batch_runs.c.schedule_date == day)
        return list((await self.session.execute(select(scheduled_visits.c.practice_id).distinct().where(
            scheduled_visits.c.service_date == day, scheduled_visits.c.cancelled.is_(False),
            scheduled_visits.c.practice_id.not_in(already)))).scalars().all())

    async def save(self, visits: Sequence[ScheduledVisit]) -> None:
        await upsert_rows(self.session, scheduled_visits, ("practice_id", "visit_id"), [{
            "practice_id": v.practice_id, "visit_id": v.visit_id, "patient_id": v.patient_id,
            "payer_id": v.payer_id, "service_date": v.service_date, "cancelled": v.cancelled,
            "first_visit": v.first_visit, "cpt_code": v.cpt_code, "source": v.source, "updated_at": v.updated_at}
            for v in visits])


def _scheduled(row: Any) -> ScheduledVisit:
    return ScheduledVisit(row.practice_id, row.visit_id, row.patient_id, row.payer_id, row.service_date,
                          bool(row.cancelled), row.first_visit, row.cpt_code, row.source, row.updated_at)


class SessionLimitRepository:
    """Completed visits counted per patient and payer, and the alerts raised once per benefit year and kind."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record_visits(self, visits: Sequence[CompletedVisit]) -> None:
        """Keep each visit (the latest word on a visit id wins) and void the visits they replace."""
        await upsert_rows(self.session, session_visits, ("practice_id", "visit_id"), [{
            "practice_id": v.practice_id, "visit_id": v.visit_id, "patient_id": v.patient_id,
            "payer_id": v.payer_id, "service_date": v.service_date, "voided": v.voided} for v in visits])
        replaced: dict[str, set[str]] = {}
        for visit in visits:
            if visit.replaces_visit_id:
                replaced.setdefault(visit.practice_id, set()).add(visit.replaces_visit_id)
        for practice_id, visit_ids in replaced.items():
            await self.session.execute(update(session_visits).where(
                session_visits.c.practice_id == practice_id,
                session_visits.c.visit_id.in_(sorted(visit_ids))).values(voided=True))

    async def limits_for(self, benefits: Mapping[Member3, BenefitsOnFile]) -> dict[Member3, SessionLimit]:
        """A ``SessionLimit`` for each member whose benefits on file have a visit limit: two statements for
        every member of a poll."""
        capped = [member for member, b in benefits.items() if b.visit_limit is not None]
        if not capped:
            return {}
        visits: dict[Member3, dict[str, date]] = {m: {} for m in capped}
        key = tuple_(session_visits.c.practice_id, session_visits.c.patient_id, session_visits.c.payer_id)
        for row in (await self.session.execute(select(
                session_visits.c.practice_id, session_visits.c.patient_id, session_visits.c.payer_id,
                session_visits.c.visit_id, session_visits.c.service_date).where(
                key.in_(capped), session_visits.c.voided.is_(False)))).all():
            visits[(row.practice_id, row.patient_id, row.payer_id)][row.visit_id] = row.service_date
        alerted: dict[Member3, set[tuple[date, str]]] = {m: set() for m in capped}
        alert_key = tuple_(session_alerts.c.practice_id, session_alerts.c.patient_id, session_alerts.c.payer_id)
        for row in (await self.session.execute(select(
                session_alerts.c.practice_id, session_alerts.c.patient_id, session_alerts.c.payer_id,
                session_alerts.c.benefit_year_start, session_alerts.c.kind).where(alert_key.in_(capped)))).all():
            alerted[(row.practice_id, row.patient_id, row.payer_id)].add((row.benefit_year_start, row.kind))
        return {m: SessionLimit(benefits[m], visits[m], alerted[m]) for m in capped}

    async def save(self, limits: Iterable[SessionLimit], now: datetime) -> None:
        """The alerts raised since load. A plain insert: a consumer on another partition that raised the same
        alert first makes this poll fail and be retried, which then finds it (no second announcement)."""
        rows = [{"practice_id": s.benefits.practice_id, "patient_id": s.benefits.patient_id,
                 "payer_id": s.benefits.payer_id, "kind": a.kind.value, "benefit_year_start": a.benefit_year_start,
                 "limit": a.limit, "remaining": a.remaining, "visit_id": a.visit_id, "raised_at": now}
                for s in limits for a in s.raised]
        if rows:
            await self.session.execute(insert(session_alerts), rows)

    async def patients_seen(self, practice_id: str, patient_ids: Iterable[str]) -> set[tuple[str, str]]:
        """(patient, payer) pairs with a completed (not voided) visit: a booking of theirs is not a first visit."""
        patients = list(set(patient_ids))
        if not patients:
            return set()
        return {(r.patient_id, r.payer_id) for r in (await self.session.execute(select(
            session_visits.c.patient_id, session_visits.c.payer_id).where(
            session_visits.c.practice_id == practice_id, session_visits.c.patient_id.in_(patients),
            session_visits.c.voided.is_(False)))).all()}


class RecheckRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, request_id: str) -> RecheckRequest | None:
        row = (await self.session.execute(select(recheck_requests).where(
            recheck_requests.c.request_id == request_id))).first()
        return _recheck(row) if row is not None else None

    async def recently_asked(self, practice_id: str, patient_id: str, payer_id: str, since: datetime | None
                             ) -> bool:
        """A re-check of this member is open, or (``since`` given) went out since then."""
        member = ((recheck_requests.c.practice_id == practice_id) & (recheck_requests.c.patient_id == patient_id)
                  & (recheck_requests.c.payer_id == payer_id))
        recent = OPEN_RECHECK if since is None else (OPEN_RECHECK | (recheck_requests.c.sent_at >= since))
        return (await self.session.execute(select(recheck_requests.c.request_id).where(
            member, recent).limit(1))).first() is not None

    async def queue(self, request: RecheckRequest) -> bool:
        """Insert unless a re-check of the member is open: the partial unique index makes a racing second
        insert a no-op. True when this one was queued."""
        inserted = await insert_unless_open(self.session, recheck_requests, _recheck_row(request),
                                            key=("practice_id", "patient_id", "payer_id"), open_rows=OPEN_RECHECK,
                                            returning="request_id")
        return inserted is not None

    async def lock_claims(self) -> None:
        """One claimer at a time across replicas (PostgreSQL; SQLite serializes writers anyway)."""
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(select(func.pg_advisory_xact_lock(RECHECK_LOCK)))

    async def release_stale(self, claimed_before: datetime) -> None:
        """A sender that died between claiming and storing the answer: send it again."""
        await self.session.execute(update(recheck_requests).where(
            recheck_requests.c.status == RecheckStatus.SENDING.value,
            recheck_requests.c.claimed_at < claimed_before).values(status=RecheckStatus.PENDING.value))

    async def due(self, now: datetime, limit: int) -> list[RecheckRequest]:
        rows = (await self.session.execute(select(recheck_requests).where(
            recheck_requests.c.status == RecheckStatus.PENDING.value, recheck_requests.c.due_at <= now)
            .order_by(recheck_requests.c.due_at).limit(limit))).all()
        return [_recheck(r) for r in rows]

    async def sent_per_payer_since(self, since: datetime) -> dict[str, int]:
        return {str(payer): int(count) for payer, count in (await self.session.execute(select(
            recheck_requests.c.payer_id, func.count()).where(recheck_requests.c.sent_at >= since)
            .group_by(recheck_requests.c.payer_id))).all()}

    async def save(self, requests: Sequence[RecheckRequest]) -> None:
        for request in requests:
            row = _recheck_row(request)
            await self.session.execute(update(recheck_requests).where(
                recheck_requests.c.request_id == request.request_id).values(
                {k: v for k, v in row.items() if k != "request_id"}))


def _recheck_row(r: RecheckRequest) -> dict[str, Any]:
    return {"request_id": r.request_id, "practice_id": r.practice_id, "patient_id": r.patient_id,
            "payer_id": r.payer_id, "reason": r.reason, "service_date": r.service_date,
            "follows_check_id": r.follows_check_id, "status": r.status.value, "due_at": r.due_at,
            "attempts": r.attempts, "claimed_at": r.claimed_at, "sent_at": r.sent_at, "check_id": r.check_id,
            "last_error": r.last_error, "created_at": r.created_at}


def _recheck(row: Any) -> RecheckRequest:
    return RecheckRequest(row.request_id, row.practice_id, row.patient_id, row.payer_id, row.reason,
                          row.service_date, row.follows_check_id, RecheckStatus(row.status), row.due_at,
                          int(row.attempts), row.created_at, row.claimed_at, row.sent_at, row.check_id,
                          row.last_error)


class WorkItemRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def raise_item(self, item: WorkItem) -> str:
        """Open the item, or bring the open one of the same patient, payer and kind up to date and count the
        occurrence. One statement: two transactions raising the same item at once end with one item."""
        latest = {"next_action": item.next_action, "reason_codes": list(item.reason_codes), "detail": item.detail,
                  "service_date": item.service_date, "check_id": item.check_id, "run_id": item.run_id,
                  "recheck_id": item.recheck_id, "updated_at": item.updated_at}
        item_id = await insert_unless_open(self.session, work_items, dict(
            item_id=item.item_id, practice_id=item.practice_id, patient_id=item.patient_id, payer_id=item.payer_id,
            kind=item.kind, status=item.status.value, occurrences=item.occurrences, created_at=item.created_at,
            **latest), key=("practice_id", "patient_id", "payer_id", "kind"), open_rows=OPEN_WORK_ITEM,
            returning="item_id", on_open={"occurrences": work_items.c.occurrences + 1, **latest})
        await queue_items.raised(self.session, item, str(item_id), item.updated_at)
        return str(item_id)

    async def get(self, practice_id: str, item_id: str) -> WorkItem | None:
        row = (await self.session.execute(select(work_items).where(
            work_items.c.practice_id == practice_id, work_items.c.item_id == item_id))).first()
        if row is None:
            return None
        return WorkItem(row.item_id, row.practice_id, row.patient_id, row.payer_id, row.kind, row.next_action,
                        tuple(row.reason_codes or ()), row.detail, row.service_date, row.check_id, row.run_id,
                        row.recheck_id, WorkItemStatus(row.status), int(row.occurrences), row.created_at,
                        row.updated_at, row.resolved_at, row.resolved_by)

    async def save(self, item: WorkItem) -> None:
        await self.session.execute(update(work_items).where(
            work_items.c.practice_id == item.practice_id, work_items.c.item_id == item.item_id).values(
            status=item.status.value, resolved_at=item.resolved_at, resolved_by=item.resolved_by))
        await queue_items.resolved(self.session, item)


_RUN_FIELDS = ("inquiry_count", "fresh_count", "no_insurance_count", "deferred_count", "attention_count", "attempts",
               "payload_id", "interchange_control_number", "request_x12", "response_x12", "last_error",
               "next_attempt_at", "send_started_at", "submitted_at", "completed_at")


class BatchRunRepository:
    """Nightly runs with optimistic concurrency: ``save`` writes only if the run is still as it was loaded
    (status, attempts, send start), so two replicas never both move it; the loser's ``save`` returns False."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._loaded: dict[str, tuple[str, int, datetime | None]] = {}
        self._inquiries_loaded: set[str] = set()

    async def claim(self, run: BatchRun) -> bool:
        """Insert the run: the unique (practice, schedule date) decides who plans and sends it. A second
        replica waits on the key, then finds it taken (False)."""
        try:
            async with self.session.begin_nested():
                await self.session.execute(insert(batch_runs).values(
                    run_id=run.run_id, practice_id=run.practice_id, schedule_date=run.schedule_date,
                    trigger=run.trigger, triggered_by=run.triggered_by, status=run.status.value,
                    created_at=run.created_at, **self._fields(run)))
        except IntegrityError:
            return False
        self._remember(run)
        self._inquiries_loaded.add(run.run_id)
        return True

    async def find(self, practice_id: str, schedule_date: date) -> BatchRun | None:
        row = (await self.session.execute(select(batch_runs).where(
            batch_runs.c.practice_id == practice_id, batch_runs.c.schedule_date == schedule_date))).first()
        return self._run(row) if row is not None else None

    async def get(self, run_id: str, *, lock: bool = False, with_inquiries: bool = False) -> BatchRun | None:
        query = select(batch_runs).where(batch_runs.c.run_id == run_id)
        row = (await self.session.execute(query.with_for_update() if lock else query)).first()
        if row is None:
            return None
        run = self._run(row)
        if with_inquiries:
            rows = (await self.session.execute(select(batch_inquiries).where(batch_inquiries.c.run_id == run_id)
                                               .order_by(batch_inquiries.c.trace_number))).all()
            run.inquiries = [BatchInquiry(r.trace_number, r.practice_id, r.patient_id, r.payer_id, r.service_date,
                                          tuple(r.reasons), tuple(r.visit_ids), r.request_x12,
                                          InquiryStatus(r.status), r.check_id) for r in rows]
            self._inquiries_loaded.add(run_id)
        return run

    async def dates_with_runs(self, practice_id: str, days: Iterable[date]) -> set[date]:
        wanted = list(set(days))
        if not wanted:
            return set()
        return set((await self.session.execute(select(batch_runs.c.schedule_date).where(
            batch_runs.c.practice_id == practice_id, batch_runs.c.schedule_date.in_(wanted)))).scalars().all())

    async def due_for_resend(self, now: datetime, lease_start: datetime, *, run_id: str | None = None,
                             ignore_backoff: bool = False) -> list[BatchRun]:
        due_failed = batch_runs.c.status == BatchRunStatus.SEND_FAILED.value
        if not ignore_backoff:
            due_failed = due_failed & (batch_runs.c.next_attempt_at <= now)
        stuck = ((batch_runs.c.status == BatchRunStatus.SENDING.value)
                 & (batch_runs.c.send_started_at < lease_start))
        query = select(batch_runs).where(due_failed | stuck)
        if run_id is not None:
            query = query.where(batch_runs.c.run_id == run_id)
        return [self._run(r) for r in (await self.session.execute(query)).all()]

    async def submitted(self, *, run_id: str | None = None) -> list[BatchRun]:
        query = select(batch_runs).where(batch_runs.c.status == BatchRunStatus.SUBMITTED.value)
        if run_id is not None:
            query = query.where(batch_runs.c.run_id == run_id)
        return [self._run(r) for r in (await self.session.execute(query)).all()]

    async def save(self, run: BatchRun) -> bool:
        """Write the run (and its inquiries) if nobody moved it since it was loaded; False when someone did."""
        status, attempts, started = self._loaded[run.run_id]
        since = batch_runs.c.send_started_at
        moved = await self.session.execute(update(batch_runs).where(
            batch_runs.c.run_id == run.run_id, batch_runs.c.status == status, batch_runs.c.attempts == attempts,
            since.is_(None) if started is None else since == started,
        ).values(status=run.status.value, **self._fields(run)))
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            return False
        self._remember(run)
        if run.run_id in self._inquiries_loaded and run.inquiries:
            await self._save_inquiries(run)
        return True

    async def _save_inquiries(self, run: BatchRun) -> None:
        known = {r for (r,) in (await self.session.execute(select(batch_inquiries.c.trace_number).where(
            batch_inquiries.c.run_id == run.run_id))).all()}
        new = [i for i in run.inquiries if i.trace_number not in known]
        if new:
            await self.session.execute(insert(batch_inquiries), [{
                "run_id": run.run_id, "trace_number": i.trace_number, "practice_id": i.practice_id,
                "patient_id": i.patient_id, "payer_id": i.payer_id, "service_date": i.service_date,
                "reasons": list(i.reasons), "visit_ids": list(i.visit_ids), "request_x12": i.request_x12,
                "status": i.status.value, "check_id": i.check_id} for i in new])
        changed = [i for i in run.inquiries if i.trace_number in known]
        if changed:
            await self.session.execute(update(batch_inquiries).where(
                batch_inquiries.c.run_id == run.run_id,
                batch_inquiries.c.trace_number == bindparam("trace")).values(
                status=bindparam("new_status"), check_id=bindparam("check")),
                [{"trace": i.trace_number, "new_status": i.status.value, "check": i.check_id} for i in changed])

    @staticmethod
    def _fields(run: BatchRun) -> dict[str, Any]:
        values = {name: getattr(run, name) for name in _RUN_FIELDS}
        for name in ("request_x12", "response_x12"):
            if values[name] is not None:
                values[name] = storable(values[name])
        return values

    def _remember(self, run: BatchRun) -> None:
        self._loaded[run.run_id] = (run.status.value, run.attempts, run.send_started_at)

    def _run(self, row: Any) -> BatchRun:
        run = BatchRun(row.run_id, row.practice_id, row.schedule_date, row.trigger, row.triggered_by,
                       BatchRunStatus(row.status), row.created_at,
                       **{name: getattr(row, name) for name in _RUN_FIELDS})
        self._remember(run)
        return run


class ControlNumberRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def next(self, name: str) -> int:
        return await sequences.next_control_number(self.session, control_numbers, name)


# ------------------------------------------------------------------------------------------ set-wise writes


async def upsert_rows(session: AsyncSession, table: Table, key: Sequence[str], rows: Sequence[dict[str, Any]]
                      ) -> None:
    """Insert the rows whose ``key`` columns are new, update the others (every non-key column given). Rows must
    all carry the same columns; a key repeated in ``rows`` keeps its last row; ``key`` is the table's primary key
    or a unique constraint. One ``INSERT .. ON CONFLICT DO UPDATE``."""
    latest = {tuple(row[k] for k in key): row for row in rows}
    if not latest:
        return
    values = [name for name in next(iter(latest.values())) if name not in key]
    await session.execute(_upsert(session.get_bind().dialect.name, table, key, values), list(latest.values()))


def _upsert(dialect: str, table: Table, key: Sequence[str], values: Sequence[str]) -> Executable:
    index = [table.c[k] for k in key]
    if dialect == "postgresql":
        pg = postgresql.insert(table)
        return pg.on_conflict_do_update(index_elements=index, set_={name: pg.excluded[name] for name in values})
    lite = sqlite.insert(table)
    return lite.on_conflict_do_update(index_elements=index, set_={name: lite.excluded[name] for name in values})


async def insert_unless_open(session: AsyncSession, table: Table, row: dict[str, Any], *, key: Sequence[str],
                             open_rows: ColumnElement[bool], returning: str,
                             on_open: dict[str, Any] | None = None) -> Any:
    """Insert ``row`` unless an open row (``open_rows``, the predicate of a partial unique index on ``key``)
    exists for the same key: then nothing (``on_open`` None, returns None) or that row is updated with
    ``on_open`` (returns its ``returning`` column). One ``INSERT .. ON CONFLICT``, so two transactions racing to
    open the same row end with one, and neither fails."""
    dialect = session.get_bind().dialect.name
    statement = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    index = [table.c[k] for k in key]
    if on_open is None:
        upsert = statement.values(**row).on_conflict_do_nothing(index_elements=index, index_where=open_rows)
    else:
        upsert = statement.values(**row).on_conflict_do_update(index_elements=index, index_where=open_rows,
                                                                set_=on_open)
    return (await session.execute(upsert.returning(table.c[returning]))).scalar_one_or_none()
