"""Order per aggregate: for one endpoint, the events of one subject (claim, visit, account ...) are delivered in
the order they were received, each only after the one before it succeeded or was given up. Among the queued
deliveries (oldest first), only the head of each (endpoint, subject) line may go, and only once it is due."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Queued:
    delivery_id: int  # grows with arrival: the order of the line
    endpoint_id: str
    subject: str
    next_attempt_at: datetime
    leased_until: datetime | None = None


def due_heads(queued: Iterable[Queued], now: datetime) -> list[Queued]:
    """The deliveries that may be attempted now: each the oldest unfinished one of its (endpoint, subject) line,
    due, and not leased to an attempt in flight."""
    heads: dict[tuple[str, str], Queued] = {}
    for item in queued:
        line = (item.endpoint_id, item.subject)
        current = heads.get(line)
        if current is None or item.delivery_id < current.delivery_id:
            heads[line] = item
    return sorted((h for h in heads.values()
                   if h.next_attempt_at <= now and (h.leased_until is None or h.leased_until <= now)),
                  key=lambda h: h.delivery_id)
