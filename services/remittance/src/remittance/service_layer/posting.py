"""Use case: post an ERA exactly once and balanced (era-received).

Exactly once, three ways: the same file bytes are refused at intake (sha256 per practice); the same payment
(payer + TRN trace) posts nothing the second time (unique key on era_payments); and the consumer's inbox makes a
redelivered era-received a no-op (the ERA aggregate refuses a second posting behind it). A transaction that does
not balance is posted not at all: it goes to the exception queue with the exact mismatch.

Speed (a 10,000-claim ERA in a few seconds): a transaction's claims, the balances forwarded to a next payer, the
postings its reversals take back and the denial history are each read in a few queries, not per claim; rows and
events are written in bulk by ``adapters/bulk_writer.py``, each chunk while the next one is worked out, all in the
consumer's one transaction."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rcm_shared.db.types import utcnow
from rcm_shared.observability import metrics
from rcm_shared.x12 import X12SyntaxError

from remittance.adapters.bulk_writer import PostingBatch, collector_paused, journal_rows, next_id
from remittance.domain.commands import PostEra
from remittance.domain.duplicates import Adjudication, DuplicateWatch, duplicate_rules_on
from remittance.domain.era import PostingSummary
from remittance.domain.events import ClaimPaymentPosted, PatientResponsibilityTransferred
from remittance.domain.exceptions import UnknownEra
from remittance.domain.model import ZERO, ClaimPayment, ProviderAdjustment, RemittanceHeader, RemittanceSummary
from remittance.domain.posting import SECONDARY_PAYER_AR, ClaimFacts, ClaimLineFacts, ClaimPosting, PostedClaim
from remittance.domain.rulebook import Rulebook
from remittance.edi.era_reader import iter_remittance
from remittance.service_layer.appeals import recovered_by_payments
from remittance.service_layer.denials import (
    CENT,
    PostingRun,
    denial_watch,
    flag_underpayments,
    raise_denials,
    to_cent,
)
from remittance.service_layer.unit_of_work import RemittanceUnitOfWork
from remittance.service_layer.work_queues import (
    denials_reversed,
    exception_item,
    open_exception_item,
    open_joint_reviews,
    open_plb_item,
    open_unapplied_item,
)

SOURCE = "remittance"
SEND_EVERY = 1000  # claims: their rows are written while the next ones are posted
YIELD_EVERY = 25  # claims between turns of the event loop while a write is in progress
POSTED, UNAPPLIED, HELD_DUPLICATE = 0, 1, 3  # claim_postings.unapplied (adapters/repository.py)


@dataclass
class _Transaction:
    header: RemittanceHeader
    claims: list[ClaimPayment] = field(default_factory=list)


async def post_era(uow: RemittanceUnitOfWork, command: PostEra, rules: Rulebook) -> None:
    with collector_paused():
        await _post_era(uow, command, rules)


async def _post_era(uow: RemittanceUnitOfWork, command: PostEra, rules: Rulebook) -> None:
    held = await uow.eras.get(command.practice_id, command.era_id)
    if held is None:
        raise UnknownEra("era-received for an ERA this service does not hold")
    era, content = held
    if not era.awaiting_posting:
        return  # already processed (the aggregate's guard behind the inbox)
    uow.add(era)
    counts: dict[str, int] = {}
    total_paid = Decimal("0")
    current: _Transaction | None = None
    try:
        for record in iter_remittance(content, strict=True):  # strict: every field checked before posting
            if isinstance(record, RemittanceHeader):
                current = _Transaction(record)
            elif isinstance(record, ClaimPayment):
                assert current is not None
                current.claims.append(record)
            elif isinstance(record, RemittanceSummary):
                assert current is not None
                counts["transactions"] = counts.get("transactions", 0) + 1
                outcome = await _post_transaction(uow, command, rules, current, record)
                for key, value in outcome.items():
                    counts[key] = counts.get(key, 0) + value
                if outcome.get("claims_posted") or outcome.get("claims_unapplied") or \
                        outcome.get("duplicate_claim_payments"):
                    total_paid += current.header.total_paid
                current = None
    except X12SyntaxError as exc:
        await _exception(uow, command, "unparseable", exc.as_dict())
        era.unreadable(exc.as_dict())
        await uow.eras.save(era)
        return
    era.posted(PostingSummary(**counts, total_paid=str(total_paid)))
    await uow.eras.save(era)


async def _exception(uow: RemittanceUnitOfWork, command: PostEra, kind: str, detail: dict[str, Any],
                     payer_id: str | None = None) -> None:
    exception_id = await uow.exceptions.add(command.era_id, command.practice_id, kind, detail)
    await open_exception_item(uow, exception_id=exception_id, practice_id=command.practice_id, kind=kind,
                              payer_id=payer_id, now=utcnow())
    metrics.BUSINESS_EVENTS.labels(SOURCE, f"era_exception_{kind}").inc()


async def _post_transaction(uow: RemittanceUnitOfWork, command: PostEra, rules: Rulebook, tx: _Transaction,
                            summary: RemittanceSummary) -> dict[str, int]:
    header = tx.header
    payer_id = (header.payer.identifier if header.payer and header.payer.identifier else "") or \
        header.payer_identifier or header.sender_id
    issues = list(summary.balance_issues) + [i for c in tx.claims for i in c.balance_issues]
    if issues:
        # Never half-posted: the whole transaction waits in the exception queue with each exact mismatch.
        await _exception(uow, command, "unbalanced", {
            "transaction_control_number": header.transaction_control_number, "trace_number": header.trace_number,
            "issues": [{"rule": str(getattr(i.rule, "value", i.rule)), "claim_ordinal": i.claim_ordinal,
                        "patient_control_number": i.patient_control_number, "line_ordinal": i.line_ordinal,
                        "expected": str(i.expected), "actual": str(i.actual)} for i in issues]}, payer_id or None)
        return {"exceptions": 1}
    first = await uow.postings.payment_with_trace(command.practice_id, payer_id, header.trace_number)
    if first is not None:
        await _exception(uow, command, "duplicate_payment", {
            "trace_number": header.trace_number, "payer_id": payer_id, "first_payment_id": first}, payer_id or None)
        return {"duplicates": 1}
    payment_id = next_id()
    # The claims this payment is for, taken before their copies and postings are read (see lock_keys).
    pcns = [c.patient_control_number for c in tx.claims]
    await uow.claim_copies.lock_keys(command.practice_id, pcns)
    await uow.postings.add_payment(payment_id, command.era_id, command.practice_id, payer_id, header.trace_number,
                                   header.total_paid, header.payment_method or "NON", header.payment_date,
                                   len(tx.claims))
    ours_by_pcn = await uow.claim_copies.for_posting(command.practice_id, pcns)
    batch = PostingBatch(uow)
    run = PostingRun(command.era_id, command.practice_id, payment_id, payer_id, utcnow(), header.trace_number, rules)
    try:
        done = await post_claims(uow, run, [(c, ours_by_pcn.get(c.patient_control_number)) for c in tx.claims],
                                 batch)
        if summary.provider_adjustments and done.held and done.held == len(tx.claims):
            _hold_provider_adjustments(run, header, summary.provider_adjustments, batch)
        elif summary.provider_adjustments:
            await book_provider_adjustments(uow, run, header, summary.provider_adjustments, batch)
        await batch.flush()
    finally:
        await batch.settle(quiet=True)  # never leave a write running on the connection
    if batch.pattern_keys:
        await open_joint_reviews(uow, rules, command.practice_id, batch.pattern_keys, run.now)
    await recovered_by_payments(uow, command.practice_id, batch.paid)
    matched = sum(1 for c in tx.claims if c.patient_control_number in ours_by_pcn)
    return {"claims_posted": matched - done.held, "claims_unapplied": len(tx.claims) - matched,
            "denials": done.raised, "duplicate_claim_payments": done.held}


async def book_provider_adjustments(uow: RemittanceUnitOfWork, run: PostingRun, header: RemittanceHeader,
                                    adjustments: list[ProviderAdjustment], batch: PostingBatch) -> None:
    """Each PLB to its account; one whose reason names a claim (WO, 72, FB: rules/posting.yaml) is tied to the claim
    its reference names (its lines carry the claim), or waits in the plb_recoupments queue for a person."""
    posting = run.rules.posting
    references = {plb.reference.strip() for plb in adjustments if posting.names_a_claim(plb)}
    claims: dict[str, str] = {}
    if references:
        await batch.flush()  # a claim posted earlier in this transaction is named by its payer claim number too
        claims = await uow.postings.claims_by_reference(run.practice_id, references)
    for plb in adjustments:
        rows = journal_rows(run.practice_id, None, posting.post_provider_adjustments(
            [plb], header.trace_number, claims), run.now)
        batch.journal.extend(rows)
        if not rows or not posting.names_a_claim(plb):
            continue
        plb_id, claim_id = next_id(), claims.get(plb.reference.strip())
        batch.plbs.append(dict(
            plb_id=plb_id, practice_id=run.practice_id, era_id=run.era_id, payment_id=run.payment_id,
            payer_id=run.payer_id, reason=plb.reason, reference=plb.reference.strip()[:80],
            amount=plb.amount.quantize(CENT), entry_id=rows[0]["entry_id"], claim_id=claim_id,
            tied_by="system" if claim_id else None, recorded_at=run.now))
        if claim_id is None:
            open_plb_item(batch, plb_id=plb_id, practice_id=run.practice_id, payer_id=run.payer_id,
                          reason=plb.reason, amount=plb.amount.quantize(CENT), now=run.now)
        batch.counts["plb_tied" if claim_id else "plb_untied"] += 1


def _hold_provider_adjustments(run: PostingRun, header: RemittanceHeader, adjustments: list[ProviderAdjustment],
                               batch: PostingBatch) -> None:
    """A payment whose every claim repeats one already posted is a repeated payment as a whole: its PLBs are held
    with its claims (the hold then carries exactly BPR02), not booked to their accounts a second time."""
    rules = duplicate_rules_on(run.rules.duplicate_payments, header.payment_date)
    batch.journal.extend(journal_rows(run.practice_id, None, run.rules.posting.hold_provider_adjustments(
        adjustments, header.trace_number, rules.hold_account), run.now))
    exception_id = next_id()
    batch.work_items.append(exception_item(
        exception_id=exception_id, practice_id=run.practice_id, kind="duplicate_provider_adjustments",
        payer_id=run.payer_id, amount=to_cent(sum((a.amount for a in adjustments), ZERO)), now=run.now))
    batch.exceptions.append(dict(
        exception_id=exception_id, era_id=run.era_id, practice_id=run.practice_id,
        kind="duplicate_provider_adjustments", status="open", raised_at=run.now, detail={
            "payment_id": run.payment_id, "trace_number": header.trace_number, "payer_id": run.payer_id,
            "held_in": rules.hold_account, "amount": str(to_cent(sum((a.amount for a in adjustments), ZERO))),
            "adjustments": [{"provider_identifier": a.provider_identifier, "reason": a.reason,
                             "reference": a.reference, "amount": str(a.amount.quantize(CENT))} for a in adjustments],
            "decisions": list(rules.decisions)}))
    batch.counts["duplicate_provider_adjustments_held"] += 1


async def payment_run(uow: RemittanceUnitOfWork, era_id: str, practice_id: str, payment_id: str,
                      rules: Rulebook) -> PostingRun:
    """The run of a payment posted earlier (a late claim copy, a person's decision)."""
    payment = await uow.postings.payment(payment_id)
    return PostingRun(era_id, practice_id, payment_id, payment.payer_id, utcnow(), payment.trace_number, rules)


def claim_facts(claim_id: str, row: Any) -> ClaimFacts:
    data = row if isinstance(row, dict) else row._mapping
    return ClaimFacts(claim_id, data["patient_control_number"], tuple(
        ClaimLineFacts(int(ln["line_number"]), ln["procedure_code"], Decimal(str(ln["charge"])),
                       tuple(ln.get("modifiers") or ()), Decimal(str(ln.get("units", 1))))
        for ln in data["lines"]))


def _pick_original(reversal: ClaimPayment, candidates: list[tuple[PostedClaim, Any]]) -> tuple[PostedClaim, Any] | None:
    """The posting a CLP02 22 takes back: same amounts negated, the same payer claim number first."""
    same_amounts = [c for c in candidates if c[0].paid == -reversal.paid and c[0].charge == -reversal.charge]
    for candidate in same_amounts:
        if candidate[1].payer_claim_number == (reversal.payer_claim_number or None):
            return candidate
    return same_amounts[0] if same_amounts else None


@dataclass
class Posted:
    raised: int = 0  # denials
    held: int = 0  # claim payments held as duplicates


async def post_claims(uow: RemittanceUnitOfWork, run: PostingRun, pairs: list[tuple[ClaimPayment, Any]],
                      batch: PostingBatch, *, hold_duplicates: bool = True) -> Posted:
    """Post a transaction's CLPs (each with our claim copy or None) into ``batch``.

    The state a claim's posting reads (balances forwarded to the next payer, postings a reversal takes back,
    postings a duplicate would repeat, the denial history for pattern alerts) is read once for the whole
    transaction, not per claim. ``hold_duplicates`` False: a person decided this payment is not a duplicate."""
    rules = run.rules.posting
    postings = uow.postings
    coordination_statuses = frozenset().union(*(b.next_payer_statuses for b in rules.coordination))
    matched = [(claim, ours) for claim, ours in pairs if ours is not None]
    held = await postings.held_for_next_payer(run.practice_id, [
        ours.claim_id for claim, ours in matched if claim.status_code in coordination_statuses], SECONDARY_PAYER_AR)
    originals = await postings.reversible(run.practice_id, [
        ours.claim_id for claim, ours in matched if claim.is_reversal])
    watch = await denial_watch(uow, run.rules, run.practice_id, [ours.date_of_service for claim, ours in matched
                                                                 if not claim.is_reversal])
    standing = DuplicateWatch(run.rules.duplicate_payments, await postings.standing(
        run.practice_id, [ours.claim_id for claim, ours in matched]) if hold_duplicates else None)
    posted = Posted()
    for done, (claim, ours) in enumerate(pairs, 1):
        if not done % SEND_EVERY:
            await batch.send()
        elif not done % YIELD_EVERY and batch.pending is not None:
            await asyncio.sleep(0)  # the write in progress needs the event loop now and then
        if ours is None:
            _post_unapplied(run, claim, batch)
            continue
        claim_id = ours.claim_id
        if claim_id in batch.touched and (claim.is_reversal or claim.status_code in coordination_statuses):
            # posted earlier in this transaction: write it, then read the claim's state again
            await batch.flush()
            held.update(await postings.held_for_next_payer(run.practice_id, [claim_id], SECONDARY_PAYER_AR))
            originals.update(await postings.reversible(run.practice_id, [claim_id]))
        batch.touched.add(claim_id)
        if claim.is_reversal:
            original = _pick_original(claim, originals.get(claim_id, []))
            if original is not None:
                originals[claim_id].remove(original)
                standing.reversed(claim_id, original[0].posting_id)
                await _post_reversal(uow, run, claim, ours, original, batch)
                continue
        adjudication = Adjudication.of(claim, run.payer_id)
        repeats = standing.duplicate_of(claim_id, adjudication, ours.date_of_service) if hold_duplicates else None
        if repeats is not None:
            _hold_duplicate(run, claim, ours, repeats, batch)
            posted.held += 1
            continue
        posting_id, raised = _post_matched(run, claim, ours, held.get(claim_id, ZERO), watch, adjudication, batch)
        if not claim.is_reversal:
            standing.posted(claim_id, posting_id, adjudication)
        posted.raised += raised
    return posted


def _hold_duplicate(run: PostingRun, claim: ClaimPayment, ours: Any, repeats: str, batch: PostingBatch) -> None:
    """A payment the claim already holds a standing posting for: the money is held, the claim and the patient
    are untouched, and one exception asks a person to decide (service_layer/duplicates.py)."""
    rules = duplicate_rules_on(run.rules.duplicate_payments, ours.date_of_service)
    result = run.rules.posting.hold_duplicate(claim, ours.claim_id, rules.hold_account)
    posting_id, exception_id = next_id(), next_id()
    where = {"transaction_control_number": claim.transaction_control_number, "claim_ordinal": claim.ordinal}
    batch.postings.append(_posting_row(run, claim, result, posting_id, HELD_DUPLICATE, {
        "duplicate_of": repeats, "exception_id": exception_id, "held_in": rules.hold_account, "clp": where}))
    batch.journal.extend(journal_rows(run.practice_id, posting_id, result.entries, run.now))
    batch.work_items.append(exception_item(  # an overpayment to refund: due on the payer's deadline
        exception_id=exception_id, practice_id=run.practice_id, kind="duplicate_claim_payment",
        payer_id=run.payer_id, amount=claim.paid.quantize(CENT), now=run.now,
        due_on=rules.refund_due(run.payer_id, run.now.date())))
    batch.exceptions.append(dict(
        exception_id=exception_id, era_id=run.era_id, practice_id=run.practice_id, kind="duplicate_claim_payment",
        status="open", raised_at=run.now, detail={
            "posting_id": posting_id, "duplicate_of": repeats, "claim_id": ours.claim_id,
            "patient_control_number": claim.patient_control_number, "claim_status_code": claim.status_code,
            "payer_claim_number": claim.payer_claim_number or None, "payer_id": run.payer_id,
            "paid": str(claim.paid.quantize(CENT)), "held_in": rules.hold_account, "decisions": list(rules.decisions)}))
    batch.counts["duplicate_claim_payment_held"] += 1


def _posting_row(run: PostingRun, claim: ClaimPayment, result: ClaimPosting, posting_id: str,
                 unapplied: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    billed = result.patient_billed
    detail: dict[str, Any] = {"outcome": result.outcome, "discrepancies": list(result.discrepancies),
                              "line_matches": [list(m) for m in result.line_matches], "basis": result.basis}
    if result.claim_id is not None:
        detail["patient_billed"] = {"deductible": str(billed.deductible.quantize(CENT)),
                                    "coinsurance": str(billed.coinsurance.quantize(CENT)),
                                    "copay": str(billed.copay.quantize(CENT)),
                                    "other": str(billed.other.quantize(CENT))}
        if result.held_for_next_payer:
            detail["held_for_next_payer"] = str(result.held_for_next_payer.quantize(CENT))
    return dict(
        posting_id=posting_id, era_id=run.era_id, payment_id=run.payment_id, practice_id=run.practice_id,
        claim_id=result.claim_id, patient_control_number=claim.patient_control_number,
        claim_status_code=claim.status_code, charge=claim.charge, paid=claim.paid,
        patient_responsibility=result.patient_responsibility.total, payer_claim_number=claim.payer_claim_number or None,
        unapplied=unapplied, posted_at=run.now, reversed_by_posting_id=None, detail={**detail, **(extra or {})})


def _post_unapplied(run: PostingRun, claim: ClaimPayment, batch: PostingBatch) -> None:
    """Money for a claim we do not know (yet): Dr undeposited ERA / Cr unapplied cash until a copy arrives."""
    result = run.rules.posting.post_claim(claim, None)
    posting_id = next_id()
    batch.postings.append(_posting_row(run, claim, result, posting_id, UNAPPLIED))
    batch.journal.extend(journal_rows(run.practice_id, posting_id, result.entries, run.now))
    open_unapplied_item(batch, posting_id=posting_id, practice_id=run.practice_id, payer_id=run.payer_id,
                        amount=claim.paid.quantize(CENT), status_code=claim.status_code, now=run.now)
    batch.counts["unapplied_payment"] += 1


def _record_claim_events(run: PostingRun, claim: ClaimPayment, ours: Any, posting_id: str, result: ClaimPosting,
                         batch: PostingBatch, reverses: str | None = None) -> None:
    assert result.outcome != "held_duplicate", "a held duplicate tells the claim nothing"
    batch.events.append(ClaimPaymentPosted(
        posting_id, run.era_id, ours.claim_id, run.practice_id,
        result.outcome if result.outcome != "unapplied" else "paid", claim.status_code, claim.charge.quantize(CENT),
        claim.paid.quantize(CENT), result.patient_responsibility.total.quantize(CENT),
        result.contractual_adjustment.quantize(CENT),
        claim.payer_claim_number or None, run.trace_number or None, reverses))
    billed = result.patient_billed
    if billed.total != 0:  # held for the next payer: nothing to the patient yet; a reversal sends it negative
        batch.events.append(PatientResponsibilityTransferred(
            posting_id, ours.claim_id, ours.patient_id, run.practice_id, ours.date_of_service,
            billed.deductible.quantize(CENT), billed.coinsurance.quantize(CENT), billed.copay.quantize(CENT),
            billed.other.quantize(CENT), billed.total.quantize(CENT)))


def _post_matched(run: PostingRun, claim: ClaimPayment, ours: Any, held: Decimal, watch: Any,
                  adjudication: Adjudication, batch: PostingBatch) -> tuple[str, int]:
    """Post one CLP to our claim: journal, posting row, events, underpayments, denials. Returns the posting
    id and the denials raised."""
    rules = run.rules.posting
    result = rules.post_claim(claim, claim_facts(ours.claim_id, ours), held_for_this_payer=held,
                              as_of=ours.date_of_service)
    posting_id = next_id()
    extra: dict[str, Any] = {}
    # A next payer that settles and forwards again (CLP02 20/21) names the carrier after it, too.
    forwards_again = result.basis == "crossover_settlement" and claim.status_code in \
        rules.coordination_on(ours.date_of_service).forwarded_statuses
    crossover = claim.names.get("TT") if result.held_for_next_payer > 0 or forwards_again else None
    if crossover is not None:  # the crossover carrier (a payer, not a person) the balance was forwarded to
        extra["forwarded_to"] = {"name": crossover.last_name, "identifier": crossover.identifier}
    if claim.is_reversal:  # no posting of ours to take back: the negated amounts go through the rules
        extra["reverses"] = None
    else:  # what a later payment is compared with, to tell a duplicate (domain/duplicates.py)
        extra["adjudicated_lines"] = adjudication.lines_as_data()
    batch.postings.append(_posting_row(run, claim, result, posting_id, POSTED, extra))
    batch.journal.extend(journal_rows(run.practice_id, posting_id, result.entries, run.now))
    _record_claim_events(run, claim, ours, posting_id, result, batch)
    if claim.paid > 0 and not claim.is_reversal:
        batch.paid[ours.claim_id] = (posting_id, claim.paid.quantize(CENT))
    if claim.is_reversal:
        return posting_id, 0
    if result.basis == "primary":  # a next payer's allowed amount is not comparable with our contract
        flag_underpayments(run, posting_id, claim, ours, batch)
    return posting_id, raise_denials(run, posting_id, claim, ours, watch, batch)


async def _post_reversal(uow: RemittanceUnitOfWork, run: PostingRun, claim: ClaimPayment, ours: Any,
                         original: tuple[PostedClaim, Any], batch: PostingBatch) -> None:
    """CLP02 22: the original posting's entries reversed, what it billed the patient taken back, its open
    denials and underpayments closed; a re-issue that follows posts as new."""
    posted, row = original
    await batch.settle()  # the updates below use the session
    result = run.rules.posting.reverse(claim, posted)
    posting_id = next_id()
    batch.postings.append(_posting_row(run, claim, result, posting_id, POSTED, {"reverses": posted.posting_id}))
    batch.journal.extend(journal_rows(run.practice_id, posting_id, result.entries, run.now))
    _record_claim_events(run, claim, ours, posting_id, result, batch, reverses=posted.posting_id)
    closed = await uow.postings.mark_reversed(run.practice_id, row, posted.claim_id, posting_id)
    if closed:
        await denials_reversed(uow, run.practice_id, closed, run.now)
    batch.counts["payment_reversed"] += 1
