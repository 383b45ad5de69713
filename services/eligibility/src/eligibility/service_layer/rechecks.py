"""Automatic re-checks: queued when the freshness policy wants one outside the nightly batch (a claim denied
for eligibility, a carve-out the batch found, a visit booked after the nightly run, the batch's overflow), then
sent in real time by a periodic job within each payer's rate (rules/payer_limits.json).

Queueing coalesces: one open re-check per patient and payer, and none again inside the payer's
``min_minutes_between_rechecks`` (ten denials of one member are one inquiry). Sending is at least once: a sender
that dies between claiming a re-check and storing its answer leaves it to be sent again after ``LEASE`` (an
eligibility inquiry is a read; a repeat costs a transaction fee, not correctness).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from rcm_shared.clock import Clock
from rcm_shared.contracts import DenialRaisedV1, EventEnvelope
from rcm_shared.db.database import Database
from rcm_shared.db.types import new_id, utcnow
from rcm_shared.observability import metrics
from rcm_shared.x12.envelope import InterchangeParties
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from eligibility.adapters.orm import OPEN_RECHECK, recheck_requests, snapshots
from eligibility.adapters.payer_gateway import PayerGateway, PayerUnavailable
from eligibility.adapters.repository import insert_unless_open
from eligibility.domain.model import EligibilityResult, NextAction, PayerRef, ProviderRef
from eligibility.domain.payer_limits import QueuedRecheck, pick_rechecks
from eligibility.domain.work_queue import Attention, WorkItemKind, attention_for
from eligibility.service_layer import handlers, practice_day
from eligibility.service_layer.work_queue import raise_work_item

log = logging.getLogger(__name__)

SOURCE = "eligibility"
LEASE = timedelta(minutes=10)  # far above the gateway timeout: a live sender is never overtaken
RECHECK_LOCK = 0x454C4752  # PostgreSQL advisory lock: one claimer at a time, so rates hold across replicas
ELIGIBILITY_DENIAL = "eligibility_denial"
CARVE_OUT = "carve_out"
BOOKED_AFTER_NIGHTLY_RUN = "booked_after_nightly_run"
BATCH_OVERFLOW = "batch_overflow"
PENDING, SENDING, DONE, FAILED = "pending", "sending", "done", "failed"

NO_INSURANCE = Attention(WorkItemKind.NO_INSURANCE_ON_FILE, "check_coverage",
                         detail="a re-check is due but no member details are on file: run a coverage check")


async def enqueue_recheck(session: AsyncSession, *, practice_id: str, patient_id: str, payer_id: str, reason: str,
                          service_date: date, now: datetime, follows_check_id: str | None = None) -> str | None:
    """Queue a re-check unless one is open for this patient and payer or one went out inside the payer's
    window. Returns the request id, or ``None`` when coalesced."""
    member = ((recheck_requests.c.practice_id == practice_id) & (recheck_requests.c.patient_id == patient_id)
              & (recheck_requests.c.payer_id == payer_id))
    if (await session.execute(select(recheck_requests.c.request_id).where(
            member, recheck_requests.c.status.in_((PENDING, SENDING))).limit(1))).first():
        return None
    window = handlers.payer_limit_rules().for_payer(payer_id, practice_day.today(now)).min_minutes_between_rechecks
    if window and (await session.execute(select(recheck_requests.c.request_id).where(
            member, recheck_requests.c.sent_at >= now - timedelta(minutes=window)).limit(1))).first():
        return None
    # The select above is only the cheap path: a consumer on another partition (or replica) may be queueing the
    # same member right now; the partial unique index on open re-checks makes the later insert a no-op.
    inserted = await insert_unless_open(session, recheck_requests, dict(
        request_id=new_id(), practice_id=practice_id, patient_id=patient_id, payer_id=payer_id, reason=reason,
        service_date=service_date, follows_check_id=follows_check_id, status=PENDING, due_at=now, attempts=0,
        created_at=utcnow()), key=("practice_id", "patient_id", "payer_id"), open_rows=OPEN_RECHECK,
        returning="request_id")
    return None if inserted is None else str(inserted)


async def note_eligibility_denial(session: AsyncSession, envelope: EventEnvelope, event: DenialRaisedV1, *,
                                  clock: Clock) -> None:
    """A claim denied for eligibility makes the stored benefits stale: note it (on the practice's date) and
    queue a re-check now."""
    if event.patient_id is None or event.payer_id is None:
        return
    now = clock.now()
    today = practice_day.today(now)
    policy = handlers.freshness_rules().policy_for(event.payer_id, today)
    if event.category != "eligibility" and not any(policy.is_eligibility_denial(c) for c in event.reason_codes):
        return
    await session.execute(update(snapshots).where(
        snapshots.c.practice_id == event.practice_id, snapshots.c.patient_id == event.patient_id,
        snapshots.c.payer_id == event.payer_id).values(last_eligibility_denial_on=today, updated_at=utcnow()))
    if not policy.recheck_on_eligibility_denial:
        return
    if await handlers.load_insurance(session, event.practice_id, event.patient_id, event.payer_id) is None:
        await raise_work_item(session, practice_id=event.practice_id, patient_id=event.patient_id,
                              payer_id=event.payer_id, attention=NO_INSURANCE, service_date=today)
        return
    await enqueue_recheck(session, practice_id=event.practice_id, patient_id=event.patient_id,
                          payer_id=event.payer_id, reason=ELIGIBILITY_DENIAL, service_date=today, now=now)


async def follow_carve_outs(session: AsyncSession, insurance: Any, result: EligibilityResult, check_id: str,
                            service_date: date, now: datetime) -> None:
    """Mental health is carved out to a named payer: keep the member's details for it and queue its check."""
    if result.next_action != NextAction.CHECK_OTHER_PAYER:
        return
    for carve_out in result.carve_outs:
        if not carve_out.identifier:
            continue
        payer = PayerRef(carve_out.identifier, carve_out.name[:60] or carve_out.identifier)
        provider = ProviderRef(insurance.provider_npi, insurance.provider_name, insurance.provider_first_name)
        command = handlers.command_from_insurance(insurance, service_date)
        await handlers.remember_insurance(session, insurance.practice_id, insurance.patient_id, payer, provider,
                                          command.subscriber, command.dependent)
        await enqueue_recheck(session, practice_id=insurance.practice_id, patient_id=insurance.patient_id,
                              payer_id=payer.payer_id, reason=CARVE_OUT, service_date=service_date, now=now,
                              follows_check_id=check_id)


# ------------------------------------------------------------------------------------------ sending


async def send_due_rechecks(db: Database, gateway: PayerGateway, parties: InterchangeParties, *,
                            now: datetime) -> int:
    """Send what is due, within each payer's rate; returns how many were sent."""
    claimed = await _claim_due(db, now)
    for request in claimed:
        try:
            await _send(db, gateway, parties, request, now)
        except Exception as exc:  # one re-check's failure must not strand the others claimed with it
            # (they would wait out the lease) nor be re-sent every lease forever: retried within the payer's limits.
            log.error("re-check failed", extra={"recheck_id": request.request_id, "error": type(exc).__name__})
            await _retry_or_give_up(db, request, now, type(exc).__name__[:60])
    return len(claimed)


async def _claim_due(db: Database, now: datetime) -> list[Any]:
    async with db.transaction() as session:
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(select(func.pg_advisory_xact_lock(RECHECK_LOCK)))
        await session.execute(update(recheck_requests).where(
            recheck_requests.c.status == SENDING, recheck_requests.c.claimed_at < now - LEASE).values(status=PENDING))
        queued = (await session.execute(select(
            recheck_requests.c.request_id, recheck_requests.c.payer_id, recheck_requests.c.due_at).where(
            recheck_requests.c.status == PENDING, recheck_requests.c.due_at <= now)
            .order_by(recheck_requests.c.due_at).limit(500))).all()
        if not queued:
            return []
        sent = {str(payer): int(count) for payer, count in (await session.execute(select(
            recheck_requests.c.payer_id, func.count()).where(recheck_requests.c.sent_at >= now - timedelta(minutes=1))
            .group_by(recheck_requests.c.payer_id))).all()}
        chosen = pick_rechecks([QueuedRecheck(q.request_id, q.payer_id, q.due_at) for q in queued], sent,
                               handlers.payer_limit_rules(), now)
        if not chosen:
            return []
        await session.execute(update(recheck_requests).where(recheck_requests.c.request_id.in_(chosen)).values(
            status=SENDING, claimed_at=now, sent_at=now, attempts=recheck_requests.c.attempts + 1))
        return list((await session.execute(select(recheck_requests).where(
            recheck_requests.c.request_id.in_(chosen)).order_by(recheck_requests.c.due_at))).all())


async def _send(db: Database, gateway: PayerGateway, parties: InterchangeParties, request: Any,
                now: datetime) -> None:
    async with db.sessions() as session:
        insurance = await handlers.load_insurance(session, request.practice_id, request.patient_id,
                                                  request.payer_id)
    if insurance is None:
        await _give_up(db, request, NO_INSURANCE, "no_insurance_on_file")
        return
    command = handlers.command_from_insurance(insurance, request.service_date, request.follows_check_id)
    try:
        exchanged = await handlers.exchange_270(db, gateway, parties, command)
    except PayerUnavailable as exc:
        await _retry_or_give_up(db, request, now, (exc.error_code or "payer_unavailable")[:60])
        return
    except ValueError as exc:  # X12ValueError names the segment and element, never the value
        await _give_up(db, request, Attention(WorkItemKind.UNSENDABLE_REQUEST, NextAction.CORRECT_AND_RESEND.value,
                                              detail=str(exc)[:200]), "unsendable_request")
        return
    check_id = new_id()
    subject = handlers.CheckSubject(request.practice_id, request.patient_id, request.payer_id, request.service_date)
    async with db.transaction() as session:
        primary = await handlers.record_check(session, handlers.CheckToRecord(
            subject, check_id, exchanged.trace_number, exchanged.request_x12, exchanged.response_x12,
            exchanged.results, exchanged.unreadable_response, origin="recheck",
            follows_check_id=request.follows_check_id))
        await session.execute(update(recheck_requests).where(
            recheck_requests.c.request_id == request.request_id).values(status=DONE, check_id=check_id,
                                                                        last_error=None))
        attention = attention_for(primary if exchanged.results else None)
        if attention is not None:
            await raise_work_item(session, practice_id=request.practice_id, patient_id=request.patient_id,
                                  payer_id=request.payer_id, attention=attention, service_date=request.service_date,
                                  check_id=check_id, recheck_id=request.request_id)
        await follow_carve_outs(session, insurance, primary, check_id, request.service_date, now)
    metrics.BUSINESS_EVENTS.labels(SOURCE, f"eligibility_recheck_{request.reason}").inc()


async def _retry_or_give_up(db: Database, request: Any, now: datetime, code: str) -> None:
    """Send it again after the payer's retry delay; when the tries are used up, a person looks at it."""
    delay = handlers.payer_limit_rules().for_payer(request.payer_id, practice_day.today(now)).retry_delay(
        request.attempts)
    if delay is None:
        await _give_up(db, request, Attention(WorkItemKind.PAYER_UNAVAILABLE, NextAction.RETRY_LATER.value,
                                              detail=f"no answer after {request.attempts} tries ({code})"), code)
        return
    async with db.transaction() as session:
        await session.execute(update(recheck_requests).where(
            recheck_requests.c.request_id == request.request_id).values(
            status=PENDING, due_at=now + delay, last_error=code))
    log.info("re-check not answered, retrying later", extra={"recheck_id": request.request_id, "error": code})


async def _give_up(db: Database, request: Any, attention: Attention, error: str) -> None:
    async with db.transaction() as session:
        await session.execute(update(recheck_requests).where(
            recheck_requests.c.request_id == request.request_id).values(status=FAILED, last_error=error[:200]))
        await raise_work_item(session, practice_id=request.practice_id, patient_id=request.patient_id,
                              payer_id=request.payer_id, attention=attention, service_date=request.service_date,
                              recheck_id=request.request_id)


async def list_rechecks(session: AsyncSession, practice_id: str, status: str | None = None, *, limit: int = 500
                        ) -> list[dict[str, Any]]:
    query = select(recheck_requests).where(recheck_requests.c.practice_id == practice_id)
    if status is not None:
        query = query.where(recheck_requests.c.status == status)
    rows = (await session.execute(query.order_by(recheck_requests.c.created_at.desc()).limit(limit))).all()
    return [dict(r._mapping) for r in rows]
