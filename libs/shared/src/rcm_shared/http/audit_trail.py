"""``GET /v1/audit-events``: a practice's audit trail, read through each service's API with ``audit:read``.
Newest first, filtered by object, actor, action, outcome and time, paged by cursor; reading it is audited too."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from rcm_shared.http.audit import audited
from rcm_shared.http.auth import Principal, require_scope
from rcm_shared.http.deps import DatabaseDep
from rcm_shared.http.errors import ProblemError
from rcm_shared.http.pagination import cursor_after, encode_cursor

Text = Annotated[str | None, Query(max_length=120, pattern=r"^[A-Za-z0-9_.:*@+-]+$")]


class AuditEvent(BaseModel):
    event_id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    outcome: str
    request_id: str | None


class AuditPage(BaseModel):
    items: list[AuditEvent]
    next_cursor: str | None


def audit_router() -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["audit"])

    @router.get("/audit-events", response_model=AuditPage, dependencies=[audited("audit_event", "list")],
                summary="The practice's audit trail: who read or changed what, and who was refused")
    async def audit_events(
        principal: Annotated[Principal, require_scope("audit:read")], db: DatabaseDep,
        after: Annotated[dict[str, Any] | None, cursor_after("before_id")],
        object_type: Text = None, object_id: Text = None, actor: Text = None, action: Text = None,
        outcome: Text = None,
        since: Annotated[datetime | None, Query(description="from this instant (inclusive)")] = None,
        until: Annotated[datetime | None, Query(description="before this instant")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> AuditPage:
        log = db.tables.audit_log
        query = select(log).where(log.c.practice_id == principal.practice_id)
        for column, value in (("object_type", object_type), ("object_id", object_id), ("actor", actor),
                              ("action", action), ("outcome", outcome)):
            if value is not None:
                query = query.where(log.c[column] == value)
        if since is not None:
            query = query.where(log.c.at >= since)
        if until is not None:
            query = query.where(log.c.at < until)
        if after is not None:
            before_id = after.get("before_id")
            if not isinstance(before_id, int) or isinstance(before_id, bool):
                raise ProblemError(400, "invalid-cursor", "Cursor is invalid", errors=[
                    {"field": "query.cursor", "code": "invalid", "message": "use the next_cursor of a previous page"}])
            query = query.where(log.c.id < before_id)
        async with db.sessions() as session:
            rows = (await session.execute(query.order_by(log.c.id.desc()).limit(limit + 1))).all()
        items = [AuditEvent(event_id=r.id, at=r.at, actor=r.actor, action=r.action, object_type=r.object_type,
                            object_id=r.object_id, outcome=r.outcome, request_id=r.request_id)
                 for r in rows[:limit]]
        more = len(rows) > limit
        return AuditPage(items=items, next_cursor=encode_cursor({"before_id": items[-1].event_id}) if more else None)

    return router
