"""Reads: SQL over the journal and its open items, never through the aggregates. Amounts leave as Decimal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from rcm_shared.db.types import from_cents
from sqlalchemy import case, func, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from patient_billing.adapters.orm import (
    accounts,
    credits,
    entries,
    lines,
    members,
    open_items,
    payments,
    pending_insurance,
    posting_order,
)
from patient_billing.adapters.orm import income_assessments as income_assessments_table
from patient_billing.domain.ledger import AGING_BUCKETS, Ledger

ENTRY_LIMIT = 200


async def account_id_for(session: AsyncSession, practice_id: str, patient_id: str, on: date) -> str | None:
    return (await session.execute(
        select(members.c.account_id).where(
            members.c.practice_id == practice_id, members.c.patient_id == patient_id, members.c.effective_from <= on,
            (members.c.effective_to.is_(None)) | (members.c.effective_to >= on))
        .order_by(members.c.effective_from.desc()).limit(1))).scalar()


async def account(session: AsyncSession, practice_id: str, account_id: str, today: date) -> dict[str, Any] | None:
    """One responsible party's account: balance, what is due now and what waits for a payer, aging, the newest
    entries with their lines and the reasons (CARC) behind assessed amounts."""
    row = (await session.execute(select(accounts).where(
        accounts.c.practice_id == practice_id, accounts.c.account_id == account_id))).first()
    if row is None:
        return None
    items, credit_rows = await _items_and_credits(session, account_id)
    pending = {(p.patient_id, p.service_date) for p in (await session.execute(
        select(pending_insurance).where(pending_insurance.c.account_id == account_id))).all()}
    member_rows = (await session.execute(select(members).where(members.c.account_id == account_id)
                                         .order_by(members.c.effective_from, members.c.patient_id))).all()
    entry_rows = (await session.execute(select(entries).where(entries.c.account_id == account_id)
                                        .order_by(entries.c.posted_at.desc(), posting_order().desc())
                                        .limit(ENTRY_LIMIT))).all()
    entry_ids = [e.entry_id for e in entry_rows]
    line_rows = (await session.execute(select(lines).where(lines.c.entry_id.in_(entry_ids))
                                       .order_by(lines.c.line_id))).all() if entry_ids else []
    by_entry: dict[str, list[Any]] = {}
    for line in line_rows:
        by_entry.setdefault(line.entry_id, []).append(line)
    open_total = sum(i.open_cents for i in items)
    unapplied = sum(c.remaining_cents for c in credit_rows)
    balance = open_total - unapplied  # from one statement: never half before and half after a concurrent posting
    held = sum(i.open_cents for i in items if (i.patient_id, i.service_date) in pending)
    waiting = sum(c.remaining_cents for c in credit_rows
                  if c.for_patient_id and (c.for_patient_id, c.for_service_date) in pending)
    aging = {name: 0 for name, _, _ in AGING_BUCKETS}
    for item in items:
        aging[_bucket((today - item.service_date).days)] += item.open_cents
    if unapplied:
        aging["credit"] = -unapplied
    return {
        "account_id": row.account_id, "guarantor_id": row.guarantor_id, "kind": row.kind,
        "patient_id": row.guarantor_id,
        "members": [{"patient_id": m.patient_id, "relationship": m.relationship, "effective_from": m.effective_from,
                     "effective_to": m.effective_to} for m in member_rows],
        "balance": from_cents(balance),
        "amount_due": from_cents(max(0, balance - held)),
        "held_pending_insurance": from_cents(held),
        "credit_balance": from_cents(unapplied),
        "refund_due": from_cents(max(0, unapplied - waiting) if open_total == 0 else 0),
        "aging": {k: from_cents(v) for k, v in aging.items()},
        "open_items": [_item(i, pending) for i in sorted(items, key=lambda i: (i.service_date, i.item_id))],
        "entries": [_entry(e, by_entry.get(e.entry_id, []), account_id) for e in reversed(entry_rows)],
    }


@dataclass(frozen=True)
class _ItemRow:
    item_id: str
    patient_id: str
    service_date: date
    kind: str
    amount_cents: int
    open_cents: int
    visit_id: str | None
    claim_id: str | None


@dataclass(frozen=True)
class _CreditRow:
    remaining_cents: int
    for_patient_id: str | None
    for_service_date: date | None


async def _items_and_credits(session: AsyncSession, account_id: str) -> tuple[list[_ItemRow], list[_CreditRow]]:
    """An account's open items and unapplied credits read by one statement (one snapshot of both)."""
    item_q = select(literal("i").label("row_type"), open_items.c.item_id.label("id"), open_items.c.patient_id,
                    open_items.c.service_date.label("day"), open_items.c.kind, open_items.c.amount_cents,
                    open_items.c.open_cents.label("cents"), open_items.c.visit_id, open_items.c.claim_id,
                    null().label("for_patient_id"), null().label("for_service_date")
                    ).where(open_items.c.account_id == account_id)
    credit_q = select(literal("c").label("row_type"), credits.c.credit_id, credits.c.patient_id, credits.c.received_on,
                      literal("credit"), credits.c.remaining_cents, credits.c.remaining_cents, null(), null(),
                      credits.c.for_patient_id, credits.c.for_service_date).where(credits.c.account_id == account_id)
    rows = (await session.execute(union_all(item_q, credit_q))).all()
    items = [_ItemRow(r.id, r.patient_id, r.day, r.kind, int(r.amount_cents), int(r.cents), r.visit_id, r.claim_id)
             for r in rows if r.row_type == "i"]
    found = [_CreditRow(int(r.cents), r.for_patient_id, r.for_service_date) for r in rows if r.row_type == "c"]
    return items, found


