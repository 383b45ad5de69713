"""Use cases of appeals: prepare one for a denial (the next level the payer allows, its filing deadline, a work
item in the ``appeals`` queue due on that day, the denial worked to ``appealed`` with the appeal as its link),
mark it filed, record the payer's decision (through the appeal's work item), tie the later 835 payment an
overturn brought to it, and the success rate by payer and category."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rcm_shared.db.types import new_id
from rcm_shared.http.auth import Principal
from rcm_shared.http.errors import ProblemError
from rcm_shared.unit_of_work import UnitOfWork
from rcm_shared.work_items.workflow import WorkItem
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from remittance.adapters.appeal_letter import LetterFacts, render_letter
from remittance.adapters.orm import appeals, claim_postings, denials, submitted_claims
from remittance.domain.appeals import (
    OUTCOMES,
    WON,
    DecidedAppeal,
    NoFurtherAppeal,
    appeal_deadline_state,
    success_rates,
)
from remittance.domain.rulebook import Rulebook
from remittance.service_layer.unit_of_work import RemittanceUnitOfWork
from remittance.service_layer.work_queues import DENIAL, POLICY, close_items

APPEALS = "appeals"
PENDING = ("prepared", "filed")


def _refused(status: int, kind: str, field: str, message: str) -> ProblemError:
    return ProblemError(status, kind, "The appeal cannot be recorded", errors=[
        {"field": field, "code": kind, "message": message}])


@dataclass(frozen=True)
class PrepareAppeal:
    practice_id: str
    denial_id: str
    statement: str | None
    attachments: tuple[str, ...]
    prepared_by: str


async def prepare_appeal(uow: RemittanceUnitOfWork, command: PrepareAppeal, rules: Rulebook, *,
                         now: datetime) -> dict[str, Any]:
    denial = (await uow.session.execute(select(denials).where(
        denials.c.practice_id == command.practice_id, denials.c.denial_id == command.denial_id)
        .with_for_update())).first()
    if denial is None:
        raise ProblemError(404, "not-found", "No such denial")
    if denial.status == "reversed" or (denial.status == "resolved" and denial.resolution_code != "appealed"):
        raise _refused(409, "denial-not-open", "path.denial_id",
                       f"the denial is {denial.status}" + (f" ({denial.resolution_code})"
                                                            if denial.resolution_code else ""))
    earlier = (await uow.session.execute(select(appeals).where(
        appeals.c.practice_id == command.practice_id, appeals.c.denial_id == command.denial_id)
        .order_by(appeals.c.prepared_at))).all()
    if any(a.status in PENDING for a in earlier):
        raise _refused(409, "appeal-pending", "path.denial_id", "an appeal of this denial waits for the payer")
    if any(a.status in WON for a in earlier):
        raise _refused(409, "appeal-won", "path.denial_id", "the payer overturned this denial already")
    upheld = [a for a in earlier if a.status == "upheld"]
    denied_on = denial.raised_at.date()
    try:
        level = rules.appeals.next_level(denial.payer_id, on=denied_on, decided=[a.level for a in upheld])
    except NoFurtherAppeal as exc:
        raise _refused(409, "no-further-appeal", "path.denial_id", str(exc)) from exc
    due_on = level.deadline(denied_on, upheld[-1].decided_on if upheld else None)
    appeal_id = new_id()
    row = dict(appeal_id=appeal_id, practice_id=command.practice_id, denial_id=denial.denial_id,
               claim_id=denial.claim_id, payer_id=denial.payer_id, category=denial.category, level=level.level,
               amount=denial.amount, denied_on=denied_on, due_on=due_on, statement=command.statement,
               attachments=list(command.attachments), status="prepared", prepared_at=now,
               prepared_by=command.prepared_by, filed_on=None, decided_on=None, recovered_posting_id=None,
               recovered_amount=None)
    await uow.session.execute(appeals.insert().values(**row))
    item = WorkItem.open(
        item_id=new_id(), practice_id=command.practice_id, queue=APPEALS, subject_type="appeal",
        subject_id=appeal_id, now=now, actor=command.prepared_by, policy=POLICY, category=denial.category,
        payer_id=(denial.payer_id or "")[:64] or None, clinician_npi=denial.rendering_npi, program=denial.program,
        amount=denial.amount, due_on=due_on, summary=f"{level.level} of denial {denial.denial_id}"[:200],
        detail={"denial_id": denial.denial_id, "level": level.level})
    await uow.work_items.save(item)
    uow.add(item)
    if denial.status == "open":  # the denial's outcome: appealed, linked to this appeal
        await uow.session.execute(update(denials).where(denials.c.denial_id == denial.denial_id).values(
            status="resolved", resolution_code="appealed", resolution_reference=appeal_id, resolved_at=now))
        await close_items(uow, command.practice_id, DENIAL, [denial.denial_id], "appealed", now=now,
                          actor=command.prepared_by, note=f"appeal {appeal_id}")
    return _out(row, now.date())


async def file_appeal(uow: RemittanceUnitOfWork, practice_id: str, appeal_id: str, filed_on: date, actor: str,
                      now: datetime) -> dict[str, Any]:
    """Sent to the payer: the deadline is met (or missed: ``filed_on`` after ``due_on`` is kept as it was); the
    appeal's work item waits on the payer's decision."""
    row = await _appeal(uow.session, practice_id, appeal_id)
    if row.status != "prepared":
        raise _refused(409, "appeal-state", "path.appeal_id", f"the appeal is {row.status}")
    await uow.session.execute(update(appeals).where(appeals.c.appeal_id == appeal_id).values(
        status="filed", filed_on=filed_on))
    item = await uow.work_items.active_for(practice_id, APPEALS, "appeal", appeal_id)
    if item is not None:
        item.wait_on("payer", actor=actor, now=now, note=f"filed on {filed_on.isoformat()}")
        await uow.work_items.save(item)
        uow.add(item)
    return _out({**row._mapping, "status": "filed", "filed_on": filed_on}, now.date())


async def record_decision(uow: UnitOfWork, item: WorkItem, code: str, reference: str | None,
                          principal: Principal) -> None:
    """The kernel's resolution of an appeal's work item: the payer's decision (or a withdrawal) on the appeal."""
    assert isinstance(uow, RemittanceUnitOfWork)
    row = await _appeal(uow.session, item.practice_id, item.subject_id)
    if code not in OUTCOMES:
        raise _refused(422, "unknown-outcome", "body.resolution_code", f"one of {', '.join(OUTCOMES)}")
    if code != "withdrawn" and row.status != "filed":
        raise _refused(409, "appeal-state", "body.resolution_code",
                       f"the appeal is {row.status}: a decision answers a filed appeal")
    if row.status not in PENDING:
        raise _refused(409, "appeal-state", "body.resolution_code", f"the appeal is {row.status} already")
    assert item.resolved_at is not None, "the kernel resolves the item before its effect runs"
    decided = item.resolved_at.date()
    await uow.session.execute(update(appeals).where(appeals.c.appeal_id == row.appeal_id).values(
        status=code, decided_on=decided))


