"""Use cases of authorizations: the unit ledger, the claims scrubber's questions, credentialing.

The ledger of one (patient, payer) group is rebuilt from stored rows for each change. The domain ledger is
a function of the set of events, so duplicates and reordering cannot change the outcome; what differs
from the stored allocation is persisted and announced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from typing import Any

from rcm_shared.contracts import AuthorizationChangedV1, EventEnvelope, VisitCompletedV1
from rcm_shared.db import sequences
from rcm_shared.db.database import Database
from rcm_shared.db.types import new_id, utcnow
from rcm_shared.messaging import stage_event
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties
from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authorizations.adapters.orm import (
    authorization_requests,
    authorizations,
    concurrent_reviews,
    consumptions,
    enrollments,
    ledger_visits,
    missing,
    platform,
    scheduled_visits,
    supervision_policies,
    supervisions,
)
from authorizations.adapters.utilization_review import UtilizationReview
from authorizations.domain.credentialing import (
    CredentialingDecision,
    CredentialingRegistry,
    Enrollment,
    Supervision,
    SupervisionPolicy,
)
from authorizations.domain.kpi import EpisodeVisit, episodes_from_visits, uninterrupted_coverage
from authorizations.domain.ledger import (
    AuthorizationLedger,
    PayerAuthorizationRules,
    VisitCompleted,
    VisitVoided,
)
from authorizations.domain.model import Authorization, AuthorizationStatus, VisitFacts
from authorizations.domain.renewals import (
    ConcurrentReview,
    ConcurrentReviewLog,
    RenewalRules,
    ReviewOutcome,
    ScheduledVisit,
    renewal_tasks,
)
from authorizations.domain.x12_278 import AuthorizationRequest, build_278

SOURCE = "authorizations"


def _rules_text(name: str) -> Any:
    return json.loads(resources.files("authorizations.domain").joinpath(f"rules/{name}").read_text())


@cache
def payer_rules() -> PayerAuthorizationRules:
    return PayerAuthorizationRules.from_dict(_rules_text("payer_authorization_rules.json"))


@cache
def renewal_rules() -> RenewalRules:
    return RenewalRules.from_dict(_rules_text("renewal.json"))


def _authorization(row: Any) -> Authorization:
    return Authorization(number=row.number, patient_id=row.patient_id, payer_id=row.payer_id,
                         cpt_codes=frozenset(row.cpt_codes), approved_units=row.approved_units,
                         start=row.start_date, end=row.end_date, status=AuthorizationStatus(row.status))


async def load_ledger(session: AsyncSession, practice_id: str, patient_id: str, payer_id: str) -> AuthorizationLedger:
    ledger = AuthorizationLedger(rules=payer_rules())
    for row in (await session.execute(select(authorizations).where(
            authorizations.c.practice_id == practice_id, authorizations.c.patient_id == patient_id,
            authorizations.c.payer_id == payer_id))).all():
        ledger.add_authorization(_authorization(row))
    for row in (await session.execute(select(ledger_visits).where(
            ledger_visits.c.practice_id == practice_id, ledger_visits.c.patient_id == patient_id,
            ledger_visits.c.payer_id == payer_id))).all():
        ledger.apply(VisitCompleted(row.visit_id, row.revision,
                                    VisitFacts(row.patient_id, row.payer_id, row.service_date, row.cpt_code)))
        if row.voided:
            ledger.apply(VisitVoided(row.visit_id))
    return ledger


async def _reconcile(session: AsyncSession, practice_id: str, patient_id: str, payer_id: str,
                     causation: EventEnvelope | None) -> None:
    """Persist the ledger's allocation and findings for a group; announce what changed."""
    ledger = await load_ledger(session, practice_id, patient_id, payer_id)
    visit_ids = [r.visit_id for r in (await session.execute(select(ledger_visits.c.visit_id).where(
        ledger_visits.c.practice_id == practice_id, ledger_visits.c.patient_id == patient_id,
        ledger_visits.c.payer_id == payer_id))).all()]
    stored = {r.visit_id: r.authorization_number for r in (await session.execute(select(consumptions).where(
        consumptions.c.practice_id == practice_id, consumptions.c.visit_id.in_(visit_ids)))).all()}
    wanted = {v: n for v, n in ledger.allocations().items() if v in visit_ids}
    numbers = {r.number: r.authorization_id for r in (await session.execute(select(
        authorizations.c.number, authorizations.c.authorization_id).where(
        authorizations.c.practice_id == practice_id))).all()}
    for visit_id, number in stored.items():
        if wanted.get(visit_id) != number:
            await session.execute(delete(consumptions).where(consumptions.c.practice_id == practice_id,
                                                             consumptions.c.visit_id == visit_id))
            await _announce(session, practice_id, patient_id, payer_id, ledger, number, numbers, visit_id,
                            "unit_returned", causation)
    for visit_id, number in wanted.items():
        if stored.get(visit_id) != number:
            await session.execute(insert(consumptions).values(practice_id=practice_id, visit_id=visit_id,
                                                              authorization_number=number, consumed_at=utcnow()))
            await _announce(session, practice_id, patient_id, payer_id, ledger, number, numbers, visit_id,
                            "unit_consumed", causation)
    await session.execute(delete(missing).where(missing.c.practice_id == practice_id,
                                                missing.c.visit_id.in_(visit_ids)))
    for finding in ledger.findings():
        await session.execute(insert(missing).values(
            practice_id=practice_id, visit_id=finding.visit_id, patient_id=finding.patient_id,
            payer_id=finding.payer_id, service_date=finding.service_date, cpt_code=finding.cpt_code,
            reason=finding.reason.value, found_at=utcnow()))


