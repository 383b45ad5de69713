"""Use cases of authorizations: the unit ledger, the claims scrubber's questions, credentialing, and prior-
authorization requests (sent over the payer's channel, answered, recorded, followed up).

The ledger of one (patient, payer) group is rebuilt from stored rows for each change. The domain ledger is
a function of the set of events, so duplicates and reordering cannot change the outcome; what differs
from the stored allocation is persisted and announced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

import yaml
from rcm_shared.clock import Clock
from rcm_shared.contracts import AuthorizationChangedV1, EventEnvelope, VisitCompletedV1, VisitScheduledV1
from rcm_shared.db import sequences
from rcm_shared.db.database import Database
from rcm_shared.db.types import new_id, utcnow
from rcm_shared.messaging import stage_event
from rcm_shared.x12.envelope import ControlNumbers
from sqlalchemy import Table, and_, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import Executable

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
from authorizations.domain.cancellation import CancellationRules
from authorizations.domain.credentialing import (
    CredentialingDecision,
    CredentialingRegistry,
    Enrollment,
    Supervision,
    SupervisionPolicy,
)
from authorizations.domain.credentialing import supervision_policies as read_supervision_policies
from authorizations.domain.kpi import EpisodeVisit, episodes_from_visits, uninterrupted_coverage
from authorizations.domain.ledger import (
    AuthorizationLedger,
    PayerAuthorizationRules,
    VisitCompleted,
    VisitVoided,
)
from authorizations.domain.model import Authorization, AuthorizationStatus, VisitFacts
from authorizations.domain.pas import PasFormatError, pas_trace_number, read_pas_request, read_pas_response
from authorizations.domain.renewals import (
    ConcurrentReview,
    ConcurrentReviewLog,
    RenewalRules,
    ReviewOutcome,
    ScheduledVisit,
    renewal_tasks,
)
from authorizations.domain.review import RequestedCare, ReviewResponse, ReviewStatus, authorization_from
from authorizations.domain.review_routes import ReviewRoutes
from authorizations.domain.x12_278 import AuthorizationRequest, read_278
from authorizations.domain.x12_278_response import read_278_response

SOURCE = "authorizations"


def _rules_text(name: str) -> Any:
    return json.loads(resources.files("authorizations.domain").joinpath(f"rules/{name}").read_text())


@cache
def payer_rules() -> PayerAuthorizationRules:
    return PayerAuthorizationRules.from_dict(_rules_text("payer_authorization_rules.json"))


@cache
def renewal_rules() -> RenewalRules:
    return RenewalRules.from_dict(_rules_text("renewal.json"))


@cache
def cancellation_rules() -> CancellationRules:
    return CancellationRules.from_dict(_rules_text("cancellation.json"))


@cache
def payer_supervision_policies() -> tuple[SupervisionPolicy, ...]:
    """The payers' supervisor-billing defaults (rules/supervision_policies.yaml); a practice's own come first."""
    text = resources.files("authorizations.domain").joinpath("rules/supervision_policies.yaml").read_text()
    return tuple(read_supervision_policies(yaml.safe_load(text)))


def _authorization(row: Any) -> Authorization:
    status = AuthorizationStatus(row.status)
    covered_through = None
    if status is AuthorizationStatus.CANCELLED and row.cancelled_on is not None:
        covered_through = cancellation_rules().covered_through(row.payer_id, row.cancelled_on)
    return Authorization(number=row.number, patient_id=row.patient_id, payer_id=row.payer_id,
                         cpt_codes=frozenset(row.cpt_codes), approved_units=row.approved_units,
                         start=row.start_date, end=row.end_date, status=status, covered_through=covered_through)


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
                     causation: EventEnvelope | None, *, today: date) -> None:
    """Persist the ledger's allocation and findings for a group; announce what changed (statuses as of the
    practice's ``today``)."""
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
                            "unit_returned", causation, today)
    for visit_id, number in wanted.items():
        if stored.get(visit_id) != number:
            await session.execute(insert(consumptions).values(practice_id=practice_id, visit_id=visit_id,
                                                              authorization_number=number, consumed_at=utcnow()))
            await _announce(session, practice_id, patient_id, payer_id, ledger, number, numbers, visit_id,
                            "unit_consumed", causation, today)
    await session.execute(delete(missing).where(missing.c.practice_id == practice_id,
                                                missing.c.visit_id.in_(visit_ids)))
    for finding in ledger.findings():
        await session.execute(insert(missing).values(
            practice_id=practice_id, visit_id=finding.visit_id, patient_id=finding.patient_id,
            payer_id=finding.payer_id, service_date=finding.service_date, cpt_code=finding.cpt_code,
            reason=finding.reason.value, found_at=utcnow()))


