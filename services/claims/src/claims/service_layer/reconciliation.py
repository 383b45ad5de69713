"""Reconciliation: what should have followed by now and has not, as gauges (``rcm_reconciliation_gaps``).

- ``visits_without_claim``: insured visits received more than ``after`` ago with no claim built from them (the
  claim builder never applied their visit-completed event, or refused it).
- ``submitted_claims_without_remittance_copy``: claims submitted more than ``after`` ago (and within ``lookback``)
  that remittance holds no copy of (it never applied their claim-submitted event), asked over HTTP from this
  periodic job, never from a consumer. Left as it was when remittance cannot be asked.

A gap that lasts is an event lost or not applied between two services: docs/runbook.md, "Broker outage".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from rcm_shared.db.database import Database
from rcm_shared.observability import metrics
from sqlalchemy import and_, exists, func, select

from claims.adapters.orm import claims, visits
from claims.adapters.remittance_copies import RemittanceCopies

OPEN_SUBMITTED = ("submitted", "accepted")


@dataclass(frozen=True)
class Gaps:
    visits_without_claim: int
    submitted_claims_without_copy: int | None  # None: remittance could not be asked


async def reconcile(db: Database, copies: RemittanceCopies, *, now: datetime, after: timedelta,
                    lookback: timedelta) -> Gaps:
    cutoff = now - after
    async with db.sessions() as session:
        without_claim = int(await session.scalar(
            select(func.count()).select_from(visits).where(
                visits.c.billing_model == "insurance", visits.c.received_at < cutoff,
                ~exists().where(claims.c.visit_id == visits.c.visit_id))) or 0)
        submitted = (await session.execute(
            select(claims.c.practice_id, claims.c.claim_id).where(and_(
                claims.c.status.in_(OPEN_SUBMITTED), claims.c.submitted_at < cutoff,
                claims.c.submitted_at >= now - lookback)))).all()
    metrics.RECONCILIATION_GAPS.labels("claims", "visits_without_claim").set(without_claim)
    by_practice: dict[str, list[str]] = defaultdict(list)
    for practice_id, claim_id in submitted:
        by_practice[practice_id].append(claim_id)
    missing = 0
    for practice_id, claim_ids in sorted(by_practice.items()):
        held = await copies.held(practice_id, sorted(claim_ids))
        if held is None:
            return Gaps(without_claim, None)
        missing += len(set(claim_ids) - held)
    metrics.RECONCILIATION_GAPS.labels("claims", "submitted_claims_without_remittance_copy").set(missing)
    return Gaps(without_claim, missing)
