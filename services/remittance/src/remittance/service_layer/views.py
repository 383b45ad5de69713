"""Read side of remittance: work queues, reports and the books, straight from the tables (no aggregates).

Each function takes the session (the caller owns the transaction, and audits in it) and returns plain
dicts or a ``Page`` ready for the response.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from rcm_shared.http.pagination import encode_cursor
from sqlalchemy import bindparam, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from remittance.adapters.orm import (
    claim_postings,
    denials,
    era_exceptions,
    era_payments,
    eras,
    journal,
    plb_recoupments,
    submitted_claims,
    underpayments,
    work_item_tables,
)
from remittance.domain.model import REVERSAL_STATUS
from remittance.domain.posting import PATIENT_RESPONSIBILITY_TRANSFERRED, SECONDARY_PAYER_AR
from remittance.domain.rulebook import Rulebook
from remittance.domain.secondary_balances import HeldBalance, Movement, follow_up_on

CENT = Decimal("0.01")
CHUNK = 1000  # ids per IN (...) lookup


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"items": self.items, "next_cursor": self.next_cursor}


def _among(column: Any, values: list[str]) -> Any:
    # Values written into the statement, as in the repositories: no generic plan for a thousand parameters.
    return column.in_(bindparam("values", values, expanding=True, literal_execute=True))


async def eras_received(session: AsyncSession, practice_id: str, limit: int) -> list[dict[str, Any]]:
    rows = (await session.execute(select(eras.c.era_id, eras.c.status, eras.c.file_name, eras.c.received_via,
                                         eras.c.received_at, eras.c.summary).where(
        eras.c.practice_id == practice_id).order_by(eras.c.received_at.desc()).limit(limit))).all()
    return [dict(r._mapping) for r in rows]


async def era_detail(session: AsyncSession, practice_id: str, era_id: str) -> dict[str, Any] | None:
    """An ERA's status, totals and claim postings; None when this practice holds no such ERA."""
    row = (await session.execute(select(eras.c.era_id, eras.c.status, eras.c.received_at, eras.c.processed_at,
                                        eras.c.summary, eras.c.size_bytes, eras.c.received_via).where(
        eras.c.era_id == era_id, eras.c.practice_id == practice_id))).first()
    if row is None:
        return None
    postings = (await session.execute(select(claim_postings).where(claim_postings.c.era_id == era_id,
                                      claim_postings.c.practice_id == practice_id))).all()
    return {**dict(row._mapping), "postings": [
        {"posting_id": p.posting_id, "claim_id": p.claim_id, "patient_control_number": p.patient_control_number,
         "claim_status_code": p.claim_status_code, "charge": p.charge, "paid": p.paid,
         "patient_responsibility": p.patient_responsibility, "unapplied": p.unapplied in (1, 2),
         "held_as_duplicate": p.unapplied in (3, 4), **p.detail}
        for p in postings]}


async def era_exception_queue(session: AsyncSession, practice_id: str, status: str) -> list[dict[str, Any]]:
    rows = (await session.execute(select(era_exceptions).where(
        era_exceptions.c.practice_id == practice_id, era_exceptions.c.status == status)
        .order_by(era_exceptions.c.raised_at.desc()).limit(500))).all()
    return [dict(r._mapping) for r in rows]


async def denial_queue(session: AsyncSession, practice_id: str, *, status: str, queue: str | None,
                       category: str | None, limit: int, after: dict[str, Any] | None) -> Page:
    """Denials by denial id (keyset); each item a row with ``pattern_alert`` as a bool."""
    query = select(denials).where(denials.c.practice_id == practice_id, denials.c.status == status)
    if queue:  # the first queue routed to (the row's), or any other the routing reached (its work items)
        queued = work_item_tables.items
        query = query.where(or_(denials.c.queue == queue, exists().where(
            queued.c.practice_id == practice_id, queued.c.subject_type == "denial",
            queued.c.subject_id == denials.c.denial_id, queued.c.queue == queue)))
    if category:
        query = query.where(denials.c.category == category)
    if after:
        query = query.where(denials.c.denial_id > str(after.get("denial_id", "")))
    rows = (await session.execute(query.order_by(denials.c.denial_id).limit(limit + 1))).all()
    items = [{**dict(r._mapping), "pattern_alert": bool(r.pattern_alert)} for r in rows[:limit]]
    return Page(items, encode_cursor({"denial_id": items[-1]["denial_id"]}) if len(rows) > limit else None)