async def _announce(session: AsyncSession, practice_id: str, patient_id: str, payer_id: str,
                    ledger: AuthorizationLedger, number: str, ids: dict[str, str], visit_id: str, change: str,
                    causation: EventEnvelope | None, today: date) -> None:
    auth = ledger.authorization(number)
    authorization_id = ids.get(number, number)
    await stage_event(session, platform, AuthorizationChangedV1(
        authorization_id=authorization_id, practice_id=practice_id, patient_id=patient_id, payer_id=payer_id,
        visit_id=visit_id, change=change,
        status=ledger.status_of(number, today).value, units_remaining=ledger.balance(number).remaining,
        end_date=auth.end), source=SOURCE, subject=authorization_id, practice_id=practice_id, causation=causation)


def _primary_code(event: VisitCompletedV1) -> str | None:
    return event.services[0].procedure_code if event.services else None


async def consume_for_visit(session: AsyncSession, envelope: EventEnvelope, event: VisitCompletedV1, *,
                            clock: Clock) -> None:
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
    await _reconcile(session, event.practice_id, event.patient_id, event.payer_id, envelope, today=clock.today())


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


async def record_authorization(session: AsyncSession, command: RecordAuthorization, *, today: date
                               ) -> dict[str, Any]:
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
    await _reconcile(session, command.practice_id, auth.patient_id, auth.payer_id, None, today=today)
    return (await authorization_view(session, command.practice_id, auth.number, today=today)
            or {"authorization_id": authorization_id})


async def authorization_view(session: AsyncSession, practice_id: str, number: str, *, today: date
                             ) -> dict[str, Any] | None:
    row = (await session.execute(select(authorizations).where(authorizations.c.practice_id == practice_id,
                                                              authorizations.c.number == number))).first()
    if row is None:
        return None
    ledger = await load_ledger(session, practice_id, row.patient_id, row.payer_id)
    balance = ledger.balance(number)
    # The payer's review behind it, when it came from a request: the decision and why (a denial's reason).
    review = (await session.execute(select(
        authorization_requests.c.request_id, authorization_requests.c.decision, authorization_requests.c.reason,
        authorization_requests.c.channel).where(
        authorization_requests.c.practice_id == practice_id,
        authorization_requests.c.authorization_number == number).order_by(
        authorization_requests.c.requested_at.desc()).limit(1))).first()
    return {"authorization_id": row.authorization_id, "number": number, "patient_id": row.patient_id,
            "payer_id": row.payer_id, "cpt_codes": row.cpt_codes, "approved_units": balance.approved,
            "used_units": balance.used, "remaining_units": balance.remaining, "start": row.start_date,
            "end": row.end_date, "status": ledger.status_of(number, today).value,
            "cancelled_on": row.cancelled_on, "review": dict(review._mapping) if review is not None else None}


async def list_for_patient(session: AsyncSession, practice_id: str, patient_id: str, *, today: date
                           ) -> list[dict[str, Any]]:
    rows = (await session.execute(select(authorizations.c.number).where(
        authorizations.c.practice_id == practice_id, authorizations.c.patient_id == patient_id))).all()
    return [v for r in rows
            if (v := await authorization_view(session, practice_id, r.number, today=today)) is not None]


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
    reg = CredentialingRegistry(payer_defaults=list(payer_supervision_policies()))
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
                              dos: date, credential: str = "") -> CredentialingDecision:
    return (await registry(session, practice_id)).is_credentialed(npi, payer_id, plan, dos, credential)


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
    return {"missing_authorizations": gaps, "renewals_due": tasks, **await review_work(session, practice_id, today)}



@dataclass(frozen=True)
class RequestAuthorization:
    practice_id: str
    patient_id: str
    request: AuthorizationRequest


class ReviewConflict(Exception):
    """A payer answer for a review that is already decided (only a pended review takes a later answer)."""


class UnknownTrace(LookupError):
    """A payer answer naming a trace number this practice never sent."""


CERTIFIED_DECISIONS = frozenset({ReviewStatus.APPROVED.value, ReviewStatus.MODIFIED.value})


