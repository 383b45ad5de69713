"""Reads behind claims' FHIR API: one practice's claims as Claim resources and the payer's latest answer to each
as a ClaimResponse (built by ``edi.fhir``). Offset pages, newest first."""

from __future__ import annotations

from typing import Any

from rcm_shared.db.database import Database
from rcm_shared.fhir.api import DateRange
from rcm_shared.fhir.queries import on_days, page, within
from sqlalchemy import func, select

from claims.adapters.orm import claim_transitions, claims
from claims.adapters.repository import readable_claim
from claims.edi import fhir


def _claim(row: Any) -> dict[str, Any] | None:
    loaded = readable_claim(row, "fhir")
    return None if loaded is None else fhir.claim(loaded, created_at=row.created_at, updated_at=row.updated_at)


async def claims_page(db: Database, practice_id: str, *, patient_id: str | None, created: DateRange | None,
                      service_date: DateRange | None, status: str | None, offset: int,
                      limit: int) -> tuple[list[dict[str, Any]], bool]:
    c = claims.c
    query = select(claims).where(c.practice_id == practice_id, *on_days(c.created_at, created),
                                 *within(c.date_of_service, service_date))
    if patient_id is not None:
        query = query.where(c.patient_id == patient_id)
    if status is not None:
        query = query.where(c.status.in_([s.value for s in fhir.CLAIM_STATUSES[status]]))
    async with db.sessions() as session:
        rows, more = await page(session, query.order_by(c.created_at.desc(), c.claim_id), offset=offset, limit=limit)
    # a claim whose document cannot be read back is left out (counted and logged by id by readable_claim)
    return [r for r in (_claim(row) for row in rows) if r is not None], more


async def claim(db: Database, practice_id: str, claim_id: str) -> dict[str, Any] | None:
    async with db.sessions() as session:
        row = (await session.execute(select(claims).where(claims.c.practice_id == practice_id,
                                                          claims.c.claim_id == claim_id))).first()
    return None if row is None else _claim(row)


def _answers_query(practice_id: str) -> Any:
    """Each of the practice's claims the payer answered, with its latest answer (the newest transition into an
    answer status)."""
    t, c = claim_transitions.c, claims.c
    ours = select(c.claim_id).where(c.practice_id == practice_id)
    latest = (select(t.claim_id, func.max(t.id).label("transition_id"))
              .where(t.to_status.in_(list(fhir.ANSWERS)), t.claim_id.in_(ours)).group_by(t.claim_id).subquery())
    answer = claim_transitions.alias("answer")
    return (select(c.claim_id, c.patient_id, c.payer_id, c.status, c.total_charge, c.paid,
                   c.patient_responsibility, c.payer_claim_number, c.document["billing_provider"].label("billing"),
                   answer.c.to_status, answer.c.reason, answer.c.at)
            .select_from(claims.join(latest, latest.c.claim_id == c.claim_id)
                         .join(answer, answer.c.id == latest.c.transition_id))
            .where(c.practice_id == practice_id)), answer


def _response(row: Any) -> dict[str, Any]:
    billing = row.billing if isinstance(row.billing, dict) else {}
    return fhir.claim_response(
        claim_id=row.claim_id, patient_id=row.patient_id, payer_id=row.payer_id, billing_npi=billing.get("npi"),
        answer=row.to_status, answered_at=row.at, reason=row.reason, total_charge=row.total_charge, paid=row.paid,
        patient_responsibility=row.patient_responsibility, payer_claim_number=row.payer_claim_number,
        status=row.status)


async def responses_page(db: Database, practice_id: str, *, patient_id: str | None, created: DateRange | None,
                         outcome: str | None, request: str | None, offset: int,
                         limit: int) -> tuple[list[dict[str, Any]], bool]:
    query, answer = _answers_query(practice_id)
    query = query.where(*on_days(answer.c.at, created))
    if patient_id is not None:
        query = query.where(claims.c.patient_id == patient_id)
    if request is not None:
        query = query.where(claims.c.claim_id == request)
    if outcome is not None:
        query = query.where(answer.c.to_status.in_(fhir.OUTCOMES[outcome]))
    async with db.sessions() as session:
        rows, more = await page(session, query.order_by(answer.c.at.desc(), claims.c.claim_id), offset=offset,
                                limit=limit)
    return [_response(r) for r in rows], more


async def claim_response(db: Database, practice_id: str, claim_id: str) -> dict[str, Any] | None:
    query, _ = _answers_query(practice_id)
    async with db.sessions() as session:
        row = (await session.execute(query.where(claims.c.claim_id == claim_id))).first()
    return None if row is None else _response(row)