async def recovered_by_payments(uow: RemittanceUnitOfWork, practice_id: str,
                                paid: dict[str, tuple[str, Decimal]]) -> int:
    """Payments just posted on claims whose appeal the payer overturned: the payment is what the appeal
    recovered (it came through the normal 835 path). Returns the appeals tied."""
    if not paid:
        return 0
    won = (await uow.session.execute(select(appeals.c.appeal_id, appeals.c.claim_id).where(
        appeals.c.practice_id == practice_id, appeals.c.claim_id.in_(sorted(paid)),
        appeals.c.status.in_(sorted(WON)), appeals.c.recovered_posting_id.is_(None)))).all()
    for appeal_id, claim_id in won:
        posting_id, amount = paid[claim_id]
        await uow.session.execute(update(appeals).where(appeals.c.appeal_id == appeal_id).values(
            recovered_posting_id=posting_id, recovered_amount=amount))
    return len(won)


async def letter(session: AsyncSession, practice_id: str, appeal_id: str, rules: Rulebook) -> bytes:
    row = await _appeal(session, practice_id, appeal_id)
    denial = (await session.execute(select(denials).where(denials.c.denial_id == row.denial_id))).one()
    claim = (await session.execute(select(submitted_claims).where(
        submitted_claims.c.claim_id == row.claim_id))).first() if row.claim_id else None
    payer_claim_number = (await session.execute(select(claim_postings.c.payer_claim_number).where(
        claim_postings.c.posting_id == denial.posting_id))).scalar() if denial.posting_id else None
    lines = list(claim.lines) if claim is not None else []
    if denial.line_number is not None:
        lines = [ln for ln in lines if int(ln.get("line_number", 0)) == denial.line_number] or lines
    return render_letter(LetterFacts(
        appeal_id=row.appeal_id, level=row.level, prepared_on=row.prepared_at.date(), due_on=row.due_on,
        payer_id=row.payer_id, patient_control_number=claim.patient_control_number if claim else None,
        payer_claim_number=payer_claim_number, date_of_service=claim.date_of_service if claim else None,
        rendering_npi=denial.rendering_npi, lines=lines, category=row.category, group_code=denial.group_code,
        reason_codes=list(denial.reason_codes or []), remark_codes=list(denial.remark_codes or []),
        amount=row.amount, statement=row.statement, attachments=list(row.attachments or [])),
        rules.appeals.letter(row.category))