async def _cancel_certification(session: AsyncSession, practice_id: str, patient_id: str, payer_id: str,
                                numbers: tuple[str, ...], today: date) -> tuple[str | None, dict[str, Any] | None]:
    """The payer cancelled a certification (HCR01 / reviewActionCode C): the authorization it names (HCR02, the
    REF*BB it revises, or the one the request's earlier answer certified) covers nothing after ``today``
    (rules/cancellation.json say whether ``today`` itself still is); units of later visits go back and those
    visits become missing-authorization findings. Returns the number and its view; (None, None) when it names no
    certified authorization of this patient (already cancelled, denied, unknown): nothing changes, twice is once.
    """
    wanted = [n for n in numbers if n]
    if not wanted:
        return None, None
    rows = {r.number: r for r in (await session.execute(select(authorizations).where(
        authorizations.c.practice_id == practice_id, authorizations.c.patient_id == patient_id,
        authorizations.c.payer_id == payer_id, authorizations.c.number.in_(wanted)))).all()}
    row = next((rows[n] for n in wanted if n in rows), None)
    if row is None:
        return None, None
    if not _authorization(row).usable:  # requested, denied, or already cancelled: nothing to void
        return row.number, None
    await session.execute(update(authorizations).where(
        authorizations.c.practice_id == practice_id, authorizations.c.number == row.number).values(
        status=AuthorizationStatus.CANCELLED.value, cancelled_on=today))
    await _reconcile(session, practice_id, patient_id, payer_id, None, today=today)
    view = await authorization_view(session, practice_id, row.number, today=today)
    assert view is not None
    await stage_event(session, platform, AuthorizationChangedV1(
        authorization_id=row.authorization_id, practice_id=practice_id, patient_id=patient_id, payer_id=payer_id,
        change="status_changed", status=AuthorizationStatus.CANCELLED.value, units_remaining=view["remaining_units"],
        end_date=row.end_date), source=SOURCE, subject=row.authorization_id, practice_id=practice_id)
    return row.number, view


async def request_authorization(db: Database, review: UtilizationReview, routes: ReviewRoutes,
                                command: RequestAuthorization, *, clock: Clock) -> dict[str, Any]:
    """Send the request over the payer's channel (outside any transaction), then record what came back.

    Approved / modified / denied: the authorization is recorded and ``authorization-changed`` announced.
    Pended: a work item with the day to follow up. Rejected (AAA / PAS errors) or unreadable: a work item saying
    what to fix. ``ReviewUnavailable`` (nothing decided) and ``X12ValueError`` (unsendable) propagate.
    """
    async with db.transaction() as session:
        icn = await _next_control_number(session)
    exchange = await review.submit(command.request, ControlNumbers(icn, icn, 1, clock.now()))
    now = clock.now()  # requested_at: follow-ups count from the practice's date of it
    async with db.transaction() as session:
        request_id = new_id()
        await session.execute(insert(authorization_requests).values(
            request_id=request_id, practice_id=command.practice_id, patient_id=command.patient_id,
            payer_id=command.request.payer_id, trace_number=command.request.trace_number, channel=exchange.channel,
            request_body=exchange.request_body, response_body=storable(exchange.response_body), decision="sent",
            requested_at=now))
        outcome = await _apply_review(session, routes, request_id, command.practice_id, command.patient_id,
                                      command.request, exchange.response, exchange.unreadable,
                                      clock.date_at(now), today=clock.date_at(now))
    return {**outcome, "channel": exchange.channel}


def storable(body: str) -> str:
    """A payer's answer as it can be kept: PostgreSQL text cannot hold NUL, and losing the whole record (the
    request was sent, the payer may have decided) over one character would be worse than replacing it."""
    return body.replace("\x00", "\ufffd")


def _requested_care(request: AuthorizationRequest) -> RequestedCare:
    return RequestedCare(frozenset(s.cpt_code for s in request.services), request.total_units, request.start,
                         request.end)


