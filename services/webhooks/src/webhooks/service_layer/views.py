"""Reads: endpoints (never their secrets, which are shown once, when made) and the delivery log of an endpoint
(each delivery with its status and attempts: HTTP status, latency, error kind). No payloads: the log shows ids."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from webhooks.adapters.orm import attempts, deliveries, events
from webhooks.domain.model import Endpoint

MAX_PAGE = 200


def endpoint_view(endpoint: Endpoint) -> dict[str, Any]:
    return {"endpoint_id": endpoint.endpoint_id, "url": endpoint.url, "description": endpoint.description,
            "event_types": list(endpoint.event_types), "include_phi": endpoint.include_phi,
            "status": endpoint.status, "disabled_reason": endpoint.disabled_reason,
            "disabled_at": endpoint.disabled_at.isoformat() if endpoint.disabled_at else None,
            "failing_since": endpoint.failing_since.isoformat() if endpoint.failing_since else None,
            "created_at": endpoint.created_at.isoformat()}


async def delivery_log(session: AsyncSession, endpoint_id: str, *, status: str | None, before: int | None,
                       limit: int) -> dict[str, Any]:
    """The endpoint's deliveries, newest first, each with its attempts; ``next_before`` pages on."""
    query = (select(deliveries.c.delivery_id, deliveries.c.event_id, deliveries.c.subject, deliveries.c.status,
                    deliveries.c.attempts, deliveries.c.next_attempt_at, deliveries.c.replay,
                    deliveries.c.created_at, deliveries.c.completed_at, events.c.event_type)
             .join(events, events.c.event_id == deliveries.c.event_id)
             .where(deliveries.c.endpoint_id == endpoint_id)
             .order_by(deliveries.c.delivery_id.desc()).limit(min(limit, MAX_PAGE)))
    if status is not None:
        query = query.where(deliveries.c.status == status)
    if before is not None:
        query = query.where(deliveries.c.delivery_id < before)
    rows = (await session.execute(query)).mappings().all()
    ids = [r["delivery_id"] for r in rows]
    tries: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        for a in (await session.execute(select(attempts).where(attempts.c.delivery_id.in_(ids))
                                        .order_by(attempts.c.delivery_id, attempts.c.number))).mappings():
            tries[a["delivery_id"]].append({"number": a["number"], "at": a["at"].isoformat(),
                                            "status_code": a["status_code"], "latency_ms": a["latency_ms"],
                                            "error": a["error"]})
    items = [{"delivery_id": r["delivery_id"], "event_id": r["event_id"], "event_type": r["event_type"],
              "subject": r["subject"], "status": r["status"], "attempts": r["attempts"],
              "next_attempt_at": r["next_attempt_at"].isoformat() if r["status"] == "pending" else None,
              "replay": r["replay"], "created_at": r["created_at"].isoformat(),
              "completed_at": r["completed_at"].isoformat() if r["completed_at"] else None,
              "attempt_log": tries[r["delivery_id"]]} for r in rows]
    return {"endpoint_id": endpoint_id, "items": items,
            "next_before": ids[-1] if len(ids) == min(limit, MAX_PAGE) and ids else None}
