"""Reads behind remittance's FHIR API: one practice's claim payments posted to their claims as
ExplanationOfBenefit, and its 835 payments as PaymentReconciliation (built by ``edi.fhir``). Offset pages,
newest first."""

from __future__ import annotations

from typing import Any

from rcm_shared.db.database import Database
from rcm_shared.fhir.api import DateRange
from rcm_shared.fhir.queries import on_days, page, within
from sqlalchemy import select

from remittance.adapters.orm import claim_postings, era_payments, submitted_claims
from remittance.adapters.repository import POSTED
from remittance.edi import fhir


def _eob_query(practice_id: str) -> Any:
    """Claim payments posted to a claim copy (not unapplied cash, not a held duplicate), without the reversals
    themselves: a CLP02 22 shows as its original's EOB cancelled."""
    p, s, pay = claim_postings.c, submitted_claims.c, era_payments.c
    return (select(p.posting_id, p.claim_id, p.claim_status_code, p.charge, p.paid, p.patient_responsibility,
                   p.payer_claim_number, p.patient_control_number, p.posted_at, p.detail, p.reversed_by_posting_id,
                   s.patient_id, s.payer_id, s.date_of_service, s.rendering_npi, s.lines, pay.trace_number,
                   pay.payment_date)
            .select_from(claim_postings.join(submitted_claims, s.claim_id == p.claim_id)
                         .outerjoin(era_payments, pay.payment_id == p.payment_id))
            .where(p.practice_id == practice_id, s.practice_id == practice_id, p.unapplied == POSTED,
                   p.claim_status_code != fhir.REVERSAL))


def _eob(row: Any) -> dict[str, Any]:
    return fhir.explanation_of_benefit(
        posting_id=row.posting_id, claim_id=row.claim_id, patient_id=row.patient_id, payer_id=row.payer_id,
        date_of_service=row.date_of_service, rendering_npi=row.rendering_npi, lines=list(row.lines or []),
        claim_status_code=row.claim_status_code, charge=row.charge, paid=row.paid,
        patient_responsibility=row.patient_responsibility, payer_claim_number=row.payer_claim_number,
        patient_control_number=row.patient_control_number, posted_at=row.posted_at, detail=row.detail or {},
        reversed=row.reversed_by_posting_id is not None, trace_number=row.trace_number,
        payment_date=row.payment_date)


async def eobs_page(db: Database, practice_id: str, *, patient_id: str | None, created: DateRange | None,
                    service_date: DateRange | None, status: str | None, claim_id: str | None, offset: int,
                    limit: int) -> tuple[list[dict[str, Any]], bool]:
    p, s = claim_postings.c, submitted_claims.c
    query = _eob_query(practice_id).where(*on_days(p.posted_at, created))
    query = query.where(*within(s.date_of_service, service_date))
    if patient_id is not None:
        query = query.where(s.patient_id == patient_id)
    if claim_id is not None:
        query = query.where(p.claim_id == claim_id)
    if status == "active":
        query = query.where(p.reversed_by_posting_id.is_(None))
    elif status == "cancelled":
        query = query.where(p.reversed_by_posting_id.is_not(None))
    async with db.sessions() as session:
        rows, more = await page(session, query.order_by(p.posted_at.desc(), p.posting_id), offset=offset,
                                limit=limit)
    return [_eob(r) for r in rows], more


async def eob(db: Database, practice_id: str, posting_id: str) -> dict[str, Any] | None:
    async with db.sessions() as session:
        row = (await session.execute(_eob_query(practice_id).where(claim_postings.c.posting_id == posting_id))
               ).first()
    return None if row is None else _eob(row)


async def _reconciliations(session: Any, payments: list[Any]) -> list[dict[str, Any]]:
    if not payments:
        return []
    p = claim_postings.c
    postings = (await session.execute(
        select(p.payment_id, p.posting_id, p.claim_id, p.paid, p.unapplied, p.claim_status_code)
        .where(p.payment_id.in_([pay.payment_id for pay in payments]))
        .order_by(p.posted_at, p.posting_id))).all()
    by_payment: dict[str, list[dict[str, Any]]] = {}
    for row in postings:
        by_payment.setdefault(row.payment_id, []).append({
            "posting_id": row.posting_id, "claim_id": row.claim_id, "paid": row.paid,
            "eob": row.claim_id is not None and row.unapplied == POSTED and row.claim_status_code != fhir.REVERSAL})
    return [fhir.payment_reconciliation(
        payment_id=pay.payment_id, payer_id=pay.payer_id, trace_number=pay.trace_number, total_paid=pay.total_paid,
        method=pay.method, payment_date=pay.payment_date, posted_at=pay.posted_at,
        details=by_payment.get(pay.payment_id, [])) for pay in payments]


async def reconciliations_page(db: Database, practice_id: str, *, created: DateRange | None,
                               identifier: str | None, offset: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
    pay = era_payments.c
    query = select(era_payments).where(pay.practice_id == practice_id, *on_days(pay.posted_at, created))
    if identifier is not None:
        query = query.where(pay.trace_number == identifier)
    async with db.sessions() as session:
        rows, more = await page(session, query.order_by(pay.posted_at.desc(), pay.payment_id), offset=offset,
                                limit=limit)
        return await _reconciliations(session, rows), more


async def reconciliation(db: Database, practice_id: str, payment_id: str) -> dict[str, Any] | None:
    async with db.sessions() as session:
        row = (await session.execute(select(era_payments).where(era_payments.c.practice_id == practice_id,
                                                                era_payments.c.payment_id == payment_id))).first()
        found = await _reconciliations(session, [row] if row is not None else [])
    return found[0] if found else None