async def _apply_review(session: AsyncSession, routes: ReviewRoutes, request_id: str, practice_id: str,
                        patient_id: str, request: AuthorizationRequest, response: ReviewResponse | None,
                        unreadable: str, sent_on: date, *, today: date,
                        reviewed_number: str | None = None) -> dict[str, Any]:
    """``sent_on``: the practice's date the request went out (follow-ups count from it); ``today``: the
    practice's date the answer is recorded (a cancellation takes effect on it); ``reviewed_number``: the
    authorization this request's earlier answer certified, if any."""
    payer_id = request.payer_id
    if response is not None and response.trace_number != request.trace_number:
        response, unreadable = None, "the answer names another request's trace number"
    if response is None:
        await session.execute(update(authorization_requests).where(
            authorization_requests.c.request_id == request_id).values(
            decision="unreadable", reason=unreadable[:200], decided_at=utcnow()))
        return {"request_id": request_id, "trace_number": request.trace_number, "decision": "unreadable",
                "reason": unreadable[:200], "authorization": None, "rejections": [], "follow_up_on": None}
    status = response.status
    rejections = [r.to_dict() for r in response.all_rejections]
    follow_up = routes.follow_up_on(payer_id, sent_on) if status is ReviewStatus.PENDED else None
    authorization = authorization_from(response, _requested_care(request), patient_id, payer_id)
    reason = routes.reason_text(payer_id, response.reason_code)
    view = None
    cancelled_number = None
    if status is ReviewStatus.CANCELLED:
        cancelled_number, view = await _cancel_certification(session, practice_id, patient_id, payer_id, (
            response.certification_number, response.previous_authorization_number,
            request.previous_authorization_number, reviewed_number or ""), today)
    await session.execute(update(authorization_requests).where(
        authorization_requests.c.request_id == request_id).values(
        decision=status.value, action_code=response.action or None,
        authorization_number=authorization.number if authorization else (
            cancelled_number or response.certification_number or response.administrative_reference or None),
        reason=reason[:200] or None, rejections=rejections or None, follow_up_on=follow_up,
        decided_at=None if status is ReviewStatus.PENDED else utcnow()))
    if authorization is not None:
        view = await record_authorization(session, RecordAuthorization(
            practice_id, authorization.number, patient_id, payer_id, sorted(authorization.cpt_codes),
            authorization.approved_units, authorization.start, authorization.end, authorization.status.value),
            today=today)
        await stage_event(session, platform, AuthorizationChangedV1(
            authorization_id=view["authorization_id"], practice_id=practice_id, patient_id=patient_id,
            payer_id=payer_id, change="status_changed", status=view["status"],
            units_remaining=view["remaining_units"], end_date=authorization.end),
            source=SOURCE, subject=view["authorization_id"], practice_id=practice_id)
    return {"request_id": request_id, "trace_number": request.trace_number, "decision": status.value,
            "action_code": response.action or None, "reason_code": response.reason_code or None,
            "reason": reason or None, "certification_number": response.certification_number or None,
            "authorization": view, "rejections": rejections, "follow_up_on": follow_up}


def _stored_request(channel: str | None, body: str) -> AuthorizationRequest:
    if channel == "pas-fhir":
        return read_pas_request(json.loads(body))[0]
    return read_278(body)


async def receive_review_response(session: AsyncSession, routes: ReviewRoutes, practice_id: str, body: str,
                                  media: str, *, clock: Clock) -> dict[str, Any]:
    """A payer's later answer to a pended review (an unsolicited 278 response, or a PAS response bundle),
    matched to the request by its trace number and applied like a first answer.

    Raises ``X12SyntaxError`` / ``PasFormatError`` (unreadable), ``UnknownTrace`` (no such request for this
    practice) and ``ReviewConflict`` (the review is already decided).
    """
    data: Any = None
    if media == "fhir":
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser goes
            raise PasFormatError("the body is not JSON") from None
        trace = pas_trace_number(data)
    else:
        x12_answer = read_278_response(body)
        trace = x12_answer.trace_number
    # Locked: two deliveries of the same answer (a mailbox and a person) must not both decide the review.
    row = (await session.execute(select(authorization_requests).where(
        authorization_requests.c.practice_id == practice_id,
        authorization_requests.c.trace_number == trace).with_for_update())).first()
    if row is None:
        raise UnknownTrace("no authorization request with this trace number")
    request = _stored_request(row.channel, row.request_body)
    response = read_pas_response(data, request) if media == "fhir" else x12_answer
    # Only a pended review takes a later decision; a certified one may still be cancelled by the payer.
    cancels_certification = response.status is ReviewStatus.CANCELLED and row.decision in CERTIFIED_DECISIONS
    if row.decision not in ("pended", "unreadable") and not cancels_certification:
        raise ReviewConflict(f"the review is already {row.decision}")
    await session.execute(update(authorization_requests).where(
        authorization_requests.c.request_id == row.request_id).values(response_body=storable(body)))
    outcome = await _apply_review(session, routes, row.request_id, practice_id, row.patient_id, request, response,
                                  "", clock.date_at(row.requested_at), today=clock.today(),
                                  reviewed_number=row.authorization_number)
    return {**outcome, "channel": row.channel}