async def _announce(session: AsyncSession, practice_id: str, patient_id: str, payer_id: str,
                    ledger: AuthorizationLedger, number: str, ids: dict[str, str], visit_id: str, change: str,
                    causation: EventEnvelope | None) -> None:
    auth = ledger.authorization(number)
    authorization_id = ids.get(number, number)
    await stage_event(session, platform, AuthorizationChangedV1(
        authorization_id=authorization_id, practice_id=practice_id, patient_id=patient_id, payer_id=payer_id,
        visit_id=visit_id, change=change,
        status=ledger.status_of(number, date.today()).value, units_remaining=ledger.balance(number).remaining,
        end_date=auth.end), source=SOURCE, subject=authorization_id, practice_id=practice_id, causation=causation)


def _primary_code(event: VisitCompletedV1) -> str | None:
    return event.services[0].procedure_code if event.services else None


async def consume_for_visit(session: AsyncSession, envelope: EventEnvelope, event: VisitCompletedV1) -> None:
    """A completed visit consumes one unit (once per visit id); a voided or replaced one gives it back."""
    code = _primary_code(event)
    if event.billing_model != "insurance" or event.payer_id is None or code is None:
        return
    key = and_(ledger_visits.c.practice_id == event.practice_id, ledger_visits.c.visit_id == event.visit_id)
    row = (await session.execute(select(ledger_visits).where(key))).first()
    values = dict(patient_id=event.patient_id, payer_id=event.payer_id, service_date=event.date_of_service,
                  cpt_code=code, revision=1, voided=event.voided)
    if row is None:
        await session.execute(insert(ledger_visits).values(practice_id=event.practice_id, visit_id=event.visit_id,
                                                           **values))
    elif not row.voided:  # a void is for good (tombstone)
        await session.execute(update(ledger_visits).where(key).values(**values))
    if event.replaces_visit_id:
        replaced = and_(ledger_visits.c.practice_id == event.practice_id,
                        ledger_visits.c.visit_id == event.replaces_visit_id)
        if (await session.execute(select(ledger_visits.c.visit_id).where(replaced))).first() is None:
            await session.execute(insert(ledger_visits).values(practice_id=event.practice_id,
                                                               visit_id=event.replaces_visit_id,
                                                               **{**values, "voided": True}))
        else:
            await session.execute(update(ledger_visits).where(replaced).values(voided=True))
    await _reconcile(session, event.practice_id, event.patient_id, event.payer_id, envelope)


