"""Reads: SQL straight to what the routes answer (or to the inputs of a computed read), never through aggregates
and never writing. Each takes the session of the caller's transaction, so a route can answer with what its own
write just did."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from authorizations.adapters.orm import (
    authorization_requests,
    authorizations,
    booked_visits,
    concurrent_reviews,
    consumptions,
    ledger_visits,
    missing,
)
from authorizations.adapters.repository import among, authorization_of
from authorizations.domain.kpi import EpisodeVisit
from authorizations.domain.model import Authorization, RequestDecision
from authorizations.domain.renewals import ConcurrentReview, ConcurrentReviewLog, ReviewOutcome, ScheduledVisit

# --------------------------------------------------------------------------------------------- authorizations


async def authorization(session: AsyncSession, practice_id: str, number: str, *, today: date
                        ) -> dict[str, Any] | None:
    """One authorization with its units (as the ledger stored them) and the payer's review behind it."""
    found = await _authorizations(session, practice_id, authorizations.c.number == number, today=today)
    return found[0] if found else None


async def patient_authorizations(session: AsyncSession, practice_id: str, patient_id: str, *, today: date
                                 ) -> list[dict[str, Any]]:
    return await _authorizations(session, practice_id, authorizations.c.patient_id == patient_id, today=today)


async def _authorizations(session: AsyncSession, practice_id: str, where: Any, *, today: date
                          ) -> list[dict[str, Any]]:
    rows = (await session.execute(select(authorizations).where(authorizations.c.practice_id == practice_id, where)
                                  .order_by(authorizations.c.created_at, authorizations.c.number))).all()
    if not rows:
        return []
    numbers = [r.number for r in rows]
    used = await used_units(session, practice_id, numbers)
    # The payer's review behind each, when it came from a request: the latest decision and why (a denial's reason).
    reviews: dict[str, dict[str, Any]] = {}
    for r in (await session.execute(select(
            authorization_requests.c.authorization_number, authorization_requests.c.request_id,
            authorization_requests.c.decision, authorization_requests.c.reason, authorization_requests.c.channel).where(
            authorization_requests.c.practice_id == practice_id,
            among(authorization_requests.c.authorization_number, numbers)).order_by(
            authorization_requests.c.requested_at))).all():
        reviews[r.authorization_number] = {"request_id": r.request_id, "decision": r.decision, "reason": r.reason,
                                           "channel": r.channel}
    out = []
    for row in rows:
        auth = authorization_of(row)
        spent = used.get(row.number, 0)
        out.append({"authorization_id": row.authorization_id, "number": row.number, "patient_id": row.patient_id,
                    "payer_id": row.payer_id, "cpt_codes": row.cpt_codes, "approved_units": auth.approved_units,
                    "used_units": spent, "remaining_units": auth.approved_units - spent, "start": row.start_date,
                    "end": row.end_date, "status": auth.status_on(spent, today).value,
                    "cancelled_on": row.cancelled_on, "review": reviews.get(row.number)})
    return out


async def used_units(session: AsyncSession, practice_id: str, numbers: list[str] | None = None) -> dict[str, int]:
    """Units the ledger stored as consumed, per authorization number (all of the practice's when not named)."""
    query = select(consumptions.c.authorization_number, func.count().label("used")).where(
        consumptions.c.practice_id == practice_id).group_by(consumptions.c.authorization_number)
    if numbers is not None:
        query = query.where(among(consumptions.c.authorization_number, numbers))
    return {r.authorization_number: r.used for r in (await session.execute(query)).all()}


async def practice_authorizations(session: AsyncSession, practice_id: str) -> list[Authorization]:
    return [authorization_of(r) for r in (await session.execute(select(authorizations).where(
        authorizations.c.practice_id == practice_id))).all()]


# --------------------------------------------------------------------------------------------- work queue