async def review_work(session: AsyncSession, practice_id: str, today: date) -> dict[str, Any]:
    """Pended reviews to follow up and rejected requests to correct (until a later request for the same
    patient and payer replaces them)."""
    rows = (await session.execute(select(authorization_requests).where(
        authorization_requests.c.practice_id == practice_id,
        authorization_requests.c.decision.in_(("pended", "rejected", "unreadable"))).order_by(
        authorization_requests.c.requested_at))).all()
    latest: dict[tuple[str, str], datetime] = {}
    if any(r.decision != "pended" for r in rows):
        for r in (await session.execute(select(
                authorization_requests.c.patient_id, authorization_requests.c.payer_id,
                authorization_requests.c.requested_at).where(
                authorization_requests.c.practice_id == practice_id))).all():
            key = (r.patient_id, r.payer_id)
            latest[key] = max(latest.get(key, r.requested_at), r.requested_at)
    pended, rejected = [], []
    for r in rows:
        item = {"request_id": r.request_id, "trace_number": r.trace_number, "patient_id": r.patient_id,
                "payer_id": r.payer_id, "channel": r.channel, "requested_at": r.requested_at, "reason": r.reason}
        if r.decision == "pended":
            pended.append({**item, "follow_up_on": r.follow_up_on,
                           "overdue": r.follow_up_on is not None and r.follow_up_on < today})
        elif latest.get((r.patient_id, r.payer_id), r.requested_at) <= r.requested_at:
            rejected.append({**item, "status": r.decision, "rejections": r.rejections or []})
    return {"pended_reviews": pended, "rejected_requests": rejected}


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


def _insert_or_update(session: AsyncSession, table: Table, key: tuple[str, ...], row: dict[str, Any]
                      ) -> Executable:
    """``INSERT .. ON CONFLICT (key) DO UPDATE``: two writers of the same new row both succeed."""
    index, changed = [table.c[k] for k in key], [name for name in row if name not in key]
    if session.get_bind().dialect.name == "postgresql":
        pg = postgresql.insert(table).values(**row)
        return pg.on_conflict_do_update(index_elements=index, set_={name: pg.excluded[name] for name in changed})
    lite = sqlite.insert(table).values(**row)
    return lite.on_conflict_do_update(index_elements=index, set_={name: lite.excluded[name] for name in changed})


async def record_schedule(session: AsyncSession, practice_id: str, booked: list[BookedVisit]) -> int:
    """Upsert booked (or cancelled) visits from the EHR's schedule; the renewal forecast reads them.

    Each new or changed visit is announced as ``visit-scheduled`` (eligibility's nightly batch works from it);
    re-posting a whole week announces only what changed."""
    columns = (scheduled_visits.c.visit_id, scheduled_visits.c.patient_id, scheduled_visits.c.payer_id,
               scheduled_visits.c.service_date, scheduled_visits.c.cpt_code, scheduled_visits.c.cancelled)
    known = {row.visit_id: tuple(row)[1:] for row in (await session.execute(select(*columns).where(
        scheduled_visits.c.practice_id == practice_id,
        scheduled_visits.c.visit_id.in_([v.visit_id for v in booked])))).all()}
    for visit in booked:
        values = dict(patient_id=visit.patient_id, payer_id=visit.payer_id, service_date=visit.service_date,
                      cpt_code=visit.cpt_code, cancelled=visit.cancelled)
        before = known.get(visit.visit_id)
        if before == tuple(values.values()):
            continue
        if before is not None:
            key = and_(scheduled_visits.c.practice_id == practice_id, scheduled_visits.c.visit_id == visit.visit_id)
            await session.execute(update(scheduled_visits).where(key).values(**values))
        else:  # another request may be inserting the same visit right now: the later one's values win
            await session.execute(_insert_or_update(session, scheduled_visits, ("practice_id", "visit_id"), {
                "practice_id": practice_id, "visit_id": visit.visit_id, **values}))
        known[visit.visit_id] = tuple(values.values())
        await stage_event(session, platform, VisitScheduledV1(
            visit_id=visit.visit_id, practice_id=practice_id, patient_id=visit.patient_id, payer_id=visit.payer_id,
            service_date=visit.service_date, cpt_code=visit.cpt_code, cancelled=visit.cancelled),
            source=SOURCE, subject=visit.visit_id, practice_id=practice_id)
    return len(booked)