def _item(i: Any, pending: set[tuple[str, date]]) -> dict[str, Any]:
    return {"item_id": i.item_id, "patient_id": i.patient_id, "service_date": i.service_date, "kind": i.kind,
            "amount": from_cents(i.amount_cents), "open": from_cents(i.open_cents), "visit_id": i.visit_id,
            "claim_id": i.claim_id, "pending_insurance": (i.patient_id, i.service_date) in pending}


def _entry(e: Any, entry_lines: list[Any], account_id: str) -> dict[str, Any]:
    change = sum(ln.debit_cents - ln.credit_cents for ln in entry_lines
                 if ln.ledger == Ledger.PATIENT_AR.value and ln.account_id == account_id)
    return {
        "entry_id": e.entry_id, "kind": e.kind, "amount": from_cents(abs(change)), "signed_amount": from_cents(change),
        "effective_date": e.effective_date, "service_date": e.effective_date, "posted_at": e.posted_at,
        "patient_id": e.patient_id, "visit_id": e.visit_id, "claim_id": e.claim_id,
        "reverses_entry_id": e.reverses_entry_id,
        "reasons": [{"category": r["category"], "carc": r["carc"], "amount": from_cents(r["amount_cents"]),
                     "explanation": r["explanation"]} for r in e.reasons or []],
        "lines": [{"ledger": ln.ledger, "account_id": ln.account_id, "debit": from_cents(ln.debit_cents),
                   "credit": from_cents(ln.credit_cents)} for ln in entry_lines],
        "detail": e.detail or {},
    }


async def accounts_page(session: AsyncSession, practice_id: str, *, min_balance_cents: int, after: str | None,
                        limit: int) -> tuple[list[dict[str, Any]], bool]:
    query = (select(accounts).where(accounts.c.practice_id == practice_id,
                                    accounts.c.balance_cents >= min_balance_cents)
             .order_by(accounts.c.account_id).limit(limit + 1))
    if after:
        query = query.where(accounts.c.account_id > after)
    rows = (await session.execute(query)).all()
    return [{"account_id": r.account_id, "guarantor_id": r.guarantor_id, "patient_id": r.guarantor_id,
             "kind": r.kind, "balance": from_cents(r.balance_cents), "updated_at": r.updated_at}
            for r in rows[:limit]], len(rows) > limit


async def ledger_entries(session: AsyncSession, practice_id: str, account_id: str, *, after: str | None,
                         limit: int) -> tuple[list[dict[str, Any]], bool]:
    """An account's journal, oldest first, a page at a time (by entry id order within posting time)."""
    query = (select(entries).where(entries.c.practice_id == practice_id, entries.c.account_id == account_id)
             .order_by(entries.c.entry_id).limit(limit + 1))
    if after:
        query = query.where(entries.c.entry_id > after)
    rows = (await session.execute(query)).all()
    ids = [r.entry_id for r in rows[:limit]]
    line_rows = (await session.execute(select(lines).where(lines.c.entry_id.in_(ids))
                                       .order_by(lines.c.line_id))).all() if ids else []
    by_entry: dict[str, list[Any]] = {}
    for line in line_rows:
        by_entry.setdefault(line.entry_id, []).append(line)
    return [_entry(r, by_entry.get(r.entry_id, []), account_id) for r in rows[:limit]], len(rows) > limit


def _bucket(days: int) -> str:
    for name, _, high in AGING_BUCKETS:
        if high is None or days <= high:
            return name
    raise AssertionError("the last bucket is open-ended")