async def missing_authorizations(session: AsyncSession, practice_id: str) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in (await session.execute(select(missing).where(
        missing.c.practice_id == practice_id).order_by(missing.c.service_date, missing.c.visit_id))).all()]


async def booked_from(session: AsyncSession, practice_id: str, day: date) -> list[ScheduledVisit]:
    """Visits booked (not cancelled) from ``day`` on, with a payer and a procedure: what the forecasts walk."""
    return [ScheduledVisit(r.visit_id, r.patient_id, r.payer_id, r.service_date, r.cpt_code)
            for r in (await session.execute(select(booked_visits).where(
                booked_visits.c.practice_id == practice_id, booked_visits.c.cancelled.is_(False),
                booked_visits.c.service_date >= day, booked_visits.c.payer_id.is_not(None),
                booked_visits.c.cpt_code.is_not(None)))).all()]


async def concurrent_review_log(session: AsyncSession, practice_id: str) -> ConcurrentReviewLog:
    log = ConcurrentReviewLog()
    for r in (await session.execute(select(concurrent_reviews).where(
            concurrent_reviews.c.practice_id == practice_id))).all():
        log.record(ConcurrentReview(r.reference, r.authorization_number, r.submitted_on, r.requested_units or 0,
                                    r.requested_end or r.submitted_on, ReviewOutcome(r.outcome)))
    return log


async def review_work(session: AsyncSession, practice_id: str, today: date) -> dict[str, Any]:
    """Pended reviews to follow up and rejected (or unreadable) requests to correct, until a later request for
    the same patient and payer replaces them."""
    open_ = (RequestDecision.PENDED.value, RequestDecision.REJECTED.value, RequestDecision.UNREADABLE.value)
    rows = (await session.execute(select(authorization_requests).where(
        authorization_requests.c.practice_id == practice_id,
        authorization_requests.c.decision.in_(open_)).order_by(authorization_requests.c.requested_at))).all()
    latest: dict[tuple[str, str], datetime] = {}
    if any(r.decision != RequestDecision.PENDED.value for r in rows):
        for r in (await session.execute(select(
                authorization_requests.c.patient_id, authorization_requests.c.payer_id,
                func.max(authorization_requests.c.requested_at).label("latest")).where(
                authorization_requests.c.practice_id == practice_id).group_by(
                authorization_requests.c.patient_id, authorization_requests.c.payer_id))).all():
            latest[(r.patient_id, r.payer_id)] = r.latest
    pended, rejected = [], []
    for r in rows:
        item = {"request_id": r.request_id, "trace_number": r.trace_number, "patient_id": r.patient_id,
                "payer_id": r.payer_id, "channel": r.channel, "requested_at": r.requested_at, "reason": r.reason}
        if r.decision == RequestDecision.PENDED.value:
            pended.append({**item, "follow_up_on": r.follow_up_on,
                           "overdue": r.follow_up_on is not None and r.follow_up_on < today})
        elif latest.get((r.patient_id, r.payer_id), r.requested_at) <= r.requested_at:
            rejected.append({**item, "status": r.decision, "rejections": r.rejections or []})
    return {"pended_reviews": pended, "rejected_requests": rejected}


# --------------------------------------------------------------------------------------------- coverage KPI


async def episode_visits(session: AsyncSession, practice_id: str) -> list[EpisodeVisit]:
    return [EpisodeVisit(r.visit_id, r.patient_id, r.payer_id, r.service_date) for r in (await session.execute(
        select(ledger_visits.c.visit_id, ledger_visits.c.patient_id, ledger_visits.c.payer_id,
               ledger_visits.c.service_date).where(ledger_visits.c.practice_id == practice_id,
                                                   ledger_visits.c.voided.is_(False)))).all()]


async def visits_missing_authorization(session: AsyncSession, practice_id: str) -> set[str]:
    return {r.visit_id for r in (await session.execute(select(missing.c.visit_id).where(
        missing.c.practice_id == practice_id))).all()}
