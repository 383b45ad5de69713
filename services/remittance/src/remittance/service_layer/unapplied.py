"""Use case: unapplied cash meets its claim. A payment for a claim we had no copy of waits in unapplied cash; when
the copy arrives (topics are not ordered with each other) the cash is released and posted as it would have been.
The periodic sweep is the safety net behind the claim-key lock."""

from __future__ import annotations

import logging
from typing import Any

from rcm_shared.db.types import utcnow
from rcm_shared.http.auth import Principal
from rcm_shared.http.errors import ProblemError
from rcm_shared.observability import metrics
from rcm_shared.unit_of_work import UnitOfWork
from rcm_shared.work_items.api import ResolutionEffect
from rcm_shared.work_items.workflow import WorkItem

from remittance.adapters.bulk_writer import PostingBatch
from remittance.adapters.repository import UNAPPLIED, UNAPPLIED_RESOLVED
from remittance.domain.model import ClaimPayment
from remittance.domain.posting import UNAPPLIED_CASH, UNDEPOSITED_ERA, transfer
from remittance.domain.rulebook import Rulebook
from remittance.edi.era_reader import iter_remittance
from remittance.service_layer.posting import payment_run, post_claims
from remittance.service_layer.unit_of_work import RemittanceUnitOfWork
from remittance.service_layer.work_queues import close_items

SOURCE = "remittance"
log = logging.getLogger("rcm.remittance")


async def apply_waiting_payments_for(uow: RemittanceUnitOfWork, rules: Rulebook, practice_id: str,
                                     patient_control_number: str) -> None:
    """A claim copy arrived after its ERA: move the unapplied cash onto the claim and post it as it would have
    been. The caller holds the claim key (lock_keys)."""
    waiting = await uow.postings.unapplied_for(practice_id, patient_control_number)
    if not waiting:
        return
    ours = await uow.claim_copies.one(practice_id, patient_control_number)
    for posting in waiting:
        if await _apply(uow, rules, practice_id, posting, ours, "matched a late claim copy"):
            await close_items(uow, practice_id, "posting", [posting.posting_id], "matched_claim_copy",
                              now=utcnow(), note="the claim copy arrived: posted to its claim")


async def _apply(uow: RemittanceUnitOfWork, rules: Rulebook, practice_id: str, posting: Any, ours: Any,
                 memo: str, detail: dict[str, Any] | None = None) -> bool:
    """Unapplied cash onto a claim: released (Dr unapplied_cash / Cr undeposited_era) and the CLP, read again from
    the stored 835, posted to ``ours`` as any payment would be (journal, events, denials). False when the stored
    ERA no longer holds that CLP."""
    content = await uow.eras.content(posting.era_id)
    payment = next((r for r in iter_remittance(content, strict=True) if isinstance(r, ClaimPayment)
                    and r.patient_control_number == posting.patient_control_number
                    and r.status_code == posting.claim_status_code and r.paid == posting.paid), None)
    if payment is None:
        return False
    reference = posting.payer_claim_number or posting.patient_control_number
    release = transfer("unapplied_release", reference, UNAPPLIED_CASH, UNDEPOSITED_ERA, payment.paid, None,
                       payment.status_code, memo)
    await uow.postings.write_entries(practice_id, posting.posting_id, [release] if release else [])
    await uow.postings.set_unapplied(posting.posting_id, UNAPPLIED_RESOLVED,
                                     {**posting.detail, **detail} if detail else None)
    batch = PostingBatch(uow)
    try:
        run = await payment_run(uow, posting.era_id, practice_id, posting.payment_id, rules)
        await post_claims(uow, run, [(payment, ours)], batch)
        await batch.flush()
    finally:
        await batch.settle(quiet=True)
    return True


def apply_by_hand(rules: Rulebook) -> ResolutionEffect:
    """The kernel's resolution ``applied_to_claim`` of an unapplied-cash item, ``reference`` the claim's id: a
    person says which claim the payment is for (a payer that sent a wrong or truncated patient control number).
    The claim copy must be here; the application is audited with the action and announced like any posting."""

    async def resolve(uow: UnitOfWork, item: WorkItem, code: str, reference: str | None,
                      principal: Principal) -> None:
        assert isinstance(uow, RemittanceUnitOfWork)
        if reference is None:
            raise _refused(422, "body.reference", "applied_to_claim needs the claim's id")
        posting = await uow.postings.get(item.subject_id)
        if posting.unapplied != UNAPPLIED:
            raise _refused(409, "body.action", "the payment is no longer waiting in unapplied cash")
        ours = await uow.claim_copies.by_claim_id(item.practice_id, reference)
        if ours is None:
            raise _refused(422, "body.reference", "no submitted claim of this practice has that id")
        await uow.claim_copies.lock_keys(item.practice_id, [posting.patient_control_number,
                                                            ours.patient_control_number])
        applied = await _apply(uow, rules, item.practice_id, posting, ours, "applied by hand",
                               {"applied_to_claim": reference, "applied_by": principal.subject})
        if not applied:
            raise _refused(409, "body.action", "the stored ERA no longer holds this payment")
        metrics.BUSINESS_EVENTS.labels(SOURCE, "unapplied_applied_by_hand").inc()
    return resolve


def _refused(status: int, field: str, message: str) -> ProblemError:
    return ProblemError(status, "unapplied-cash", "The payment cannot be applied", errors=[
        {"field": field, "code": "invalid", "message": message}])


async def apply_waiting_payments(uow: RemittanceUnitOfWork, rules: Rulebook, limit: int = 200) -> int:
    """Sweep: post unapplied cash whose claim copy is here now; returns the claim keys applied.

    The claim key serializes the claim-copy consumer and ERA posting, so a copy and its payment always meet
    as they arrive. This is the safety net behind that, with a bounded delay (``unapplied_rematch_seconds``):
    payments left waiting by a version without the key, or by any path not foreseen."""
    waiting = await uow.claim_copies.keys_with_waiting_cash(limit)
    for practice_id, patient_control_number in waiting:
        await uow.claim_copies.lock_keys(practice_id, [patient_control_number])
        await apply_waiting_payments_for(uow, rules, practice_id, patient_control_number)  # reads again, locked
    if waiting:
        metrics.BUSINESS_EVENTS.labels(SOURCE, "unapplied_rematched_by_sweep").inc(len(waiting))
        log.warning("unapplied cash matched by the sweep", extra={"claim_keys": len(waiting)})
    return len(waiting)