def _bucket_sql(today: date) -> Any:
    whens = [(open_items.c.service_date >= today - timedelta(days=high), name)
             for name, _, high in AGING_BUCKETS if high is not None]
    return case(*whens, else_=literal(AGING_BUCKETS[-1][0]))


async def aging(session: AsyncSession, practice_id: str, today: date, by: str) -> dict[str, Any]:
    """What responsible parties owe a practice by age (days since service), for the practice or by program or
    clinician; unapplied credit shown apart. One grouped read of the open items, however long the journal."""
    bucket = _bucket_sql(today).label("bucket")
    group = {"practice": literal("all"), "program": func.coalesce(open_items.c.program, "(none)"),
             "clinician": func.coalesce(open_items.c.clinician, "(none)")}[by].label("grp")
    rows = (await session.execute(
        select(group, bucket, func.sum(open_items.c.open_cents).label("cents"))
        .where(open_items.c.practice_id == practice_id).group_by(group, bucket))).all()
    credit = (await session.execute(select(func.coalesce(func.sum(credits.c.remaining_cents), 0)).where(
        credits.c.practice_id == practice_id))).scalar_one()
    groups: dict[str, dict[str, int]] = {}
    for row in rows:
        groups.setdefault(row.grp, {name: 0 for name, _, _ in AGING_BUCKETS})[row.bucket] += int(row.cents)
    totals = {name: sum(g[name] for g in groups.values()) for name, _, _ in AGING_BUCKETS}
    return {
        "as_of": today, "by": by,
        "groups": [{"key": key, "buckets": {k: from_cents(v) for k, v in b.items()},
                    "total": from_cents(sum(b.values()))} for key, b in sorted(groups.items())],
        "totals": {k: from_cents(v) for k, v in totals.items()},
        "open": from_cents(sum(totals.values())),
        "unapplied_credit": from_cents(int(credit)),
    }


async def balances(session: AsyncSession, practice_id: str) -> dict[str, Any]:
    """The practice's patient A/R from the accounts: owed, owed back, and how many accounts are each."""
    owed, owed_back, debtors, creditors = (await session.execute(select(
        func.coalesce(func.sum(case((accounts.c.balance_cents > 0, accounts.c.balance_cents), else_=0)), 0),
        func.coalesce(func.sum(case((accounts.c.balance_cents < 0, -accounts.c.balance_cents), else_=0)), 0),
        func.count().filter(accounts.c.balance_cents > 0), func.count().filter(accounts.c.balance_cents < 0))
        .where(accounts.c.practice_id == practice_id))).one()
    return {"owed": from_cents(int(owed)), "owed_back": from_cents(int(owed_back)), "accounts_owing": debtors,
            "accounts_in_credit": creditors, "net": from_cents(int(owed) - int(owed_back))}


async def trial_balance(session: AsyncSession, practice_id: str) -> dict[str, Any]:
    """Balances per ledger (debit positive); debits always equal credits, and the patient A/R ledger equals the sum
    of the accounts' balances and of their open items less unapplied credits (the sub-ledger agrees)."""
    rows = (await session.execute(
        select(lines.c.ledger, func.sum(lines.c.debit_cents).label("d"), func.sum(lines.c.credit_cents).label("c"))
        .where(lines.c.practice_id == practice_id).group_by(lines.c.ledger))).all()
    sums = {r.ledger: (int(r.d), int(r.c)) for r in rows}
    debits = sum(d for d, _ in sums.values())
    credits_total = sum(c for _, c in sums.values())
    ar = sums.get(Ledger.PATIENT_AR.value, (0, 0))
    accounts_total = int((await session.execute(select(func.coalesce(func.sum(accounts.c.balance_cents), 0))
                                                 .where(accounts.c.practice_id == practice_id))).scalar_one())
    items_total = int((await session.execute(select(func.coalesce(func.sum(open_items.c.open_cents), 0))
                                              .where(open_items.c.practice_id == practice_id))).scalar_one())
    credit_total = int((await session.execute(select(func.coalesce(func.sum(credits.c.remaining_cents), 0))
                                               .where(credits.c.practice_id == practice_id))).scalar_one())
    paid = (await session.execute(select(func.coalesce(func.sum(payments.c.amount_cents), 0),
                                         func.coalesce(func.sum(payments.c.refunded_cents), 0))
                                  .where(payments.c.practice_id == practice_id))).one()
    return {
        "accounts": {ledger.value: {"debits": from_cents(sums.get(ledger.value, (0, 0))[0]),
                                    "credits": from_cents(sums.get(ledger.value, (0, 0))[1]),
                                    "balance": from_cents(sums.get(ledger.value, (0, 0))[0]
                                                          - sums.get(ledger.value, (0, 0))[1])}
                     for ledger in Ledger},
        "total_debits": from_cents(debits), "total_credits": from_cents(credits_total),
        "balanced": debits == credits_total,
        "patient_ar": from_cents(ar[0] - ar[1]),
        "sub_ledger": {"accounts": from_cents(accounts_total), "open_items_less_credits":
                       from_cents(items_total - credit_total)},
        "sub_ledger_agrees": ar[0] - ar[1] == accounts_total == items_total - credit_total,
        "payments": {"received": from_cents(int(paid[0])), "refunded": from_cents(int(paid[1]))},
    }


