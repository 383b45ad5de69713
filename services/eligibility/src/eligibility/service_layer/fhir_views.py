"""Reads behind the FHIR API: one practice's coverage and 270/271 exchanges as FHIR resources (built by
``edi.fhir``). Pages are offset-based: a patient has a handful of coverages and at most hundreds of checks."""

from __future__ import annotations

from typing import Any

from rcm_shared.db.database import Database
from rcm_shared.fhir.api import DateRange
from rcm_shared.fhir.queries import on_days
from sqlalchemy import and_, select

from eligibility.adapters.orm import coverage_checks, insurance_on_file, snapshots
from eligibility.edi import fhir

ANSWERED = ("active", "inactive")


def _coverage_query(practice_id: str) -> Any:
    s, i = snapshots.c, insurance_on_file.c
    return select(s.patient_id, s.payer_id, s.active, s.coverage_begin, s.coverage_end, s.snapshot, s.updated_at,
                  i.payer_name, i.subscriber, i.dependent).select_from(snapshots.outerjoin(insurance_on_file, and_(
                      i.practice_id == s.practice_id, i.patient_id == s.patient_id, i.payer_id == s.payer_id))
                  ).where(s.practice_id == practice_id)


def _coverage(row: Any) -> dict[str, Any]:
    return fhir.coverage(patient_id=row.patient_id, payer_id=row.payer_id, active=row.active,
                         coverage_begin=row.coverage_begin, coverage_end=row.coverage_end, snapshot=row.snapshot,
                         updated_at=row.updated_at, payer_name=row.payer_name, subscriber=row.subscriber,
                         is_dependent=row.dependent is not None)


async def coverages(db: Database, practice_id: str, *, patient_id: str | None, status: str | None, offset: int,
                    limit: int) -> tuple[list[dict[str, Any]], bool]:
    query = _coverage_query(practice_id)
    if patient_id is not None:
        query = query.where(snapshots.c.patient_id == patient_id)
    if status is not None:
        query = query.where(snapshots.c.active.is_(status == "active"))
    async with db.sessions() as session:
        rows = (await session.execute(query.order_by(snapshots.c.patient_id, snapshots.c.payer_id)
                                      .offset(offset).limit(limit + 1))).all()
    return [_coverage(r) for r in rows[:limit]], len(rows) > limit


async def coverage(db: Database, practice_id: str, resource_id: str) -> dict[str, Any] | None:
    key = fhir.split_coverage_id(resource_id)
    if key is None:
        return None
    async with db.sessions() as session:
        row = (await session.execute(_coverage_query(practice_id).where(
            snapshots.c.patient_id == key[0], snapshots.c.payer_id == key[1]))).first()
    return _coverage(row) if row is not None else None


def _response(row: Any) -> dict[str, Any]:
    return fhir.eligibility_response(check_id=row.check_id, patient_id=row.patient_id, payer_id=row.payer_id,
                                     service_date=row.service_date, status=row.status,
                                     trace_number=row.trace_number, checked_at=row.checked_at, result=row.result)


def _response_query(practice_id: str) -> Any:
    c = coverage_checks.c
    return select(c.check_id, c.patient_id, c.payer_id, c.service_date, c.status, c.trace_number, c.checked_at,
                  c.result).where(c.practice_id == practice_id)


async def eligibility_responses(db: Database, practice_id: str, *, patient_id: str | None,
                                created: DateRange | None, outcome: str | None, offset: int,
                                limit: int) -> tuple[list[dict[str, Any]], bool]:
    c = coverage_checks.c
    query = _response_query(practice_id)
    if patient_id is not None:
        query = query.where(c.patient_id == patient_id)
    query = query.where(*on_days(c.checked_at, created))  # dates of `created` are UTC dates
    if outcome == "complete":
        query = query.where(c.status.in_(ANSWERED))
    elif outcome == "error":
        query = query.where(c.status.not_in(ANSWERED))
    async with db.sessions() as session:
        rows = (await session.execute(query.order_by(c.checked_at.desc(), c.check_id).offset(offset)
                                      .limit(limit + 1))).all()
    return [_response(r) for r in rows[:limit]], len(rows) > limit


async def eligibility_response(db: Database, practice_id: str, check_id: str) -> dict[str, Any] | None:
    async with db.sessions() as session:
        row = (await session.execute(_response_query(practice_id).where(
            coverage_checks.c.check_id == check_id))).first()
    return _response(row) if row is not None else None
