"""Remittance's work queues on the work-item kernel (``rcm_shared.work_items``): what opens an item, and what
resolving one does.

* Denials: one item per queue the routing rules reach (rules/denials.yaml: over 250 USD the senior biller,
  documentation / medical necessity the clinical liaison, both when both hold), subject the denial. Resolved with
  an outcome (corrected_resubmission, appealed, written_off, billed_to_patient, recovered); the outcome and what it
  links to are kept on the denial, and the denial's items in the other queues close with it.
* Joint reviews: a category or a payer with more than N visits denied in D days (rules/denials.yaml ``patterns``)
  opens one item (subject ``category:<name>`` / ``payer:<id>``) listing the claims in the window; later denials
  while it is open are added to it.
* ERA exceptions: one item per exception (category = its kind). A payment held as a duplicate is settled by its
  decisions (rules/posting.yaml); an unbalanced, unreadable or repeated transaction posted nothing, so its
  resolutions (corrected_posting, returned_to_payer, written_off) record the decision and leave the books as
  they are.
* Unapplied cash: one item per payment that matched no claim; closed by the system when the claim copy arrives
  (``matched_claim_copy``).

Items opened while an ERA posts go through the posting batch (bulk rows, events in order); the others through
the unit of work's work-item repository.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from rcm_shared.http.auth import Principal
from rcm_shared.http.errors import ProblemError
from rcm_shared.unit_of_work import UnitOfWork
from rcm_shared.work_items.api import ResolutionEffect, WorkQueue
from rcm_shared.work_items.repository import WorkItemFilter
from rcm_shared.work_items.workflow import PriorityPolicy, WorkItem
from sqlalchemy import select, update

from remittance.adapters.bulk_writer import PostingBatch, next_id
from remittance.adapters.orm import denials, journal, plb_recoupments
from remittance.adapters.repository import UNAPPLIED as UNAPPLIED_WAITING
from remittance.adapters.repository import UNAPPLIED_RESOLVED
from remittance.domain.appeals import OUTCOMES
from remittance.domain.commands import ResolveDuplicatePayment
from remittance.domain.posting import CASH, UNAPPLIED_CASH, transfer
from remittance.domain.rulebook import Rulebook
from remittance.service_layer.unit_of_work import RemittanceUnitOfWork

EXCEPTIONS = "era_exceptions"
UNAPPLIED = "unapplied_cash"
PLB_QUEUE = "plb_recoupments"
PLB_OUTCOMES = frozenset({"tied_to_claim", "not_claim_specific"})
DENIAL = "denial"
EXCEPTION_SUBJECT = "era_exception"
PATTERN = "denial_pattern"
DENIAL_OUTCOMES = frozenset({"corrected_resubmission", "appealed", "written_off", "billed_to_patient", "recovered"})
#: Outcomes that must say what they link to (the corrected claim, the appeal, the write-off's reason code).
NEEDS_REFERENCE = {"corrected_resubmission": "the corrected claim's id", "appealed": "the appeal's id",
                   "written_off": "the reason code (e.g. CO-45)"}
WRITE_OFF_REASON = re.compile(r"(CO|OA|PI|PR|CR)-[A-Z0-9]{1,5}")
JOINT_REVIEW_OUTCOMES = frozenset({"prevention_in_place", "payer_escalated", "no_pattern"})
TRANSACTION_EXCEPTION_OUTCOMES = frozenset({"corrected_posting", "returned_to_payer", "written_off"})
DUPLICATE_KINDS = frozenset({"duplicate_claim_payment", "duplicate_provider_adjustments"})
# matched_claim_copy: the system's, when the claim copy arrives
UNAPPLIED_OUTCOMES = frozenset({"returned_to_payer", "applied_to_claim"})
POLICY = PriorityPolicy()


def _summary(text: str) -> str:
    return text[:200]


# -- opening ------------------------------------------------------------------------------------------------------

def open_denial_items(batch: PostingBatch, *, denial_id: str, practice_id: str, queues: tuple[str, ...],
                      category: str, payer_id: str, rendering_npi: str | None, program: str | None,
                      amount: Decimal, group_code: str, reason_codes: tuple[str, ...], now: datetime) -> None:
    codes = ",".join(reason_codes[:6])
    for queue in queues:
        batch.work_items.append(WorkItem.open(
            item_id=next_id(), practice_id=practice_id, queue=queue, subject_type=DENIAL, subject_id=denial_id,
            now=now, policy=POLICY, category=category, payer_id=payer_id, clinician_npi=rendering_npi,
            program=program, amount=amount, summary=_summary(f"{group_code}-{codes} {category}"),
            detail={"queues": list(queues)}))


def open_unapplied_item(batch: PostingBatch, *, posting_id: str, practice_id: str, payer_id: str, amount: Decimal,
                        status_code: str, now: datetime) -> None:
    batch.work_items.append(WorkItem.open(
        item_id=next_id(), practice_id=practice_id, queue=UNAPPLIED, subject_type="posting", subject_id=posting_id,
        now=now, policy=POLICY, payer_id=payer_id, amount=amount, category="unmatched_claim_payment",
        summary=_summary(f"CLP02 {status_code}: payment matched no claim of ours")))


def open_plb_item(batch: PostingBatch, *, plb_id: str, practice_id: str, payer_id: str, reason: str,
                  amount: Decimal, now: datetime) -> None:
    batch.work_items.append(WorkItem.open(
        item_id=next_id(), practice_id=practice_id, queue=PLB_QUEUE, subject_type="plb", subject_id=plb_id, now=now,
        policy=POLICY, payer_id=payer_id, amount=amount, category=reason,
        summary=_summary(f"PLB {reason}: its reference names no claim of ours")))


def exception_item(*, exception_id: str, practice_id: str, kind: str, payer_id: str | None,
                   amount: Decimal | None, now: datetime, due_on: date | None = None) -> WorkItem:
    return WorkItem.open(
        item_id=next_id(), practice_id=practice_id, queue=EXCEPTIONS, subject_type=EXCEPTION_SUBJECT,
        subject_id=exception_id, now=now, policy=POLICY, category=kind, payer_id=payer_id, amount=amount,
        due_on=due_on, summary=_summary(f"ERA exception: {kind}"))


async def open_exception_item(uow: RemittanceUnitOfWork, *, exception_id: str, practice_id: str, kind: str,
                              payer_id: str | None, now: datetime) -> None:
    item = exception_item(exception_id=exception_id, practice_id=practice_id, kind=kind, payer_id=payer_id,
                          amount=None, now=now)
    await uow.work_items.save(item)
    uow.add(item)


async def open_joint_reviews(uow: RemittanceUnitOfWork, rules: Rulebook, practice_id: str,
                             keys: dict[tuple[str, str], date], now: datetime) -> None:
    """The patterns crossed while a transaction posted: one joint-review item per category / payer, listing the
    claims denied in the window that ends on the latest date of service that crossed it (brought up to date
    when the item is open already)."""
    for (by, key), as_of in sorted(keys.items()):
        config = rules.denials.patterns_on(as_of)
        since = date.fromordinal(as_of.toordinal() - config.window_days + 1)
        column = denials.c.category if by == "category" else denials.c.payer_id
        rows = (await uow.session.execute(select(denials.c.claim_id, denials.c.denial_id).where(
            denials.c.practice_id == practice_id, column == key, denials.c.date_of_service >= since,
            denials.c.date_of_service <= as_of, denials.c.status != "reversed"))).all()
        claim_ids = sorted({r.claim_id for r in rows if r.claim_id})
        if len(claim_ids) <= config.visits_over:
            continue  # the watch counted what this transaction raised; the stored rows are what the item lists
        listing = {"by": by, "key": key, "window_start": since.isoformat(), "window_end": as_of.isoformat(),
                   "visit_count": len(claim_ids), "claim_ids": claim_ids}
        subject = f"{by}:{key}"[:64]
        item = await uow.work_items.active_for(practice_id, config.queue, PATTERN, subject)
        if item is None:
            item = WorkItem.open(
                item_id=next_id(), practice_id=practice_id, queue=config.queue, subject_type=PATTERN,
                subject_id=subject, now=now, policy=POLICY, category=key if by == "category" else None,
                payer_id=key if by == "payer" else None,
                summary=_summary(f"{len(claim_ids)} visits denied in {config.window_days} days ({by} {key})"),
                detail=listing)
        else:
            item.recur(now=now, policy=POLICY, detail=listing,
                       summary=_summary(f"{len(claim_ids)} visits denied in {config.window_days} days "
                                        f"({by} {key})"))
        await uow.work_items.save(item)
        uow.add(item)


# -- closing by the system ------------------------------------------------------------------------------------------

async def close_items(uow: RemittanceUnitOfWork, practice_id: str, subject_type: str, subject_ids: list[str],
                      code: str, *, now: datetime, actor: str = "system", note: str | None = None,
                      except_item: str | None = None) -> None:
    """Resolve every active item about these subjects (the problem went away: the payment was reversed, the
    claim copy arrived, another queue worked the denial)."""
    for subject_id in subject_ids:
        found = await uow.work_items.list(practice_id, WorkItemFilter(subject_id=subject_id), limit=50)
        for item in found:
            if item.subject_type != subject_type or item.item_id == except_item:
                continue
            item.resolve(code, actor=actor, now=now, allowed=frozenset({code}), note=note)
            await uow.work_items.save(item)
            uow.add(item)


async def denials_reversed(uow: RemittanceUnitOfWork, practice_id: str, denial_ids: list[str], now: datetime) -> None:
    await close_items(uow, practice_id, DENIAL, denial_ids, "reversed_by_payer", now=now,
                      note="the payer reversed the payment that raised it")


# -- resolving by a person (the kernel's /v1/work-items/{id}/actions) ----------------------------------------------

def _problem(field: str, message: str, status: int = 422, kind: str = "validation") -> ProblemError:
    return ProblemError(status, kind, "This resolution cannot be recorded", errors=[
        {"field": field, "code": "invalid", "message": message}])


def _resolved_at(item: WorkItem) -> datetime:
    assert item.resolved_at is not None, "the kernel resolves the item before its effect runs"
    return item.resolved_at


async def denial_outcome(uow: UnitOfWork, item: WorkItem, code: str, reference: str | None,
                         principal: Principal) -> None:
    """A denial worked to an outcome: kept on the denial with what it links to; its items in the other queues
    it was routed to close with it."""
    assert isinstance(uow, RemittanceUnitOfWork)
    if code in NEEDS_REFERENCE and reference is None:
        raise _problem("body.reference", f"{code} needs {NEEDS_REFERENCE[code]}")
    if code == "written_off" and not WRITE_OFF_REASON.fullmatch(reference or ""):
        raise _problem("body.reference", "a write-off's reason is a group and reason code, e.g. CO-45")
    now = _resolved_at(item)
    result = await uow.session.execute(update(denials).where(
        denials.c.practice_id == item.practice_id, denials.c.denial_id == item.subject_id,
        denials.c.status == "open").values(status="resolved", resolution_code=code,
                                           resolution_reference=reference, resolved_at=now))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise _problem("body.action", "the denial is no longer open (reversed or worked already)", 409,
                       "denial-not-open")
    await close_items(uow, item.practice_id, DENIAL, [item.subject_id], code, now=now, actor=principal.subject,
                      note=f"worked in the {item.queue} queue", except_item=item.item_id)


def exception_outcome(rules: Rulebook) -> ResolutionEffect:
    async def resolve(uow: UnitOfWork, item: WorkItem, code: str, reference: str | None,
                      principal: Principal) -> None:
        assert isinstance(uow, RemittanceUnitOfWork)
        if item.category in DUPLICATE_KINDS:
            from remittance.service_layer.duplicates import resolve_duplicate_payment  # it closes items too

            await resolve_duplicate_payment(uow, ResolveDuplicatePayment(
                item.practice_id, item.subject_id, code, principal.subject, None), rules, close_item=False)
            return
        if code not in TRANSACTION_EXCEPTION_OUTCOMES:
            raise _problem("body.resolution_code", f"a {item.category} exception is resolved with one of "
                                                   f"{', '.join(sorted(TRANSACTION_EXCEPTION_OUTCOMES))}")
        if code == "corrected_posting" and reference is None:
            raise _problem("body.reference", "corrected_posting needs the corrected ERA's id")
        row = await uow.exceptions.get(item.practice_id, item.subject_id)
        if row is None or not await uow.exceptions.settle(item.subject_id):
            raise _problem("body.action", "the exception was settled already", 409, "already-resolved")
        await uow.exceptions.set_detail(item.subject_id, {**row.detail, "resolution": {
            "decision": code, "reference": reference, "by": principal.subject,
            "at": _resolved_at(item).isoformat()}})
    return resolve


def unapplied_outcome(rules: Rulebook) -> ResolutionEffect:
    async def resolve(uow: UnitOfWork, item: WorkItem, code: str, reference: str | None,
                      principal: Principal) -> None:
        if code == "applied_to_claim":
            from remittance.service_layer.unapplied import apply_by_hand  # it posts (posting imports this module)

            await apply_by_hand(rules)(uow, item, code, reference, principal)
        else:
            await unapplied_returned(uow, item, code, reference, principal)
    return resolve


async def unapplied_returned(uow: UnitOfWork, item: WorkItem, code: str, reference: str | None,
                             principal: Principal) -> None:
    """Unapplied cash sent back to the payer: Dr unapplied_cash / Cr cash, and the payment no longer waits."""
    assert isinstance(uow, RemittanceUnitOfWork)
    posting = await uow.postings.get(item.subject_id)
    if posting.unapplied != UNAPPLIED_WAITING:
        raise _problem("body.action", "the payment is no longer waiting in unapplied cash", 409,
                       "unapplied-cash-not-waiting")
    entry = transfer("unapplied_returned", posting.payer_claim_number or posting.patient_control_number,
                     UNAPPLIED_CASH, CASH, posting.paid, None, posting.claim_status_code, "returned to the payer")
    await uow.postings.write_entries(item.practice_id, posting.posting_id, [entry] if entry else [])
    await uow.postings.set_unapplied(posting.posting_id, UNAPPLIED_RESOLVED, {
        **posting.detail, "returned_to_payer": {"by": principal.subject, "reference": reference}})


async def plb_tied(uow: UnitOfWork, item: WorkItem, code: str, reference: str | None,
                   principal: Principal) -> None:
    """A person ties a recoupment to the claim it recovers from (``tied_to_claim``, reference the claim's id): the
    PLB's journal lines carry the claim from then on. ``not_claim_specific``: it stays on no claim."""
    assert isinstance(uow, RemittanceUnitOfWork)
    if code != "tied_to_claim":
        return
    if reference is None:
        raise _problem("body.reference", "tied_to_claim needs the claim's id")
    if await uow.claim_copies.by_claim_id(item.practice_id, reference) is None:
        raise _problem("body.reference", "no submitted claim of this practice has that id")
    row = (await uow.session.execute(select(plb_recoupments).where(
        plb_recoupments.c.practice_id == item.practice_id, plb_recoupments.c.plb_id == item.subject_id))).one()
    await uow.session.execute(update(plb_recoupments).where(plb_recoupments.c.plb_id == row.plb_id).values(
        claim_id=reference, tied_by=principal.subject))
    await uow.session.execute(update(journal).where(
        journal.c.practice_id == item.practice_id, journal.c.entry_id == row.entry_id).values(claim_id=reference))


def queues(rules: Rulebook) -> dict[str, WorkQueue]:
    """Every queue remittance owns, with the codes a person may close its items with and what closing does."""
    found: dict[str, WorkQueue] = {}
    for block in rules.denials.routing:
        for rule in block.rules:
            found[rule.queue] = WorkQueue(rule.queue, DENIAL_OUTCOMES, POLICY, denial_outcome)
    for pattern in rules.denials.patterns:
        found[pattern.queue] = WorkQueue(pattern.queue, JOINT_REVIEW_OUTCOMES, POLICY)
    decisions = frozenset(d for block in rules.duplicate_payments for d in block.decisions)
    found[EXCEPTIONS] = WorkQueue(EXCEPTIONS, decisions | TRANSACTION_EXCEPTION_OUTCOMES, POLICY,
                                  exception_outcome(rules))
    found[UNAPPLIED] = WorkQueue(UNAPPLIED, UNAPPLIED_OUTCOMES, POLICY, unapplied_outcome(rules))
    found[PLB_QUEUE] = WorkQueue(PLB_QUEUE, PLB_OUTCOMES, POLICY, plb_tied)
    from remittance.service_layer.appeals import APPEALS, record_decision  # appeals close denials' items

    found[APPEALS] = WorkQueue(APPEALS, frozenset(OUTCOMES), POLICY, record_decision)
    return found
