"""Reads of claims that skip the aggregate: what waits for facts, how fresh claims' projection is, and the facts of
the claims report (its figures are the domain's, ``domain/kpi.py``)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from claims.adapters.orm import batches, claim_transitions, claims, status_inquiries
from claims.adapters.repository import projection_freshness
from claims.domain.kpi import ClaimsReportFacts
from claims.domain.kpi import claims_report as report_figures
from claims.domain.model import ClaimStatus

__all__ = ["awaiting_facts", "awaiting_gauge", "batch_rows", "claim_history", "claim_rows", "claim_status_inquiries",
           "claims_report", "projection_freshness"]


async def claim_rows(session: AsyncSession, practice_id: str, *, status: ClaimStatus | None = None,
                     payer_id: str | None = None, visit_id: str | None = None, after: str | None = None,
                     limit: int = 100) -> list[Any]:
    """A page of the practice's claim rows (the work queues), in claim id order after ``after``."""
    query = select(claims).where(claims.c.practice_id == practice_id)
    if status:
        query = query.where(claims.c.status == status.value)
    if payer_id:
        query = query.where(claims.c.payer_id == payer_id)
    if visit_id:
        query = query.where(claims.c.visit_id == visit_id)
    if after:
        query = query.where(claims.c.claim_id > after)
    return list((await session.execute(query.order_by(claims.c.claim_id).limit(limit))).all())


async def claim_history(session: AsyncSession, claim_id: str) -> list[dict[str, Any]]:
    """The claim's moves, oldest first (the caller has checked the claim is the practice's)."""
    return [dict(r._mapping) for r in (await session.execute(select(
        claim_transitions.c.from_status, claim_transitions.c.to_status, claim_transitions.c.reason,
        claim_transitions.c.at).where(claim_transitions.c.claim_id == claim_id)
        .order_by(claim_transitions.c.id))).all()]


async def claim_status_inquiries(session: AsyncSession, claim_id: str) -> list[dict[str, Any]]:
    """The 276s asked about the claim and the 277 answers (the caller has checked the claim is the practice's)."""
    return [dict(r._mapping) for r in (await session.execute(select(
        status_inquiries.c.trace_number, status_inquiries.c.sent_at, status_inquiries.c.answered_at,
        status_inquiries.c.status_codes).where(status_inquiries.c.claim_id == claim_id)
        .order_by(status_inquiries.c.sent_at))).all()]


async def batch_rows(session: AsyncSession, practice_id: str, *, limit: int = 200) -> list[Any]:
    """The practice's 837P batches, newest first."""
    return list((await session.execute(select(batches).where(batches.c.practice_id == practice_id)
                                       .order_by(batches.c.created_at.desc()).limit(limit))).all())


async def claims_report(session: AsyncSession, practice_id: str) -> dict[str, Any]:
    """``GET /v1/reports/claims``: the practice's claims by status, first-pass outcomes, lags and rejections."""
    of_practice = claims.c.practice_id == practice_id
    by_status: dict[str, int] = dict((await session.execute(select(claims.c.status, func.count()).where(of_practice)
                                            .group_by(claims.c.status))).all())
    first_pass: dict[str, int] = dict((await session.execute(select(claim_transitions.c.to_status, func.count()).where(
        claim_transitions.c.from_status == "draft",
        claim_transitions.c.claim_id.in_(select(claims.c.claim_id).where(of_practice, claims.c.frequency_code == "1")))
        .group_by(claim_transitions.c.to_status))).all())
    lags = (await session.execute(select(claims.c.date_of_service, claims.c.submitted_at).where(
        of_practice, claims.c.submitted_at.is_not(None)))).all()
    rejections = (await session.execute(select(claim_transitions.c.reason).where(
        claim_transitions.c.to_status == "rejected",
        claim_transitions.c.claim_id.in_(select(claims.c.claim_id).where(of_practice))))).scalars().all()
    submitted = (await session.execute(select(func.count()).select_from(claims).where(
        of_practice, claims.c.submitted_at.is_not(None)))).scalar_one()
    return report_figures(ClaimsReportFacts(by_status, first_pass, [(r.date_of_service, r.submitted_at) for r in lags],
                                            rejections, submitted))


def _age(since: datetime | None, now: datetime) -> int | None:
    return None if since is None else max(0, int((now - since).total_seconds()))


async def awaiting_facts(session: AsyncSession, practice_id: str | None, *, now: datetime) -> dict[str, Any]:
    """Claims in awaiting_facts (of one practice, or all for the metrics): how many, by missing fact, the longest
    wait; and the age of the newest fact of each kind in the projection (its staleness, platform-wide)."""
    query = select(claims.c.document["awaiting"], claims.c.awaiting_since).where(
        claims.c.status == ClaimStatus.AWAITING_FACTS.value)
    if practice_id is not None:
        query = query.where(claims.c.practice_id == practice_id)
    rows = (await session.execute(query)).all()
    by_fact: Counter[str] = Counter()
    for missing, _ in rows:
        by_fact.update(missing or [])
    oldest = await session.scalar(select(func.min(claims.c.awaiting_since)).where(
        claims.c.status == ClaimStatus.AWAITING_FACTS.value,
        *((claims.c.practice_id == practice_id,) if practice_id is not None else ())))
    freshness = await projection_freshness(session)
    return {"awaiting": len(rows), "by_missing_fact": dict(by_fact), "longest_wait_seconds": _age(oldest, now),
            "newest_fact_age_seconds": {kind: _age(at, now) for kind, at in freshness.items()}}


async def awaiting_gauge(session: AsyncSession) -> tuple[int, datetime | None]:
    """Every practice's claims in awaiting_facts: how many, and since when the oldest waits."""
    row = (await session.execute(select(func.count(), func.min(claims.c.awaiting_since)).where(
        claims.c.status == ClaimStatus.AWAITING_FACTS.value))).one()
    return int(row[0]), row[1]