@dataclass(frozen=True)
class RecordAuthorization:
    practice_id: str
    number: str
    patient_id: str
    payer_id: str
    cpt_codes: list[str]
    approved_units: int
    start: date
    end: date
    status: str


async def record_authorization(session: AsyncSession, command: RecordAuthorization) -> dict[str, Any]:
    auth = Authorization(number=command.number, patient_id=command.patient_id, payer_id=command.payer_id,
                         cpt_codes=frozenset(command.cpt_codes), approved_units=command.approved_units,
                         start=command.start, end=command.end, status=AuthorizationStatus(command.status))
    key = and_(authorizations.c.practice_id == command.practice_id, authorizations.c.number == auth.number)
    existing = (await session.execute(select(authorizations.c.authorization_id).where(key))).first()
    values = dict(patient_id=auth.patient_id, payer_id=auth.payer_id, cpt_codes=sorted(auth.cpt_codes),
                  approved_units=auth.approved_units, start_date=auth.start, end_date=auth.end,
                  status=auth.status.value)
    if existing is None:
        authorization_id = new_id()
        await session.execute(insert(authorizations).values(practice_id=command.practice_id, number=auth.number,
                                                            authorization_id=authorization_id,
                                                            created_at=utcnow(), **values))
    else:
        authorization_id = existing.authorization_id
        await session.execute(update(authorizations).where(key).values(**values))
    # A new or changed authorization may resolve missing-authorization findings: re-run the group.
    await _reconcile(session, command.practice_id, auth.patient_id, auth.payer_id, None)
    return await authorization_view(session, command.practice_id, auth.number) or {"authorization_id": authorization_id}


async def authorization_view(session: AsyncSession, practice_id: str, number: str) -> dict[str, Any] | None:
    row = (await session.execute(select(authorizations).where(authorizations.c.practice_id == practice_id,
                                                              authorizations.c.number == number))).first()
    if row is None:
        return None
    ledger = await load_ledger(session, practice_id, row.patient_id, row.payer_id)
    balance = ledger.balance(number)
    return {"authorization_id": row.authorization_id, "number": number, "patient_id": row.patient_id,
            "payer_id": row.payer_id, "cpt_codes": row.cpt_codes, "approved_units": balance.approved,
            "used_units": balance.used, "remaining_units": balance.remaining, "start": row.start_date,
            "end": row.end_date, "status": ledger.status_of(number, date.today()).value}


async def list_for_patient(session: AsyncSession, practice_id: str, patient_id: str) -> list[dict[str, Any]]:
    rows = (await session.execute(select(authorizations.c.number).where(
        authorizations.c.practice_id == practice_id, authorizations.c.patient_id == patient_id))).all()
    return [v for r in rows if (v := await authorization_view(session, practice_id, r.number)) is not None]


async def authorization_for_visit(session: AsyncSession, practice_id: str, visit_id: str, patient_id: str,
                                  payer_id: str, service_date: date, cpt_code: str) -> dict[str, Any]:
    """The claims scrubber's question: which authorization covers this visit, or why none does.

    Answered by simulating the visit on the group's ledger, so it does not depend on whether this service
    has already consumed the visit-completed event.
    """
    ledger = await load_ledger(session, practice_id, patient_id, payer_id)
    ledger.apply(VisitCompleted(visit_id, 1, VisitFacts(patient_id, payer_id, service_date, cpt_code)))
    number = ledger.allocation_of(visit_id)
    finding = next((f for f in ledger.findings() if f.visit_id == visit_id), None)
    return {"required": payer_rules().requires(payer_id, cpt_code, service_date), "authorization_number": number,
            "missing_reason": finding.reason.value if finding else None}


async def registry(session: AsyncSession, practice_id: str) -> CredentialingRegistry:
    reg = CredentialingRegistry()
    for r in (await session.execute(select(enrollments).where(enrollments.c.practice_id == practice_id))).all():
        reg.enroll(Enrollment(r.npi, r.payer_id, r.plan, r.effective_from, r.effective_to))
    for r in (await session.execute(select(supervisions).where(supervisions.c.practice_id == practice_id))).all():
        reg.supervise(Supervision(r.supervisee_npi, r.supervisor_npi, r.effective_from, r.effective_to))
    for r in (await session.execute(select(supervision_policies).where(
            supervision_policies.c.practice_id == practice_id))).all():
        reg.set_policy(SupervisionPolicy(r.payer_id, r.allows_supervisor_billing, r.effective_from,
                                         r.effective_to, r.plan))
    return reg