async def unapplied_cash(session: AsyncSession, practice_id: str) -> list[dict[str, Any]]:
    rows = (await session.execute(select(claim_postings).where(
        claim_postings.c.practice_id == practice_id, claim_postings.c.unapplied == 1)
        .order_by(claim_postings.c.posted_at.desc()).limit(500))).all()
    return [{"posting_id": r.posting_id, "era_id": r.era_id, "patient_control_number": r.patient_control_number,
             "paid": str(r.paid), "payer_claim_number": r.payer_claim_number, "posted_at": r.posted_at.isoformat()}
            for r in rows]


async def trial_balance(session: AsyncSession, practice_id: str) -> dict[str, Any]:
    """Balances per account. ``patient_responsibility_transferred``: what was handed to patient-billing (the one
    owner of patient A/R), net of reversals: the number patient-billing's assessed total must equal."""
    rows = (await session.execute(select(journal.c.account, func.sum(journal.c.debit), func.sum(journal.c.credit))
                                  .where(journal.c.practice_id == practice_id).group_by(journal.c.account))).all()
    # SUM keeps the Cents column type, so the database's integer cents come back as Decimal amounts.
    accounts = {}
    total_debits = total_credits = Decimal("0.00")
    for account, debit, credit in rows:
        debit, credit = Decimal(debit or 0), Decimal(credit or 0)
        accounts[account] = {"debits": str(debit), "credits": str(credit), "balance": str(debit - credit)}
        total_debits += debit
        total_credits += credit
    transferred = accounts.get(PATIENT_RESPONSIBILITY_TRANSFERRED, {}).get("balance", "0.00")
    return {"accounts": accounts, "total_debits": str(total_debits),
            "total_credits": str(total_credits), "balanced": total_debits == total_credits,
            "patient_responsibility_transferred": transferred}


async def denial_report(session: AsyncSession, practice_id: str) -> dict[str, Any]:
    report: dict[str, Any] = {}
    for name, column in (("category", denials.c.category), ("payer", denials.c.payer_id),
                         ("procedure_code", denials.c.procedure_code), ("clinician", denials.c.rendering_npi),
                         ("program", denials.c.program)):
        rows = (await session.execute(select(column, func.count(), func.sum(denials.c.amount)).where(
            denials.c.practice_id == practice_id).group_by(column))).all()
        report[f"by_{name}"] = [{"key": k, "count": c, "amount": str(a or 0)} for k, c, a in rows]
    posted = (await session.execute(select(func.count()).select_from(claim_postings).where(
        claim_postings.c.practice_id == practice_id, claim_postings.c.unapplied == 0))).scalar_one()
    denied = (await session.execute(select(func.count(func.distinct(denials.c.claim_id))).where(
        denials.c.practice_id == practice_id))).scalar_one()
    report["claims_posted"] = posted
    report["claims_with_denials"] = denied
    report["denial_rate"] = str(round(Decimal(denied) / Decimal(posted), 4)) if posted else None
    return report


async def underpayment_queue(session: AsyncSession, practice_id: str, status: str) -> list[dict[str, Any]]:
    rows = (await session.execute(select(underpayments).where(
        underpayments.c.practice_id == practice_id, underpayments.c.status == status)
        .order_by(underpayments.c.raised_at.desc()).limit(500))).all()
    return [{**dict(r._mapping), "expected": str(r.expected), "allowed": str(r.allowed),
             "shortfall": str(r.shortfall)} for r in rows]


