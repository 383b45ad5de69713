"""Reads: SQL straight to the domain's inputs (claim fact rows, patient charges and money, sessions, coverage
answers) or to what a route answers, never writing. Each takes the caller's session."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reporting.adapters.orm import (
    READ_MODEL,
    claim_denials,
    claim_facts,
    claim_postings,
    claim_status_changes,
    eligibility_checks,
    patient_charges,
    patient_money,
    visit_determinations,
    visits,
)
from reporting.adapters.repository import among, load_histories
from reporting.domain.facts import ClaimFact, ClaimHistory
from reporting.domain.kpi import CoverageCheck, DeterminedVisit, InsuredVisit, Session
from reporting.domain.patient_ar import PatientCharge, PatientMoney

_FACT_FIELDS = [c.name for c in claim_facts.columns if c.name != "practice_id"]


def _fact(row: Any) -> ClaimFact:
    return ClaimFact(**{name: getattr(row, name) for name in _FACT_FIELDS})


async def claim_facts_of(session: AsyncSession, practice_id: str) -> list[ClaimFact]:
    """Every claim fact row of the practice (A/R needs them all, whatever the period asked for)."""
    return [_fact(r) for r in (await session.execute(select(claim_facts).where(
        claim_facts.c.practice_id == practice_id))).all()]


async def claim_histories(session: AsyncSession, practice_id: str) -> list[ClaimHistory]:
    """Every claim's stored facts (what an A/R figure as of a past day is computed from)."""
    return list((await load_histories(session, practice_id)).values())


async def claim_rows(session: AsyncSession, practice_id: str, claim_ids: Collection[str]) -> list[dict[str, Any]]:
    """The fact rows of the named claims (a drill-down), in claim id order; other practices' claims are not found."""
    if not claim_ids:
        return []
    return [dict(r._mapping) for r in (await session.execute(select(claim_facts).where(
        claim_facts.c.practice_id == practice_id, among(claim_facts.c.claim_id, claim_ids)).order_by(
        claim_facts.c.claim_id))).all()]


async def claim_story(session: AsyncSession, practice_id: str, claim_id: str) -> dict[str, Any] | None:
    """One claim's fact row with what happened to it: status changes, postings, denials (a drill-down's end)."""
    found = await claim_rows(session, practice_id, [claim_id])
    if not found:
        return None

    def of(table: Any, order: Any) -> Any:
        return select(table).where(table.c.practice_id == practice_id, table.c.claim_id == claim_id).order_by(order)

    return {"claim": found[0],
            "status_changes": [dict(r._mapping) for r in (await session.execute(
                of(claim_status_changes, claim_status_changes.c.at))).all()],
            "postings": [dict(r._mapping) for r in (await session.execute(
                of(claim_postings, claim_postings.c.at))).all()],
            "denials": [dict(r._mapping) for r in (await session.execute(
                of(claim_denials, claim_denials.c.raised_at))).all()]}


async def patient_ledger(session: AsyncSession, practice_id: str) -> tuple[list[PatientCharge], list[PatientMoney]]:
    charges = [PatientCharge(r.charge_id, r.patient_id, r.claim_id, r.charged_on, r.cents)
               for r in (await session.execute(select(patient_charges).where(
                   patient_charges.c.practice_id == practice_id))).all()]
    money = [PatientMoney(r.entry_id, r.patient_id, r.cents, r.entered_on, r.kind)
             for r in (await session.execute(select(patient_money).where(
                 patient_money.c.practice_id == practice_id))).all()]
    return charges, money


async def sessions_between(session: AsyncSession, practice_id: str, start: date, end: date) -> list[Session]:
    return [Session(r.visit_id, r.clinician_npi, r.date_of_service, r.voided) for r in (await session.execute(
        select(visits.c.visit_id, visits.c.clinician_npi, visits.c.date_of_service, visits.c.voided).where(
            visits.c.practice_id == practice_id, visits.c.date_of_service >= start,
            visits.c.date_of_service <= end))).all()]


async def insured_visits(session: AsyncSession, practice_id: str, start: date, end: date) -> list[InsuredVisit]:
    """Insured visits (not voided) with a date of service in [start, end]."""
    return [InsuredVisit(r.visit_id, r.patient_id, r.payer_id, r.date_of_service) for r in (await session.execute(
        select(visits.c.visit_id, visits.c.patient_id, visits.c.payer_id, visits.c.date_of_service).where(
            visits.c.practice_id == practice_id, visits.c.billing_model == "insurance",
            visits.c.payer_id.is_not(None), visits.c.voided.is_(False), visits.c.date_of_service >= start,
            visits.c.date_of_service <= end))).all()]


async def coverage_checks(session: AsyncSession, practice_id: str, start: date, end: date) -> list[CoverageCheck]:
    """Coverage checks dated in [start, end]."""
    return [CoverageCheck(r.check_id, r.patient_id, r.payer_id, r.as_of, r.active) for r in (await session.execute(
        select(eligibility_checks).where(eligibility_checks.c.practice_id == practice_id,
                                         eligibility_checks.c.as_of >= start,
                                         eligibility_checks.c.as_of <= end))).all()]


async def determined_visits(session: AsyncSession, practice_id: str) -> list[DeterminedVisit]:
    return [DeterminedVisit(r.visit_id, r.patient_id, r.payer_id, r.date_of_service, r.authorization_required,
                            r.authorization_number, r.missing_reason)
            for r in (await session.execute(select(visit_determinations).where(
                visit_determinations.c.practice_id == practice_id))).all()]


async def state_hash(session: AsyncSession) -> str:
    """A digest of every read-model table's rows (sorted; the inbox and other bookkeeping left out): two
    databases fed the same events hold the same hash, whatever order or how many times they came."""
    digest = hashlib.sha256()
    for table in READ_MODEL:
        key = [c for c in table.primary_key.columns]
        digest.update(table.name.encode())
        for row in (await session.execute(select(table).order_by(*key))).all():
            digest.update(repr(tuple(_canonical(v) for v in row)).encode())
    return digest.hexdigest()


def _canonical(value: Any) -> Any:
    """Instants in UTC ISO form (SQLite and PostgreSQL hand them back in different zones)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value