async def refund_work_items(session: AsyncSession, practice_id: str) -> list[dict[str, Any]]:
    """Accounts in credit with nothing open and no copay waiting for a payer: money to give back."""
    waiting = (select(credits.c.account_id, func.sum(credits.c.remaining_cents).label("cents"))
               .join(pending_insurance, (pending_insurance.c.practice_id == credits.c.practice_id)
                     & (pending_insurance.c.patient_id == credits.c.for_patient_id)
                     & (pending_insurance.c.service_date == credits.c.for_service_date))
               .where(credits.c.practice_id == practice_id).group_by(credits.c.account_id).subquery())
    has_open = select(open_items.c.item_id).where(open_items.c.account_id == accounts.c.account_id).exists()
    rows = (await session.execute(
        select(accounts.c.account_id, accounts.c.guarantor_id, accounts.c.balance_cents,
               func.coalesce(waiting.c.cents, 0).label("waiting"))
        .outerjoin(waiting, waiting.c.account_id == accounts.c.account_id)
        .where(accounts.c.practice_id == practice_id, accounts.c.balance_cents < 0, ~has_open)
        .order_by(accounts.c.account_id))).all()
    return [{"account_id": r.account_id, "guarantor_id": r.guarantor_id,
             "refund_due": from_cents(-r.balance_cents - int(r.waiting)), "work": "refund the credit balance"}
            for r in rows if -r.balance_cents - int(r.waiting) > 0]


async def income_assessments(session: AsyncSession, practice_id: str, patient_id: str, today: date
                             ) -> list[dict[str, Any]]:
    """A patient's sliding-scale assessments, newest proof first, with whether each covers today."""
    rows = (await session.execute(select(income_assessments_table).where(
        income_assessments_table.c.practice_id == practice_id, income_assessments_table.c.patient_id == patient_id)
        .order_by(income_assessments_table.c.proof_received_on.desc()))).all()
    return [{"assessment_id": r.assessment_id, "household_size": r.household_size,
             "annual_income": from_cents(r.annual_income_cents), "proof_received_on": r.proof_received_on,
             "proof_expires_on": r.proof_expires_on, "tier": r.tier, "percent_of_fee": r.percent_of_fee,
             "policy_id": r.policy_id, "in_force_today": r.proof_received_on <= today <= r.proof_expires_on}
            for r in rows]


async def reassessments_due(session: AsyncSession, practice_id: str, today: date, within_days: int
                            ) -> list[dict[str, Any]]:
    """Patients whose latest proof of income has expired (full fee until re-assessed) or expires within
    ``within_days``."""
    latest = (select(income_assessments_table.c.patient_id,
                     func.max(income_assessments_table.c.proof_expires_on).label("expires"))
              .where(income_assessments_table.c.practice_id == practice_id)
              .group_by(income_assessments_table.c.patient_id).subquery())
    rows = (await session.execute(select(latest).where(latest.c.expires <= today + timedelta(days=within_days))
                                  .order_by(latest.c.expires, latest.c.patient_id))).all()
    return [{"patient_id": r.patient_id, "proof_expires_on": r.expires, "expired": r.expires < today} for r in rows]


async def visit_entries(session: AsyncSession, practice_id: str, visit_id: str) -> list[dict[str, Any]]:
    """What a visit put on the ledger (charge, fee, sliding-scale adjustment, their reversals), oldest first."""
    rows = (await session.execute(select(entries).where(entries.c.practice_id == practice_id,
                                                        entries.c.visit_id == visit_id)
                                  .order_by(entries.c.posted_at, posting_order()))).all()
    ids = [r.entry_id for r in rows]
    line_rows = (await session.execute(select(lines).where(lines.c.entry_id.in_(ids))
                                       .order_by(lines.c.line_id))).all() if ids else []
    by_entry: dict[str, list[Any]] = {}
    for line in line_rows:
        by_entry.setdefault(line.entry_id, []).append(line)
    return [_entry(r, by_entry.get(r.entry_id, []), r.account_id) for r in rows]