async def list_appeals(session: AsyncSession, practice_id: str, today: date, *, deadline: str | None,
                       status: str | None, limit: int) -> list[dict[str, Any]]:
    query = select(appeals).where(appeals.c.practice_id == practice_id)
    if status is not None:
        query = query.where(appeals.c.status == status)
    if deadline is not None:  # due / late: not filed yet
        query = query.where(appeals.c.status == "prepared")
    rows = (await session.execute(query.order_by(appeals.c.due_on, appeals.c.appeal_id).limit(2000))).all()
    found = [_out(r._mapping, today) for r in rows]
    if deadline is not None:
        found = [a for a in found if a["deadline"] == deadline]
    return found[:limit]


async def report(session: AsyncSession, practice_id: str) -> dict[str, Any]:
    rows = (await session.execute(select(appeals.c.payer_id, appeals.c.category, appeals.c.status,
                                         appeals.c.amount, appeals.c.recovered_amount).where(
        appeals.c.practice_id == practice_id))).all()
    decided = [DecidedAppeal(r.payer_id or "", r.category, r.status, r.amount) for r in rows
               if r.status in OUTCOMES]
    recovered = sum((r.recovered_amount or Decimal(0) for r in rows), Decimal(0))
    return {"by_payer_and_category": [
        {"payer_id": s.payer_id, "category": s.category, "decided": s.decided, "overturned": s.won,
         "success_rate": str(s.rate), "amount_appealed": str(s.amount_appealed)} for s in success_rates(decided)],
        "pending": sum(1 for r in rows if r.status in PENDING), "recovered": str(recovered)}


async def _appeal(session: AsyncSession, practice_id: str, appeal_id: str) -> Any:
    row = (await session.execute(select(appeals).where(
        appeals.c.practice_id == practice_id, appeals.c.appeal_id == appeal_id))).first()
    if row is None:
        raise ProblemError(404, "not-found", "No such appeal")
    return row


def _out(row: Any, today: date) -> dict[str, Any]:
    data = dict(row)
    return {**{k: v for k, v in data.items() if k not in ("statement", "practice_id")},
            "deadline": appeal_deadline_state(data["due_on"], data.get("filed_on"), today),
            "letter": f"/v1/appeals/{data['appeal_id']}/letter"}
