"""The eligibility work queue: answers of unattended checks that need a person (front desk, billing)."""

from __future__ import annotations

from datetime import date
from typing import Any

from rcm_shared.db.types import new_id, utcnow
from rcm_shared.observability import metrics
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from eligibility.adapters.orm import OPEN_WORK_ITEM, work_items
from eligibility.adapters.repository import insert_unless_open
from eligibility.domain.work_queue import Attention

SOURCE = "eligibility"
OPEN, RESOLVED = "open", "resolved"


async def raise_work_item(session: AsyncSession, *, practice_id: str, patient_id: str, payer_id: str,
                          attention: Attention, service_date: date | None, check_id: str | None = None,
                          run_id: str | None = None, recheck_id: str | None = None) -> str:
    """One open item per patient, payer and kind: a repeat (the next night, another denial) brings the open
    item up to date and counts the occurrence instead of piling up duplicates."""
    now = utcnow()
    latest = {"next_action": attention.next_action, "reason_codes": list(attention.reason_codes),
              "detail": attention.detail[:300], "service_date": service_date, "check_id": check_id,
              "run_id": run_id, "recheck_id": recheck_id, "updated_at": now}
    metrics.BUSINESS_EVENTS.labels(SOURCE, f"eligibility_work_item_{attention.kind.value}").inc()
    # One statement, not select-then-insert: two consumers (partitions, replicas) raising the same item at once
    # meet on the partial unique index of open items and the later one counts an occurrence.
    item_id = await insert_unless_open(session, work_items, dict(
        item_id=new_id(), practice_id=practice_id, patient_id=patient_id, payer_id=payer_id,
        kind=attention.kind.value, status=OPEN, occurrences=1, created_at=now, **latest),
        key=("practice_id", "patient_id", "payer_id", "kind"), open_rows=OPEN_WORK_ITEM, returning="item_id",
        on_open={"occurrences": work_items.c.occurrences + 1, **latest})
    return str(item_id)


async def list_work_items(session: AsyncSession, practice_id: str, status: str = OPEN, *,
                          run_id: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    query = select(work_items).where(work_items.c.practice_id == practice_id, work_items.c.status == status)
    if run_id is not None:
        query = query.where(work_items.c.run_id == run_id)
    rows = (await session.execute(query.order_by(work_items.c.created_at.desc()).limit(limit))).all()
    return [dict(r._mapping) for r in rows]


async def resolve_work_item(session: AsyncSession, practice_id: str, item_id: str, resolved_by: str
                            ) -> dict[str, Any] | None:
    """Mark an item done; ``None`` when the practice has no such item (another practice's is not disclosed)."""
    key = (work_items.c.practice_id == practice_id) & (work_items.c.item_id == item_id)
    row = (await session.execute(select(work_items).where(key))).first()
    if row is None:
        return None
    if row.status == OPEN:
        await session.execute(update(work_items).where(key).values(
            status=RESOLVED, resolved_at=utcnow(), resolved_by=resolved_by[:120]))
        row = (await session.execute(select(work_items).where(key))).one()
    return dict(row._mapping)
