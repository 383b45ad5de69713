"""Append-only audit of every read or write of patient data: actor, action, object, time, outcome."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from rcm_shared.db.platform_tables import PlatformTables
from rcm_shared.db.types import utcnow
from rcm_shared.http.auth import Principal
from rcm_shared.observability import metrics


async def record_audit(
    session: AsyncSession, tables: PlatformTables, principal: Principal, *, service: str, action: str,
    object_type: str, object_id: str, outcome: str = "success", request_id: str | None = None,
) -> None:
    await session.execute(insert(tables.audit_log).values(
        at=utcnow(), actor=principal.subject, practice_id=principal.practice_id, action=action,
        object_type=object_type, object_id=object_id, outcome=outcome, request_id=request_id,
    ))
    metrics.AUDIT_EVENTS.labels(service, action, outcome).inc()
