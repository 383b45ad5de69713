"""Use case: a person settles money held as a duplicate payment (``duplicate_payments`` in rules/posting.yaml): a
claim payment (``duplicate_claim_payment``) or the PLBs of a payment whose every claim was a repeat
(``duplicate_provider_adjustments``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rcm_shared.db.types import utcnow
from rcm_shared.observability import metrics

from remittance.adapters.bulk_writer import PostingBatch
from remittance.adapters.repository import HOLD_SETTLED
from remittance.domain.commands import ResolveDuplicatePayment
from remittance.domain.duplicates import APPLY, duplicate_rules_on
from remittance.domain.exceptions import AlreadySettled, NotADuplicatePayment, UnknownDecision, UnknownEraException
from remittance.domain.model import ZERO, ClaimPayment, ProviderAdjustment
from remittance.domain.posting import UNDEPOSITED_ERA
from remittance.domain.rulebook import Rulebook
from remittance.edi.era_reader import iter_remittance
from remittance.service_layer.posting import payment_run, post_claims
from remittance.service_layer.unit_of_work import RemittanceUnitOfWork
from remittance.service_layer.work_queues import EXCEPTION_SUBJECT, close_items

SOURCE = "remittance"
HELD_KINDS = ("duplicate_claim_payment", "duplicate_provider_adjustments")


async def resolve_duplicate_payment(uow: RemittanceUnitOfWork, command: ResolveDuplicatePayment,
                                    rules: Rulebook, *, close_item: bool = True) -> dict[str, Any]:
    """``refunded`` / ``recouped`` / ``not_received`` (or whatever the rules name): the hold is released to the
    decision's account (cash, plb_recovery, undeposited_era) and the claim is left as it is. ``apply``: it was
    not a duplicate after all; the hold goes back to undeposited_era and the payment (or the PLBs) is posted
    as any would be (for a claim: with its events to claims and patient billing). Settled once: a second
    decision on the same exception is refused (AlreadySettled). ``close_item``: the exception's work item is
    resolved with the decision (False when the decision comes through the work item itself)."""
    row = await uow.exceptions.get(command.practice_id, command.exception_id)
    if row is None:
        raise UnknownEraException("No such ERA exception")
    if row.kind not in HELD_KINDS:
        raise NotADuplicatePayment("Only money held as a duplicate payment is settled here")
    held = ours = None
    if row.kind == "duplicate_claim_payment":
        held = await uow.postings.get(row.detail["posting_id"])
        ours = await uow.claim_copies.one(command.practice_id, held.patient_control_number)
    in_force = duplicate_rules_on(rules.duplicate_payments, ours.date_of_service if ours is not None else None)
    if command.decision not in in_force.decisions:
        raise UnknownDecision(f"must be one of {', '.join(in_force.decisions)}")
    if held is not None:
        await uow.claim_copies.lock_keys(command.practice_id, [held.patient_control_number])
    if not await uow.exceptions.settle(row.exception_id):
        raise AlreadySettled("This exception was already settled")
    held_in = row.detail.get("held_in", in_force.hold_account)  # where it was held then, whatever the rules say now
    to_account = UNDEPOSITED_ERA if command.decision == APPLY else in_force.resolutions[command.decision]
    posted_as = None
    if held is not None:
        release = rules.posting.release_hold(held.paid, held.payer_claim_number or held.patient_control_number,
                                             held.claim_id, held_in, to_account)
        await uow.postings.write_entries(command.practice_id, held.posting_id, [release] if release else [])
        await uow.postings.set_unapplied(held.posting_id, HOLD_SETTLED, {**held.detail, "settled": command.decision})
        posted_as = await _apply_held_payment(uow, rules, held, ours) if command.decision == APPLY else None
    else:  # PLBs: the hold is their negated total (a recovery reduced the payment, so it was debited)
        trace = row.detail["trace_number"]
        adjustments = [ProviderAdjustment(a["provider_identifier"], None, a["reason"], a["reference"],
                                          Decimal(a["amount"])) for a in row.detail["adjustments"]]
        release = rules.posting.release_hold(-sum((a.amount for a in adjustments), ZERO), trace, None, held_in,
                                             to_account)
        entries = [release] if release else []
        if command.decision == APPLY:
            entries += rules.posting.post_provider_adjustments(adjustments, trace)
        await uow.postings.write_entries(command.practice_id, None, entries)
    resolution = {"decision": command.decision, "released_to": to_account, "by": command.resolved_by,
                  "at": utcnow().isoformat(), "note": command.note, "posting_id": posted_as}
    await uow.exceptions.set_detail(row.exception_id, {**row.detail, "resolution": resolution})
    metrics.BUSINESS_EVENTS.labels(SOURCE, f"{row.kind}_{command.decision}").inc()
    if close_item:
        await close_items(uow, command.practice_id, EXCEPTION_SUBJECT, [row.exception_id], command.decision,
                          now=utcnow(), actor=command.resolved_by, note=command.note)
    return {"exception_id": row.exception_id, "status": "resolved", **resolution}


async def _apply_held_payment(uow: RemittanceUnitOfWork, rules: Rulebook, held: Any, ours: Any) -> str:
    """Post a held payment to its claim after all (the CLP read again from the stored 835). Returns the new
    posting's id."""
    where = held.detail["clp"]
    content = await uow.eras.content(held.era_id)
    payment = next(r for r in iter_remittance(content, strict=True) if isinstance(r, ClaimPayment)
                   and r.transaction_control_number == where["transaction_control_number"]
                   and r.ordinal == where["claim_ordinal"])
    batch = PostingBatch(uow)
    try:
        run = await payment_run(uow, held.era_id, held.practice_id, held.payment_id, rules)
        await post_claims(uow, run, [(payment, ours)], batch, hold_duplicates=False)
        posting_id: str = batch.postings[-1]["posting_id"]  # one claim: its row is still in the batch
        await batch.flush()
    finally:
        await batch.settle(quiet=True)
    return posting_id