async def payment_report(session: AsyncSession, practice_id: str) -> dict[str, Any]:
    rows = (await session.execute(select(submitted_claims.c.payer_id, submitted_claims.c.submitted_at,
                                         claim_postings.c.posted_at).join(
        claim_postings, claim_postings.c.claim_id == submitted_claims.c.claim_id).where(
        submitted_claims.c.practice_id == practice_id, claim_postings.c.paid > 0,
        claim_postings.c.unapplied == 0))).all()  # not money held as a duplicate payment
    unapplied = (await session.execute(select(func.count(), func.sum(claim_postings.c.paid)).where(
        claim_postings.c.practice_id == practice_id, claim_postings.c.unapplied == 1))).one()
    exceptions: dict[str, int] = dict((await session.execute(select(era_exceptions.c.kind, func.count()).where(
        era_exceptions.c.practice_id == practice_id, era_exceptions.c.status == "open")
        .group_by(era_exceptions.c.kind))).all())
    days: dict[str, list[float]] = {}
    for payer, submitted_at, posted_at in rows:
        days.setdefault(payer, []).append((posted_at - submitted_at).total_seconds() / 86400)
    return {
        "days_to_payment_by_payer": {payer: {"claims": len(v), "average_days": round(sum(v) / len(v), 1),
                                             "median_days": round(sorted(v)[len(v) // 2], 1)}
                                     for payer, v in days.items()},
        "unmatched_cash": {"count": unapplied[0], "amount": str(unapplied[1] or "0.00")},
        "open_era_exceptions": exceptions,
    }


# --- balances held for a secondary payer (secondary_payer_ar) ---

def _held_claims_query(practice_id: str) -> Any:
    """Claims whose secondary_payer_ar balance is not zero (waiting, short or over-settled), by claim id."""
    return (select(journal.c.claim_id).where(journal.c.practice_id == practice_id,
                                             journal.c.account == SECONDARY_PAYER_AR,
                                             journal.c.claim_id.is_not(None))
            .group_by(journal.c.claim_id).having(func.sum(journal.c.debit) != func.sum(journal.c.credit))
            .order_by(journal.c.claim_id))


async def secondary_balances(session: AsyncSession, practice_id: str, *, as_of: datetime, limit: int,
                             after: dict[str, Any] | None, rules: Rulebook) -> Page:
    """Claims with a balance held for a next payer, by claim id (keyset)."""
    query = _held_claims_query(practice_id)
    if after:
        query = query.where(journal.c.claim_id > str(after.get("claim_id", "")))
    claim_ids = list((await session.execute(query.limit(limit + 1))).scalars())
    items = await _held_balances(session, practice_id, claim_ids[:limit], as_of, rules)
    return Page(items, encode_cursor({"claim_id": claim_ids[limit - 1]}) if len(claim_ids) > limit else None)


async def secondary_balance_report(session: AsyncSession, practice_id: str, *, as_of: datetime,
                                   rules: Rulebook) -> dict[str, Any]:
    """Held balances per crossover carrier, and in all."""
    rule = follow_up_on(rules.secondary_follow_up, as_of.date())
    claim_ids = list((await session.execute(_held_claims_query(practice_id))).scalars())
    by_carrier: dict[tuple[str | None, str | None], dict[str, Any]] = {}
    total = _carrier_totals(None)
    for start in range(0, len(claim_ids), CHUNK):
        for item in await _held_balances(session, practice_id, claim_ids[start:start + CHUNK], as_of, rules):
            carrier = item["crossover_carrier"] or {}
            key = (carrier.get("name"), carrier.get("identifier"))
            for totals in (by_carrier.setdefault(key, _carrier_totals(item["crossover_carrier"])), total):
                totals["claims"] += 1
                totals["held"] += Decimal(item["held"])
                totals["settled"] += Decimal(item["settled"])
                totals["remaining"] += Decimal(item["remaining"])
                totals["stale_claims"] += int(item["stale"])
                totals["stale_remaining"] += Decimal(item["remaining"]) if item["stale"] else 0
                totals["over_settled_claims"] += int(item["state"] == "over")
                totals["oldest_days_waiting"] = max(totals["oldest_days_waiting"], item["days_waiting"])
    carriers = sorted(by_carrier.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or ""))
    return {"as_of": as_of.isoformat(), "stale_after_days": rule.stale_after_days,
            "by_carrier": [_money(t) for _key, t in carriers], "total": _money(total)}


def _carrier_totals(carrier: dict[str, Any] | None) -> dict[str, Any]:
    zero = Decimal("0.00")
    return {"crossover_carrier": carrier, "claims": 0, "held": zero, "settled": zero, "remaining": zero,
            "stale_claims": 0, "stale_remaining": zero, "over_settled_claims": 0, "oldest_days_waiting": 0}


def _money(totals: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v.quantize(CENT)) if isinstance(v, Decimal) else v for k, v in totals.items()}


async def _held_balances(session: AsyncSession, practice_id: str, claim_ids: list[str],
                         as_of: datetime, rules: Rulebook) -> list[dict[str, Any]]:
    """Each claim's held / settled / remaining, from the secondary_payer_ar lines of its postings."""
    if not claim_ids:
        return []
    rule = follow_up_on(rules.secondary_follow_up, as_of.date())
    moved: dict[str, Decimal] = {}
    written: dict[str, int] = {}  # first journal line id: the order postings were written (ties in posted_at)
    for posting_id, debit, credit, first in (await session.execute(
            select(journal.c.posting_id, func.sum(journal.c.debit), func.sum(journal.c.credit),
                   func.min(journal.c.id)).where(
                journal.c.practice_id == practice_id, journal.c.account == SECONDARY_PAYER_AR,
                _among(journal.c.claim_id, claim_ids), journal.c.posting_id.is_not(None))
            .group_by(journal.c.posting_id))).all():
        moved[posting_id] = Decimal(debit or 0) - Decimal(credit or 0)
        written[posting_id] = first
    postings = sorted((await session.execute(select(
        claim_postings.c.posting_id, claim_postings.c.claim_id, claim_postings.c.era_id,
        claim_postings.c.payment_id, claim_postings.c.claim_status_code, claim_postings.c.posted_at,
        claim_postings.c.reversed_by_posting_id, claim_postings.c.detail).where(
        claim_postings.c.practice_id == practice_id, _among(claim_postings.c.posting_id, list(moved))))).all(),
        key=lambda p: written[p.posting_id]) if moved else []
    copies = {r.claim_id: r for r in (await session.execute(select(
        submitted_claims.c.claim_id, submitted_claims.c.patient_control_number, submitted_claims.c.payer_id,
        submitted_claims.c.date_of_service).where(
        submitted_claims.c.practice_id == practice_id, _among(submitted_claims.c.claim_id, claim_ids)))).all()}
    payment_ids = sorted({p.payment_id for p in postings})
    payers = dict((await session.execute(select(era_payments.c.payment_id, era_payments.c.payer_id).where(
        era_payments.c.practice_id == practice_id, _among(era_payments.c.payment_id, payment_ids)))).all()
        ) if payment_ids else {}
    basis = {p.posting_id: (p.detail or {}).get("basis") for p in postings}
    by_claim: dict[str, list[Any]] = defaultdict(list)
    for posting in postings:
        by_claim[posting.claim_id].append(posting)
    items = []
    for claim_id in claim_ids:
        copy = copies.get(claim_id)
        if copy is None:  # a journal line always has its claim copy; nothing to show without one
            continue
        forwarded = rules.posting.coordination_on(copy.date_of_service).forwarded_statuses
        movements: list[Movement] = []
        forwarding: Any = None
        discrepancies: list[str] = []
        for posting in by_claim.get(claim_id, []):
            detail = posting.detail or {}
            reversal = posting.claim_status_code == REVERSAL_STATUS
            # a reversal counts where the posting it reverses counted
            cause_basis = basis.get(detail.get("reverses") or "") if reversal else detail.get("basis")
            settles = cause_basis == "crossover_settlement"
            forwards = not reversal and posting.claim_status_code in forwarded
            movements.append(Movement("settled" if settles else "held", moved[posting.posting_id], forwards))
            if forwards and posting.reversed_by_posting_id is None:
                forwarding = posting
            if settles and not reversal and posting.reversed_by_posting_id is None:
                discrepancies.extend(detail.get("discrepancies") or ())
        since = forwarding or (by_claim[claim_id][0] if by_claim.get(claim_id) else None)
        if since is None:
            continue
        balance = HeldBalance.of(movements, since.posted_at, as_of, rule)
        items.append({
            "claim_id": claim_id, "patient_control_number": copy.patient_control_number,
            "primary_payer_id": copy.payer_id,
            "forwarded_by_payer_id": payers.get(forwarding.payment_id) if forwarding is not None else None,
            "crossover_carrier": (forwarding.detail or {}).get("forwarded_to") if forwarding is not None else None,
            "crossover_posting_id": forwarding.posting_id if forwarding is not None else None,
            "crossover_era_id": forwarding.era_id if forwarding is not None else None,
            "forwarded_at": since.posted_at.isoformat(),
            "held": str(balance.held.quantize(CENT)), "settled": str(balance.settled.quantize(CENT)),
            "remaining": str(balance.remaining.quantize(CENT)), "state": balance.state,
            "days_waiting": balance.days_waiting, "stale": balance.stale,
            "stale_after_days": rule.stale_after_days, "discrepancies": discrepancies,
        })
    return items


async def claim_copies(session: AsyncSession, practice_id: str, claim_ids: list[str]) -> list[dict[str, Any]]:
    """Which of these claims remittance holds a copy of (claim-submitted applied), and since when: what claims'
    reconciliation asks for the claims it submitted."""
    if not claim_ids:
        return []
    rows = await session.execute(
        select(submitted_claims.c.claim_id, submitted_claims.c.submitted_at)
        .where(submitted_claims.c.practice_id == practice_id, _among(submitted_claims.c.claim_id, claim_ids))
        .order_by(submitted_claims.c.claim_id))
    return [{"claim_id": r.claim_id, "submitted_at": r.submitted_at.isoformat()} for r in rows]


async def plb_recoupment_rows(session: AsyncSession, practice_id: str, *, tied: bool | None,
                               limit: int) -> list[dict[str, Any]]:
    query = select(plb_recoupments).where(plb_recoupments.c.practice_id == practice_id)
    if tied is not None:
        query = query.where(plb_recoupments.c.claim_id.is_not(None) if tied else plb_recoupments.c.claim_id.is_(None))
    rows = (await session.execute(query.order_by(plb_recoupments.c.recorded_at.desc(), plb_recoupments.c.plb_id)
                                  .limit(limit))).all()
    return [{k: v for k, v in r._mapping.items() if k not in ("practice_id", "entry_id")} for r in rows]
