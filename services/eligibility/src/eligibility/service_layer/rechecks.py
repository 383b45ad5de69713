"""Automatic re-checks: queued when the freshness policy wants one outside the nightly batch (a claim denied for
eligibility, a carve-out an unattended check found, a visit booked after the nightly run, the batch's overflow),
then sent in real time by a periodic job within each payer's rate (rules/payer_limits.yaml).

Queueing coalesces: one open re-check per patient and payer, and none again inside the payer's
``min_minutes_between_rechecks`` (ten denials of one member are one inquiry). Sending is at least once: a sender
that dies between claiming a re-check and storing its answer leaves it to be sent again after ``LEASE`` (an
eligibility inquiry is a read; a repeat costs a transaction fee, not correctness).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from rcm_shared.contracts import DenialRaisedV1
from rcm_shared.db.types import new_id, utcnow
from rcm_shared.observability import metrics

from eligibility.domain.exceptions import PayerUnavailable, UnsendableInquiry
from eligibility.domain.model import (
    CheckOrigin,
    CoverageCheck,
    InsuranceOnFile,
    RecheckReason,
    RecheckRequest,
    RecheckStatus,
)
from eligibility.domain.payer_limits import QueuedRecheck, pick_rechecks
from eligibility.domain.rulebook import EligibilityRules
from eligibility.domain.work_queue import NO_INSURANCE, Attention, attention_for, payer_unavailable, unsendable
from eligibility.service_layer import practice_day
from eligibility.service_layer.coverage_checks import PayerLink, check_from, exchange_270, keep_checks
from eligibility.service_layer.unit_of_work import SOURCE, EligibilityUnitOfWork
from eligibility.service_layer.work_queue import raise_work_item

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)  # far above the gateway timeout: a live sender is never overtaken
CLAIM_AT_MOST = 500  # per tick; the payers' rates pick from these


async def enqueue_recheck(uow: EligibilityUnitOfWork, rules: EligibilityRules, *, practice_id: str,
                          patient_id: str, payer_id: str, reason: RecheckReason, service_date: date, now: datetime,
                          follows_check_id: str | None = None) -> str | None:
    """Queue a re-check unless one is open for this patient and payer or one went out inside the payer's
    window. Returns the request id, or ``None`` when coalesced."""
    today = practice_day.today(rules.nightly_batch, now)
    window = rules.payer_limits.for_payer(payer_id, today).min_minutes_between_rechecks
    since = now - timedelta(minutes=window) if window else None
    if await uow.rechecks.recently_asked(practice_id, patient_id, payer_id, since):
        return None
    # The look above is only the cheap path: a consumer on another partition (or replica) may be queueing the
    # same member right now; the partial unique index on open re-checks makes the later insert a no-op.
    request = RecheckRequest.queue(request_id=new_id(), practice_id=practice_id, patient_id=patient_id,
                                   payer_id=payer_id, reason=reason, service_date=service_date, now=now,
                                   follows_check_id=follows_check_id)
    return request.request_id if await uow.rechecks.queue(request) else None


async def note_eligibility_denials(uow: EligibilityUnitOfWork, denials: Sequence[DenialRaisedV1],
                                   rules: EligibilityRules, *, now: datetime) -> None:
    """Claims denied for eligibility make the stored benefits stale: note it (on the practice's date) and queue a
    re-check now; without member details on file a person has to check."""
    today = practice_day.today(rules.nightly_batch, now)
    for denial in denials:
        if denial.patient_id is None or denial.payer_id is None:
            continue
        policy = rules.freshness.policy_for(denial.payer_id, today)
        if denial.category != "eligibility" and not any(policy.is_eligibility_denial(c) for c in denial.reason_codes):
            continue
        benefits = await uow.benefits.get(denial.practice_id, denial.patient_id, denial.payer_id)
        if benefits is not None:
            benefits.note_eligibility_denial(today, utcnow())
            await uow.benefits.save_denial(benefits)
        if not policy.recheck_on_eligibility_denial:
            continue
        if await uow.insurance.get(denial.practice_id, denial.patient_id, denial.payer_id) is None:
            await raise_work_item(uow, practice_id=denial.practice_id, patient_id=denial.patient_id,
                                  payer_id=denial.payer_id, attention=NO_INSURANCE, service_date=today, now=now)
            continue
        await enqueue_recheck(uow, rules, practice_id=denial.practice_id, patient_id=denial.patient_id,
                              payer_id=denial.payer_id, reason=RecheckReason.ELIGIBILITY_DENIAL, service_date=today,
                              now=now)


async def follow_carve_outs(uow: EligibilityUnitOfWork, rules: EligibilityRules, insurance: InsuranceOnFile,
                            check: CoverageCheck, *, now: datetime) -> None:
    """An unattended check found mental health carved out to a named payer: keep the member's details for that
    payer and queue its check (real time, within its rate)."""
    for carve_out in check.carve_outs_to_follow():
        carved = insurance.with_payer(carve_out, utcnow())
        await uow.insurance.save([carved])
        await enqueue_recheck(uow, rules, practice_id=carved.practice_id, patient_id=carved.patient_id,
                              payer_id=carved.payer_id, reason=RecheckReason.CARVE_OUT,
                              service_date=check.service_date, now=now, follows_check_id=check.check_id)


# ------------------------------------------------------------------------------------------ sending


async def send_due_rechecks(uows: Callable[[], EligibilityUnitOfWork], payer: PayerLink, rules: EligibilityRules,
                            *, now: datetime) -> int:
    """Send what is due, within each payer's rate; returns how many were sent."""
    claimed = await _claim_due(uows, rules, now)
    for request in claimed:
        try:
            await _send(uows, payer, rules, request, now)
        except Exception as exc:  # one re-check's failure must not strand the others claimed with it
            # (they would wait out the lease) nor be re-sent every lease forever: retried within the payer's limits.
            log.error("re-check failed", extra={"recheck_id": request.request_id, "error": type(exc).__name__})
            await _retry_or_give_up(uows, rules, request.request_id, now, type(exc).__name__[:60])
    return len(claimed)


async def _claim_due(uows: Callable[[], EligibilityUnitOfWork], rules: EligibilityRules, now: datetime
                     ) -> list[RecheckRequest]:
    async with uows() as uow:
        await uow.rechecks.lock_claims()
        await uow.rechecks.release_stale(now - LEASE)
        queued = await uow.rechecks.due(now, CLAIM_AT_MOST)
        if not queued:
            return []
        sent = await uow.rechecks.sent_per_payer_since(now - timedelta(minutes=1))
        chosen = set(pick_rechecks([QueuedRecheck(q.request_id, q.payer_id, q.due_at) for q in queued], sent,
                                   rules.payer_limits, now))
        claimed = [q for q in queued if q.request_id in chosen]
        for request in claimed:
            request.claim(now)
        await uow.rechecks.save(claimed)
    return claimed


async def _send(uows: Callable[[], EligibilityUnitOfWork], payer: PayerLink, rules: EligibilityRules,
                request: RecheckRequest, now: datetime) -> None:
    async with uows() as uow:
        insurance = await uow.insurance.get(request.practice_id, request.patient_id, request.payer_id)
    if insurance is None:
        await _give_up(uows, request.request_id, NO_INSURANCE, "no_insurance_on_file", now)
        return
    try:
        exchanged = await exchange_270(uows, payer, rules.telehealth,
                                       lambda trace: insurance.inquiry(request.service_date, trace), now=now)
    except PayerUnavailable as exc:
        await _retry_or_give_up(uows, rules, request.request_id, now, (exc.error_code or "payer_unavailable")[:60])
        return
    except UnsendableInquiry as exc:
        await _give_up(uows, request.request_id, unsendable(exc.where), "unsendable_request", now)
        return
    check = check_from(exchanged, practice_id=request.practice_id, patient_id=request.patient_id,
                       payer_id=request.payer_id, service_date=request.service_date, origin=CheckOrigin.RECHECK,
                       follows_check_id=request.follows_check_id)
    async with uows() as uow:
        await keep_checks(uow, [check])
        request.answered(check.check_id)
        await uow.rechecks.save([request])
        attention = attention_for(check.primary if check.answered else None)
        if attention is not None:
            await raise_work_item(uow, practice_id=request.practice_id, patient_id=request.patient_id,
                                  payer_id=request.payer_id, attention=attention, service_date=request.service_date,
                                  now=now, check_id=check.check_id, recheck_id=request.request_id)
        await follow_carve_outs(uow, rules, insurance, check, now=now)
    metrics.BUSINESS_EVENTS.labels(SOURCE, f"eligibility_recheck_{request.reason}").inc()


async def _sending(uow: EligibilityUnitOfWork, request_id: str) -> RecheckRequest | None:
    """The request as stored, if it is still this sender's to settle."""
    request = await uow.rechecks.get(request_id)
    return request if request is not None and request.status == RecheckStatus.SENDING else None


async def _retry_or_give_up(uows: Callable[[], EligibilityUnitOfWork], rules: EligibilityRules, request_id: str,
                            now: datetime, code: str) -> None:
    """Send it again after the payer's retry delay; when the tries are used up, a person looks at it."""
    async with uows() as uow:
        request = await _sending(uow, request_id)
        if request is None:
            return
        delay = rules.payer_limits.for_payer(request.payer_id, practice_day.today(rules.nightly_batch, now)
                                             ).retry_delay(request.attempts)
        if delay is not None:
            request.retry_at(now + delay, code)
            await uow.rechecks.save([request])
            log.info("re-check not answered, retrying later", extra={"recheck_id": request_id, "error": code})
            return
        await _settle_failed(uow, request, payer_unavailable(f"no answer after {request.attempts} tries ({code})"),
                             code, now)


async def _give_up(uows: Callable[[], EligibilityUnitOfWork], request_id: str, attention: Attention, error: str,
                   now: datetime) -> None:
    async with uows() as uow:
        request = await _sending(uow, request_id)
        if request is not None:
            await _settle_failed(uow, request, attention, error, now)


async def _settle_failed(uow: EligibilityUnitOfWork, request: RecheckRequest, attention: Attention, error: str,
                         now: datetime) -> None:
    request.give_up(error)
    await uow.rechecks.save([request])
    await raise_work_item(uow, practice_id=request.practice_id, patient_id=request.patient_id,
                          payer_id=request.payer_id, attention=attention, service_date=request.service_date, now=now,
                          recheck_id=request.request_id)