async def check_credentialing(session: AsyncSession, practice_id: str, npi: str, payer_id: str, plan: str,
                              dos: date) -> CredentialingDecision:
    return (await registry(session, practice_id)).is_credentialed(npi, payer_id, plan, dos)


async def add_enrollment(session: AsyncSession, practice_id: str, enrollment: Enrollment) -> None:
    CredentialingRegistry().enroll(enrollment)  # the domain refuses an enrollment that ends before it starts
    await session.execute(insert(enrollments).values(
        practice_id=practice_id, npi=enrollment.npi, payer_id=enrollment.payer_id, plan=enrollment.plan,
        effective_from=enrollment.effective_from, effective_to=enrollment.effective_to))


async def add_supervision(session: AsyncSession, practice_id: str, supervision: Supervision,
                          policy: SupervisionPolicy | None) -> None:
    CredentialingRegistry().supervise(supervision)
    await session.execute(insert(supervisions).values(
        practice_id=practice_id, supervisee_npi=supervision.supervisee_npi, supervisor_npi=supervision.supervisor_npi,
        effective_from=supervision.effective_from, effective_to=supervision.effective_to))
    if policy is not None:
        await session.execute(insert(supervision_policies).values(
            practice_id=practice_id, payer_id=policy.payer_id, plan=policy.plan,
            allows_supervisor_billing=policy.allows_supervisor_billing, effective_from=policy.effective_from,
            effective_to=policy.effective_to))


async def open_work(session: AsyncSession, practice_id: str, today: date) -> dict[str, Any]:
    """Missing authorizations and renewals due, per group, for the authorization work queue."""
    gaps = [dict(r._mapping) for r in (await session.execute(select(missing).where(
        missing.c.practice_id == practice_id).order_by(missing.c.service_date))).all()]
    groups = (await session.execute(select(authorizations.c.patient_id, authorizations.c.payer_id).where(
        authorizations.c.practice_id == practice_id).distinct())).all()
    reviews = ConcurrentReviewLog()
    for r in (await session.execute(select(concurrent_reviews).where(
            concurrent_reviews.c.practice_id == practice_id))).all():
        reviews.record(ConcurrentReview(r.reference, r.authorization_number, r.submitted_on,
                                        r.requested_units or 0, r.requested_end or r.submitted_on,
                                        ReviewOutcome(r.outcome)))
    tasks = []
    for group in groups:
        ledger = await load_ledger(session, practice_id, group.patient_id, group.payer_id)
        booked = [ScheduledVisit(r.visit_id, r.patient_id, r.payer_id, r.service_date, r.cpt_code)
                  for r in (await session.execute(select(scheduled_visits).where(
                      scheduled_visits.c.practice_id == practice_id, scheduled_visits.c.patient_id == group.patient_id,
                      scheduled_visits.c.payer_id == group.payer_id, scheduled_visits.c.cancelled.is_(False),
                      scheduled_visits.c.service_date >= today))).all()]
        for task in renewal_tasks(ledger, booked, today, renewal_rules(), reviews):
            tasks.append({"authorization_number": task.authorization_number, "patient_id": task.patient_id,
                          "payer_id": task.payer_id, "due_by": task.due_by,
                          "triggers": [str(getattr(t, "value", t)) for t in task.triggers]})
    return {"missing_authorizations": gaps, "renewals_due": tasks}



@dataclass(frozen=True)
class RequestAuthorization:
    practice_id: str
    patient_id: str
    request: AuthorizationRequest


