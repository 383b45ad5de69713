"""Use cases of eligibility: coverage checks (270 out, 271 in), stored benefits, session-limit tracking."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from typing import Any

from rcm_shared.contracts import EligibilityCheckedV1, EventEnvelope, VisitCompletedV1
from rcm_shared.db import sequences
from rcm_shared.db.database import Database
from rcm_shared.db.types import new_id, utcnow
from rcm_shared.messaging import stage_event
from rcm_shared.x12 import X12SyntaxError
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties
from sqlalchemy import and_, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from eligibility.adapters.orm import (
    control_numbers,
    coverage_checks,
    insurance_on_file,
    platform,
    session_alerts,
    session_visits,
    snapshots,
)
from eligibility.adapters.payer_gateway import PayerGateway
from eligibility.adapters.repository import upsert_rows
from eligibility.domain.freshness import CachedCheck, FreshnessDecision, FreshnessRules
from eligibility.domain.model import (
    EligibilityRequest,
    EligibilityResult,
    Member,
    NextAction,
    PayerRef,
    ProviderRef,
    ResultStatus,
)
from eligibility.domain.nightly_batch import NightlyBatchRules
from eligibility.domain.payer_limits import PayerLimitRules
from eligibility.domain.session_limits import SessionLimitTracker
from eligibility.domain.x12_270 import build_270
from eligibility.domain.x12_271 import read_271

SOURCE = "eligibility"
INSURANCE_KEY = ("practice_id", "patient_id", "payer_id")


def _rules(name: str) -> dict[str, Any]:
    data = json.loads(resources.files("eligibility.domain").joinpath(f"rules/{name}").read_text())
    assert isinstance(data, dict)
    return data


@cache
def freshness_rules() -> FreshnessRules:
    return FreshnessRules.from_dict(_rules("freshness.json"))


@cache
def payer_limit_rules() -> PayerLimitRules:
    return PayerLimitRules.from_dict(_rules("payer_limits.json"))


@cache
def nightly_batch_rules() -> NightlyBatchRules:
    return NightlyBatchRules.from_dict(_rules("nightly_batch.json"))


def freshness(row: dict[str, Any], visit_date: date, *, first_visit: bool) -> FreshnessDecision:
    """Must the stored benefits be checked again before this visit? (policy per payer, as data)"""
    policy = freshness_rules().policy_for(row["payer_id"], visit_date)
    return policy.decide(CachedCheck(row["checked_on"], row["coverage_end"]), visit_date, first_visit=first_visit,
                         last_eligibility_denial_on=row["last_eligibility_denial_on"])


def coverage_view(row: dict[str, Any], on: date | None, *, first_visit: bool, today: date) -> dict[str, Any]:
    """A stored snapshot as the claims scrubber and the front desk read it: active on the date asked about,
    and whether the freshness policy wants a new 270 first (for ``on``, else the practice's ``today``)."""
    active_on: bool | None = None
    if on is not None:
        begin, end = row["coverage_begin"], row["coverage_end"]
        active_on = bool(row["active"]) and (begin is None or begin <= on) and (end is None or on <= end)
    decision = freshness(row, on or today, first_visit=first_visit)
    return {"payer_id": row["payer_id"], "active": row["active"], "active_on_date": active_on,
            "recheck_needed": decision.refresh, "recheck_reasons": [r.value for r in decision.reasons],
            "checked_on": row["checked_on"], "coverage_begin": row["coverage_begin"],
            "coverage_end": row["coverage_end"], "visit_limit": row["visit_limit"],
            "payer_visits_remaining": row["payer_visits_remaining"], "check_id": row["check_id"],
            "snapshot": row["snapshot"]}


@dataclass(frozen=True)
class CheckCoverage:
    practice_id: str
    patient_id: str
    payer: PayerRef
    provider: ProviderRef
    subscriber: Member
    service_date: date
    dependent: Member | None = None
    service_types: tuple[str, ...] | None = None
    follows_check_id: str | None = None


@dataclass(frozen=True)
class CheckOutcome:
    check_id: str
    results: list[EligibilityResult]
    follow_up_check_ids: list[str]
    unreadable_response: dict[str, Any] | None = None


async def next_control_number(session: AsyncSession, name: str) -> int:
    return await sequences.next_control_number(session, control_numbers, name)


@dataclass(frozen=True)
class CheckSubject:
    """Whose benefits a check is about: what the stored snapshot and the event are keyed by."""

    practice_id: str
    patient_id: str
    payer_id: str
    service_date: date


@dataclass(frozen=True)
class Exchanged:
    """One real-time 270/271 round trip, not yet stored."""

    trace_number: str
    request_x12: str
    response_x12: str
    results: list[EligibilityResult]
    unreadable_response: dict[str, Any] | None


def read_answer(response_x12: str) -> tuple[list[EligibilityResult], dict[str, Any] | None]:
    """The 271's results, or none and where it broke when the payer answered something that is not a 271."""
    try:
        return read_271(response_x12), None
    except X12SyntaxError as exc:  # kept (for the payer's support desk) and said, never a 500
        return [], exc.as_dict()


def storable(x12: str) -> str:
    """A payer's file as it can be kept: PostgreSQL text cannot hold NUL, and failing the write would lose the
    answered check (and re-send it) over one character X12 does not allow anyway."""
    return x12.replace("\x00", "\ufffd")


def new_trace_number() -> str:
    return uuid.uuid4().hex[:30]  # TRN02: unique, never PHI


def inquiry_for(command: CheckCoverage, trace: str) -> EligibilityRequest:
    return EligibilityRequest(
        payer=command.payer, provider=command.provider, subscriber=command.subscriber,
        service_date=command.service_date, trace_number=trace, dependent=command.dependent,
        **({"service_types": command.service_types} if command.service_types else {}))


async def exchange_270(db: Database, gateway: PayerGateway, parties: InterchangeParties,
                       command: CheckCoverage) -> Exchanged:
    """Build and send a real-time 270 and read the 271; nothing stored yet. ``ValueError``: unsendable values;
    ``PayerUnavailable``: no answer."""
    async with db.transaction() as session:
        icn = await next_control_number(session, "interchange")
    trace = new_trace_number()
    request_x12 = build_270(inquiry_for(command, trace), ControlNumbers(icn, icn, 1, datetime.now(UTC)), parties)
    response_x12 = await gateway.exchange(request_x12)  # outside any transaction: never hold locks on I/O
    results, unreadable = read_answer(response_x12)
    return Exchanged(trace, request_x12, response_x12, results, unreadable)


def primary_result(results: list[EligibilityResult]) -> EligibilityResult:
    return results[0] if results else EligibilityResult(ResultStatus.UNKNOWN, NextAction.CONTACT_PAYER)


@dataclass(frozen=True)
class CheckToRecord:
    """An answered (or unreadable) inquiry, ready to be kept."""

    subject: CheckSubject
    check_id: str
    trace_number: str
    request_x12: str
    response_x12: str | None
    results: list[EligibilityResult]
    unreadable: dict[str, Any] | None
    origin: str  # request (front desk / claims), nightly_batch, recheck
    follows_check_id: str | None = None
    batch_run_id: str | None = None


async def record_checks(session: AsyncSession, checks: Sequence[CheckToRecord]) -> list[EligibilityResult]:
    """Keep the exchanges in the history, update the benefits snapshots and stage eligibility-checked, in the
    caller's transaction (a nightly batch's answers in a few statements). Returns each primary result."""
    primaries = [primary_result(c.results) for c in checks]
    if not checks:
        return primaries
    now = utcnow()
    await session.execute(insert(coverage_checks), [{
        "check_id": c.check_id, "practice_id": c.subject.practice_id, "patient_id": c.subject.patient_id,
        "payer_id": c.subject.payer_id, "service_date": c.subject.service_date, "trace_number": c.trace_number,
        "status": p.status.value, "next_action": p.next_action.value, "follows_check_id": c.follows_check_id,
        "request_x12": c.request_x12, "response_x12": storable(c.response_x12) if c.response_x12 is not None else None,
        "result": {"results": [r.to_dict() for r in c.results], "unreadable_response": c.unreadable},
        "checked_at": now, "origin": c.origin, "batch_run_id": c.batch_run_id} for c, p in zip(checks, primaries,
                                                                                                strict=True)])
    await upsert_rows(session, snapshots, ("practice_id", "patient_id", "payer_id"), [
        _snapshot_row(c.subject, c.check_id, p, now) for c, p in zip(checks, primaries, strict=True)
        if p.snapshot is not None and p.status in (ResultStatus.ACTIVE, ResultStatus.INACTIVE)])
    for check, primary in zip(checks, primaries, strict=True):
        await stage_event(session, platform, _checked_event(check.subject, check.check_id, primary), source=SOURCE,
                          subject=check.check_id, practice_id=check.subject.practice_id)
    return primaries


async def record_check(session: AsyncSession, check: CheckToRecord) -> EligibilityResult:
    return (await record_checks(session, [check]))[0]


def insurance_row(practice_id: str, patient_id: str, payer: PayerRef, provider: ProviderRef, subscriber: Member,
                  dependent: Member | None) -> dict[str, Any]:
    return {"practice_id": practice_id, "patient_id": patient_id, "payer_id": payer.payer_id,
            "payer_name": (payer.name or payer.payer_id)[:60], "provider_npi": provider.npi,
            "provider_name": provider.name[:60], "provider_first_name": provider.first_name[:35],
            "subscriber": _member_json(subscriber), "dependent": _member_json(dependent) if dependent else None,
            "updated_at": utcnow()}


async def remember_insurance(session: AsyncSession, practice_id: str, patient_id: str, payer: PayerRef,
                             provider: ProviderRef, subscriber: Member, dependent: Member | None) -> None:
    """Keep the member details of a check so later checks (nightly batch, re-checks) can be sent unattended."""
    await upsert_rows(session, insurance_on_file, INSURANCE_KEY,
                      [insurance_row(practice_id, patient_id, payer, provider, subscriber, dependent)])


def _member_json(member: Member) -> dict[str, Any]:
    return {"last_name": member.last_name, "first_name": member.first_name, "member_id": member.member_id,
            "birth_date": member.birth_date.isoformat() if member.birth_date else None, "gender": member.gender}


def _member(data: dict[str, Any]) -> Member:
    born = data.get("birth_date")
    return Member(last_name=str(data["last_name"]), first_name=str(data["first_name"]),
                  birth_date=date.fromisoformat(born) if born else None, member_id=str(data.get("member_id", "")),
                  gender=str(data.get("gender", "")))


def command_from_insurance(row: Any, service_date: date, follows_check_id: str | None = None) -> CheckCoverage:
    """A coverage check rebuilt from the insurance on file (a row of ``insurance_on_file``)."""
    return CheckCoverage(
        practice_id=row.practice_id, patient_id=row.patient_id, payer=PayerRef(row.payer_id, row.payer_name),
        provider=ProviderRef(row.provider_npi, row.provider_name, row.provider_first_name),
        subscriber=_member(row.subscriber), dependent=_member(row.dependent) if row.dependent else None,
        service_date=service_date, follows_check_id=follows_check_id)


async def load_insurance(session: AsyncSession, practice_id: str, patient_id: str, payer_id: str) -> Any:
    return (await session.execute(select(insurance_on_file).where(
        insurance_on_file.c.practice_id == practice_id, insurance_on_file.c.patient_id == patient_id,
        insurance_on_file.c.payer_id == payer_id))).first()


async def check_coverage(db: Database, gateway: PayerGateway, parties: InterchangeParties,
                         command: CheckCoverage, *, follow_carve_outs: bool = True) -> CheckOutcome:
    """Send a 270, read the 271, keep both, update the benefits snapshot, announce it; follow a carve-out."""
    exchanged = await exchange_270(db, gateway, parties, command)
    check_id = new_id()
    subject = CheckSubject(command.practice_id, command.patient_id, command.payer.payer_id, command.service_date)
    async with db.transaction() as session:
        primary = await record_check(session, CheckToRecord(
            subject, check_id, exchanged.trace_number, exchanged.request_x12, exchanged.response_x12,
            exchanged.results, exchanged.unreadable_response, origin="request",
            follows_check_id=command.follows_check_id))
        await remember_insurance(session, command.practice_id, command.patient_id, command.payer, command.provider,
                                 command.subscriber, command.dependent)
    follow_ups: list[str] = []
    if follow_carve_outs and primary.next_action == NextAction.CHECK_OTHER_PAYER:
        for carve_out in primary.carve_outs:
            if not carve_out.identifier:
                continue
            follow = await check_coverage(db, gateway, parties, CheckCoverage(
                practice_id=command.practice_id, patient_id=command.patient_id,
                payer=PayerRef(carve_out.identifier, carve_out.name[:60] or carve_out.identifier),
                provider=command.provider, subscriber=command.subscriber, service_date=command.service_date,
                dependent=command.dependent, follows_check_id=check_id), follow_carve_outs=False)
            follow_ups.append(follow.check_id)
    return CheckOutcome(check_id, exchanged.results, follow_ups, exchanged.unreadable_response)


def _mental_health_limits(result: EligibilityResult) -> tuple[int | None, int | None]:
    benefit = result.snapshot.mental_health_benefit() if result.snapshot else None
    if benefit is None:
        return None, None
    limit = benefit.for_network(True).visit_limit
    return (limit.limit, limit.remaining) if limit else (None, None)


def _snapshot_row(subject: CheckSubject, check_id: str, result: EligibilityResult, now: datetime
                  ) -> dict[str, Any]:
    assert result.snapshot is not None
    limit, remaining = _mental_health_limits(result)
    # The payer has just answered: an eligibility denial noted before this check has been looked into.
    return {"practice_id": subject.practice_id, "patient_id": subject.patient_id, "payer_id": subject.payer_id,
            "check_id": check_id, "active": result.status == ResultStatus.ACTIVE, "checked_on": subject.service_date,
            "coverage_begin": result.snapshot.coverage_begin, "coverage_end": result.snapshot.coverage_end,
            "snapshot": result.to_dict()["snapshot"], "visit_limit": limit, "payer_visits_remaining": remaining,
            "last_eligibility_denial_on": None, "updated_at": now}


def _checked_event(subject: CheckSubject, check_id: str, result: EligibilityResult) -> EligibilityCheckedV1:
    benefit = result.snapshot.mental_health_benefit() if result.snapshot else None
    terms = benefit.for_network(True) if benefit else None
    deductible = terms.deductible_individual.remaining if terms and terms.deductible_individual else None
    carve = next((c.identifier for c in result.carve_outs if c.identifier), None)
    _, remaining = _mental_health_limits(result)
    return EligibilityCheckedV1(
        check_id=check_id, practice_id=subject.practice_id, patient_id=subject.patient_id,
        payer_id=subject.payer_id, as_of=subject.service_date, active=result.status == ResultStatus.ACTIVE,
        copay=terms.copay if terms else None, coinsurance_percent=terms.coinsurance_percent if terms else None,
        deductible_remaining=deductible, visits_remaining=remaining, carve_out_payer_id=carve)


async def coverage_on(session: AsyncSession, practice_id: str, patient_id: str, payer_id: str | None
                      ) -> list[dict[str, Any]]:
    query = select(snapshots).where(snapshots.c.practice_id == practice_id, snapshots.c.patient_id == patient_id)
    if payer_id:
        query = query.where(snapshots.c.payer_id == payer_id)
    return [dict(r._mapping) for r in (await session.execute(query)).all()]


async def record_completed_visit(session: AsyncSession, envelope: EventEnvelope, event: VisitCompletedV1, *,
                                 alert_at_remaining: int = 3) -> None:
    """Count the visit against the patient's yearly session cap; alert before the cap is reached."""
    if event.payer_id is None or event.billing_model != "insurance":
        return
    key = and_(session_visits.c.practice_id == event.practice_id, session_visits.c.visit_id == event.visit_id)
    existing = (await session.execute(select(session_visits).where(key))).first()
    if existing is None:
        await session.execute(insert(session_visits).values(
            practice_id=event.practice_id, visit_id=event.visit_id, patient_id=event.patient_id,
            payer_id=event.payer_id, service_date=event.date_of_service, voided=event.voided))
    else:
        await session.execute(update(session_visits).where(key).values(
            voided=event.voided, service_date=event.date_of_service))
    if event.replaces_visit_id:
        await session.execute(update(session_visits).where(
            session_visits.c.practice_id == event.practice_id,
            session_visits.c.visit_id == event.replaces_visit_id).values(voided=True))
    snapshot = (await session.execute(select(snapshots).where(
        snapshots.c.practice_id == event.practice_id, snapshots.c.patient_id == event.patient_id,
        snapshots.c.payer_id == event.payer_id))).first()
    if snapshot is None or snapshot.visit_limit is None:
        return
    tracker = SessionLimitTracker(limit=int(snapshot.visit_limit), alert_at_remaining=alert_at_remaining)
    visits = (await session.execute(select(session_visits).where(
        session_visits.c.practice_id == event.practice_id, session_visits.c.patient_id == event.patient_id,
        session_visits.c.payer_id == event.payer_id, session_visits.c.visit_id != event.visit_id))).all()
    if snapshot.payer_visits_remaining is not None:
        tracker.reconcile_with_payer(int(snapshot.payer_visits_remaining), snapshot.checked_on)
    for visit in visits:
        if not visit.voided:
            tracker.record_visit(visit.visit_id, visit.service_date)
    if event.voided:
        return
    for alert in tracker.record_visit(event.visit_id, event.date_of_service):
        already = (await session.execute(select(session_alerts.c.id).where(
            session_alerts.c.practice_id == event.practice_id, session_alerts.c.patient_id == event.patient_id,
            session_alerts.c.payer_id == event.payer_id,
            session_alerts.c.benefit_year_start == alert.benefit_year_start,
            session_alerts.c.kind == alert.kind.value))).first()
        if already is None:
            await session.execute(insert(session_alerts).values(
                practice_id=event.practice_id, patient_id=event.patient_id, payer_id=event.payer_id,
                kind=alert.kind.value, benefit_year_start=alert.benefit_year_start, limit=alert.limit,
                remaining=alert.remaining, visit_id=alert.visit_id, raised_at=utcnow()))
            await stage_event(session, platform, EligibilityCheckedV1(
                check_id=str(snapshot.check_id), practice_id=event.practice_id, patient_id=event.patient_id,
                payer_id=event.payer_id, as_of=event.date_of_service, active=bool(snapshot.active),
                visits_remaining=alert.remaining, session_limit_alert=True,
            ), source=SOURCE, subject=str(snapshot.check_id), practice_id=event.practice_id, causation=envelope)


async def open_session_alerts(session: AsyncSession, practice_id: str) -> list[dict[str, Any]]:
    rows = (await session.execute(select(session_alerts).where(session_alerts.c.practice_id == practice_id)
                                  .order_by(session_alerts.c.raised_at.desc()).limit(500))).all()
    return [dict(r._mapping) for r in rows]


async def checks_for(session: AsyncSession, practice_id: str, patient_id: str) -> list[dict[str, Any]]:
    rows = (await session.execute(select(
        coverage_checks.c.check_id, coverage_checks.c.payer_id, coverage_checks.c.service_date,
        coverage_checks.c.status, coverage_checks.c.next_action, coverage_checks.c.follows_check_id,
        coverage_checks.c.checked_at, coverage_checks.c.origin, coverage_checks.c.batch_run_id,
        coverage_checks.c.result).where(
        coverage_checks.c.practice_id == practice_id, coverage_checks.c.patient_id == patient_id)
        .order_by(coverage_checks.c.checked_at.desc()).limit(100))).all()
    return [dict(r._mapping) for r in rows]
