"""Reads behind patient billing's FHIR API: one practice's responsible-party accounts as Account and the entries
that bill them as Invoice (built by ``edi.fhir``). Offset pages."""

from __future__ import annotations

from typing import Any

from rcm_shared.db.database import Database
from rcm_shared.fhir.api import DateRange
from rcm_shared.fhir.queries import on_days, page
from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from patient_billing.adapters.orm import accounts, entries, lines, members, open_items
from patient_billing.domain.ledger import Ledger
from patient_billing.edi import fhir

INVOICE_STATUSES = ("issued", "balanced", "cancelled")


async def _members(session: AsyncSession, account_ids: list[str]) -> dict[str, list[Any]]:
    if not account_ids:
        return {}
    rows = (await session.execute(select(members.c.account_id, members.c.patient_id, members.c.effective_from,
                                         members.c.effective_to).where(members.c.account_id.in_(account_ids))
                                  .order_by(members.c.effective_from))).all()
    out: dict[str, list[Any]] = {}
    for r in rows:
        out.setdefault(r.account_id, []).append((r.patient_id, r.effective_from, r.effective_to))
    return out


def _patient_filter(practice_id: str, patient_id: str) -> Any:
    """Accounts a patient belongs to (any time), or that the patient guarantees."""
    return or_(accounts.c.guarantor_id == patient_id, accounts.c.account_id.in_(
        select(members.c.account_id).where(members.c.practice_id == practice_id,
                                           members.c.patient_id == patient_id)))


async def accounts_page(db: Database, practice_id: str, *, patient_id: str | None, status: str | None,
                        offset: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
    if status == "inactive":  # accounts are never closed here
        return [], False
    query = select(accounts).where(accounts.c.practice_id == practice_id)
    if patient_id is not None:
        query = query.where(_patient_filter(practice_id, patient_id))
    async with db.sessions() as session:
        rows, more = await page(session, query.order_by(accounts.c.account_id), offset=offset, limit=limit)
        return await _accounts(session, rows), more


async def _accounts(session: AsyncSession, rows: list[Any]) -> list[dict[str, Any]]:
    patients = await _members(session, [r.account_id for r in rows])
    return [fhir.account(account_id=r.account_id, guarantor_id=r.guarantor_id, kind=r.kind,
                         balance_cents=int(r.balance_cents), updated_at=r.updated_at,
                         patients=patients.get(r.account_id, [])) for r in rows]


async def account(db: Database, practice_id: str, account_id: str) -> dict[str, Any] | None:
    async with db.sessions() as session:
        row = (await session.execute(select(accounts).where(accounts.c.practice_id == practice_id,
                                                            accounts.c.account_id == account_id))).first()
        found = await _accounts(session, [row] if row is not None else [])
    return found[0] if found else None


def _invoice_query(practice_id: str) -> Any:
    """Entries that billed a responsible party (what they put on patient A/R is positive), with what is still
    open on them and whether they were reversed."""
    e = entries.c
    billed = (select(func.coalesce(func.sum(lines.c.debit_cents - lines.c.credit_cents), 0))
              .where(lines.c.entry_id == e.entry_id, lines.c.ledger == Ledger.PATIENT_AR.value)
              .scalar_subquery())
    still_open = (select(func.sum(open_items.c.open_cents)).where(open_items.c.item_id == e.entry_id)
                  .scalar_subquery())
    reversal = entries.alias("reversal")
    was_reversed = exists().where(reversal.c.reverses_entry_id == e.entry_id)
    return (select(e.entry_id, e.kind, e.account_id, e.patient_id, e.claim_id, e.effective_date, e.posted_at,
                   e.reasons, e.detail, billed.label("amount_cents"), still_open.label("open_cents"),
                   was_reversed.label("reversed"), accounts.c.guarantor_id)
            .select_from(entries.join(accounts, accounts.c.account_id == e.account_id))
            .where(e.practice_id == practice_id, e.kind.in_(fhir.INVOICED), e.reverses_entry_id.is_(None),
                   billed > 0)), billed, still_open, was_reversed


async def _invoices(session: AsyncSession, practice_id: str, rows: list[Any]) -> list[dict[str, Any]]:
    if not rows:
        return []
    ids = [r.entry_id for r in rows]
    adjustments = (await session.execute(select(entries.c.detail, entries.c.entry_id).where(
        entries.c.practice_id == practice_id, entries.c.kind == "adjustment",
        entries.c.detail["item_id"].as_string().in_(ids))
        .order_by(entries.c.posted_at))).all()
    adjustment_ids = [a.entry_id for a in adjustments]
    amounts = dict((await session.execute(select(lines.c.entry_id, func.sum(lines.c.credit_cents - lines.c.debit_cents))
                                          .where(lines.c.entry_id.in_(adjustment_ids),
                                                 lines.c.ledger == Ledger.PATIENT_AR.value)
                                          .group_by(lines.c.entry_id))).all()) if adjustment_ids else {}
    discounts: dict[str, list[tuple[int, str]]] = {}
    for a in adjustments:
        discounts.setdefault(a.detail["item_id"], []).append((int(amounts.get(a.entry_id) or 0),
                                                              str(a.detail.get("reason") or "adjustment")))
    patients = await _members(session, list({r.account_id for r in rows}))
    return [fhir.invoice(
        entry_id=r.entry_id, kind=r.kind, account_id=r.account_id, guarantor_id=r.guarantor_id,
        account_patients={p for p, _, _ in patients.get(r.account_id, [])}, patient_id=r.patient_id,
        service_date=r.effective_date, posted_at=r.posted_at, amount_cents=int(r.amount_cents),
        reasons=list(r.reasons or []), detail=r.detail or {}, discounts=discounts.get(r.entry_id, []),
        status=fhir.invoice_status(reversed_=bool(r.reversed), open_cents=int(r.open_cents or 0)),
        claim_id=r.claim_id) for r in rows]


async def invoices_page(db: Database, practice_id: str, *, patient_id: str | None, created: DateRange | None,
                        status: str | None, account_id: str | None, offset: int,
                        limit: int) -> tuple[list[dict[str, Any]], bool]:
    query, _, still_open, was_reversed = _invoice_query(practice_id)
    query = query.where(*on_days(entries.c.posted_at, created))
    if patient_id is not None:
        query = query.where(entries.c.patient_id == patient_id)
    if account_id is not None:
        query = query.where(entries.c.account_id == account_id)
    if status == "cancelled":
        query = query.where(was_reversed)
    elif status == "issued":
        query = query.where(~was_reversed, func.coalesce(still_open, 0) > 0)
    elif status == "balanced":
        query = query.where(~was_reversed, func.coalesce(still_open, 0) == 0)
    async with db.sessions() as session:
        rows, more = await page(session, query.order_by(entries.c.posted_at.desc(), entries.c.entry_id),
                                offset=offset, limit=limit)
        return await _invoices(session, practice_id, rows), more


async def invoice(db: Database, practice_id: str, entry_id: str) -> dict[str, Any] | None:
    query, *_ = _invoice_query(practice_id)
    async with db.sessions() as session:
        row = (await session.execute(query.where(entries.c.entry_id == entry_id))).first()
        found = await _invoices(session, practice_id, [row] if row is not None else [])
    return found[0] if found else None