async def request_authorization(db: Database, review: UtilizationReview, command: RequestAuthorization
                                ) -> dict[str, Any]:
    """Build the 278, send it (outside any transaction), record the decision and the authorization."""
    async with db.transaction() as session:
        icn = await _next_control_number(session)
    request_x12 = build_278(command.request, ControlNumbers(icn, icn, 1, datetime.now(UTC)),
                            InterchangeParties(sender_id="RCMPLATFORM", receiver_id="UMO"))
    decision = await review.submit(request_x12)
    async with db.transaction() as session:
        await session.execute(insert(authorization_requests).values(
            request_id=new_id(), practice_id=command.practice_id, patient_id=command.patient_id,
            payer_id=command.request.payer_id, trace_number=command.request.trace_number, request_x12=request_x12,
            decision=decision.status.value, authorization_number=decision.authorization_number,
            reason=decision.reason or None, requested_at=utcnow()))
        auth = decision.to_authorization(command.patient_id, command.request.payer_id)
        view = await record_authorization(session, RecordAuthorization(
            command.practice_id, auth.number, auth.patient_id, auth.payer_id, sorted(auth.cpt_codes),
            auth.approved_units, auth.start, auth.end, auth.status.value))
    return {"decision": decision.status.value, "reason": decision.reason, "authorization": view}


async def _next_control_number(session: AsyncSession) -> int:
    from authorizations.adapters.orm import control_numbers

    return await sequences.next_control_number(session, control_numbers, "278")


async def record_concurrent_review(session: AsyncSession, practice_id: str, reference: str, number: str,
                                   submitted_on: date, requested_units: int, requested_end: date) -> bool:
    """A concurrent-review submission for an authorization (the same reference twice is recorded once)."""
    exists = (await session.execute(select(concurrent_reviews.c.reference).where(
        concurrent_reviews.c.practice_id == practice_id, concurrent_reviews.c.reference == reference))).first()
    if exists:
        return False
    await session.execute(insert(concurrent_reviews).values(
        practice_id=practice_id, reference=reference, authorization_number=number, submitted_on=submitted_on,
        requested_units=requested_units, requested_end=requested_end, outcome=ReviewOutcome.PENDING.value,
        recorded_at=utcnow()))
    return True


async def coverage_kpi(session: AsyncSession, practice_id: str, max_gap_days: int = 45) -> dict[str, Any]:
    """Share of authorized episodes of care with uninterrupted coverage (target 97 %)."""
    visits = [EpisodeVisit(r.visit_id, r.patient_id, r.payer_id, r.service_date) for r in (await session.execute(
        select(ledger_visits).where(ledger_visits.c.practice_id == practice_id,
                                    ledger_visits.c.voided.is_(False)))).all()]
    auths = [_authorization(r) for r in (await session.execute(select(authorizations).where(
        authorizations.c.practice_id == practice_id))).all()]
    gaps = {r.visit_id for r in (await session.execute(select(missing.c.visit_id).where(
        missing.c.practice_id == practice_id))).all()}
    kpi = uninterrupted_coverage(episodes_from_visits(visits, max_gap_days), auths, gaps)
    return {"authorized_episodes": kpi.authorized_episodes, "uninterrupted_episodes": kpi.uninterrupted_episodes,
            "rate_percent": str(kpi.rate) if kpi.rate is not None else None, "target_percent": "97.00",
            "interrupted_episode_count": len(kpi.interrupted_episode_ids)}



@dataclass(frozen=True)
class BookedVisit:
    visit_id: str
    patient_id: str
    payer_id: str
    service_date: date
    cpt_code: str
    cancelled: bool = False


async def record_schedule(session: AsyncSession, practice_id: str, booked: list[BookedVisit]) -> int:
    """Upsert booked (or cancelled) visits from the EHR's schedule; the renewal forecast reads them."""
    for visit in booked:
        key = and_(scheduled_visits.c.practice_id == practice_id, scheduled_visits.c.visit_id == visit.visit_id)
        values = dict(patient_id=visit.patient_id, payer_id=visit.payer_id, service_date=visit.service_date,
                      cpt_code=visit.cpt_code, cancelled=visit.cancelled)
        if (await session.execute(select(scheduled_visits.c.visit_id).where(key))).first():
            await session.execute(update(scheduled_visits).where(key).values(**values))
        else:
            await session.execute(insert(scheduled_visits).values(practice_id=practice_id, visit_id=visit.visit_id,
                                                                  **values))
    return len(booked)
