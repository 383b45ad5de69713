"""SQL repositories of the webhooks service, one per aggregate (endpoints, deliveries) and the received events.
The SQL lives here; use cases see the protocols in ``service_layer/unit_of_work.py``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from webhooks.adapters.orm import attempts, deliveries, endpoint_secrets, endpoints, events, practice_settings
from webhooks.domain.model import Delivery, Endpoint, Secret
from webhooks.domain.ordering import Queued


class SqlEndpointRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, endpoint: Endpoint) -> None:
        await self.session.execute(insert(endpoints).values(**_endpoint_row(endpoint)))
        await self._save_secrets(endpoint)

    async def save(self, endpoint: Endpoint) -> None:
        row = _endpoint_row(endpoint)
        await self.session.execute(update(endpoints).where(endpoints.c.endpoint_id == endpoint.endpoint_id)
                                   .values(**row))
        await self._save_secrets(endpoint)

    async def _save_secrets(self, endpoint: Endpoint) -> None:
        known = set((await self.session.scalars(select(endpoint_secrets.c.secret_id).where(
            endpoint_secrets.c.endpoint_id == endpoint.endpoint_id))).all())
        for secret in endpoint.secrets:
            if secret.secret_id in known:
                await self.session.execute(update(endpoint_secrets).where(
                    endpoint_secrets.c.secret_id == secret.secret_id).values(expires_at=secret.expires_at))
            else:
                await self.session.execute(insert(endpoint_secrets).values(
                    secret_id=secret.secret_id, endpoint_id=endpoint.endpoint_id, secret=secret.value,
                    created_at=secret.created_at, expires_at=secret.expires_at))

    async def get(self, practice_id: str | None, endpoint_id: str, *, lock: bool = False) -> Endpoint | None:
        query = select(endpoints).where(endpoints.c.endpoint_id == endpoint_id)
        if practice_id is not None:
            query = query.where(endpoints.c.practice_id == practice_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().first()
        if row is None:
            return None
        return (await self._with_secrets([row]))[0]

    async def get_many(self, endpoint_ids: Sequence[str]) -> dict[str, Endpoint]:
        if not endpoint_ids:
            return {}
        rows = (await self.session.execute(select(endpoints).where(
            endpoints.c.endpoint_id.in_(set(endpoint_ids))))).mappings().all()
        return {e.endpoint_id: e for e in await self._with_secrets(rows)}

    async def of_practices(self, practice_ids: Sequence[str]) -> list[Endpoint]:
        """The practices' endpoints that still receive events (enabled or disabled, not deleted)."""
        if not practice_ids:
            return []
        rows = (await self.session.execute(select(endpoints).where(
            endpoints.c.practice_id.in_(set(practice_ids)), endpoints.c.status != "deleted")
            .order_by(endpoints.c.created_at, endpoints.c.endpoint_id))).mappings().all()
        return await self._with_secrets(rows)

    async def _with_secrets(self, rows: Sequence[Any]) -> list[Endpoint]:
        ids = [r["endpoint_id"] for r in rows]
        secrets: dict[str, list[Secret]] = {i: [] for i in ids}
        for s in (await self.session.execute(select(endpoint_secrets).where(
                endpoint_secrets.c.endpoint_id.in_(ids)))).mappings():
            secrets[s["endpoint_id"]].append(Secret(s["secret_id"], s["secret"], s["created_at"], s["expires_at"]))
        return [Endpoint(
            endpoint_id=r["endpoint_id"], practice_id=r["practice_id"], url=r["url"],
            event_types=tuple(r["event_types"]), include_phi=r["include_phi"], created_at=r["created_at"],
            description=r["description"], status=r["status"], disabled_reason=r["disabled_reason"],
            disabled_at=r["disabled_at"], failing_since=r["failing_since"], secrets=secrets[r["endpoint_id"]])
            for r in rows]


def _endpoint_row(endpoint: Endpoint) -> dict[str, Any]:
    return {"endpoint_id": endpoint.endpoint_id, "practice_id": endpoint.practice_id, "url": endpoint.url,
            "description": endpoint.description, "event_types": list(endpoint.event_types),
            "include_phi": endpoint.include_phi, "status": endpoint.status,
            "disabled_reason": endpoint.disabled_reason, "disabled_at": endpoint.disabled_at,
            "failing_since": endpoint.failing_since, "created_at": endpoint.created_at}


class SqlPracticeSettingsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def phi_opt_in(self, practice_id: str) -> bool:
        value = await self.session.scalar(select(practice_settings.c.phi_opt_in).where(
            practice_settings.c.practice_id == practice_id))
        return bool(value)

    async def set_phi_opt_in(self, practice_id: str, opt_in: bool, at: datetime) -> None:
        updated = await self.session.execute(update(practice_settings).where(
            practice_settings.c.practice_id == practice_id).values(phi_opt_in=opt_in, updated_at=at))
        if updated.rowcount == 0:  # type: ignore[attr-defined]
            await self.session.execute(insert(practice_settings).values(
                practice_id=practice_id, phi_opt_in=opt_in, updated_at=at))


class SqlEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_new(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """Store the events not stored yet; returns the ids that were new."""
        if not rows:
            return set()
        seen = set((await self.session.scalars(select(events.c.event_id).where(
            events.c.event_id.in_([r["event_id"] for r in rows])))).all())
        fresh = [r for r in rows if r["event_id"] not in seen]
        if fresh:
            await self.session.execute(insert(events), fresh)
        return {r["event_id"] for r in fresh}

    async def get(self, practice_id: str, event_id: str) -> dict[str, Any] | None:
        row = (await self.session.execute(select(events).where(
            events.c.practice_id == practice_id, events.c.event_id == event_id))).mappings().first()
        return dict(row) if row is not None else None

    async def received_between(self, practice_id: str, since: datetime, until: datetime, *,
                               limit: int) -> list[dict[str, Any]]:
        rows = (await self.session.execute(select(events).where(
            events.c.practice_id == practice_id, events.c.received_at >= since, events.c.received_at < until)
            .order_by(events.c.received_at, events.c.event_id).limit(limit))).mappings().all()
        return [dict(r) for r in rows]

    async def cloud_events(self, event_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not event_ids:
            return {}
        rows = await self.session.execute(select(events.c.event_id, events.c.cloud_event).where(
            events.c.event_id.in_(set(event_ids))))
        return {r.event_id: r.cloud_event for r in rows}


class SqlDeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enqueue(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """New deliveries, in the order given (the order of their lines)."""
        ids: list[int] = []
        for row in rows:  # one at a time: each id is the next place in its line
            result = await self.session.execute(insert(deliveries).values(**row).returning(deliveries.c.delivery_id))
            ids.append(int(result.scalar_one()))
        return ids

    async def due_heads(self, now: datetime, *, limit: int) -> list[Queued]:
        """Pending deliveries of enabled endpoints that are due, not leased, and the oldest pending one of their
        (endpoint, subject) line (so a long line held by a failing receiver never crowds out the others)."""
        earlier = deliveries.alias("earlier")
        rows = await self.session.execute(
            select(deliveries.c.delivery_id, deliveries.c.endpoint_id, deliveries.c.subject,
                   deliveries.c.next_attempt_at, deliveries.c.leased_until)
            .join(endpoints, endpoints.c.endpoint_id == deliveries.c.endpoint_id)
            .where(deliveries.c.status == "pending", endpoints.c.status == "enabled",
                   deliveries.c.next_attempt_at <= now,
                   deliveries.c.leased_until.is_(None) | (deliveries.c.leased_until <= now),
                   ~select(earlier.c.delivery_id).where(
                       earlier.c.status == "pending", earlier.c.endpoint_id == deliveries.c.endpoint_id,
                       earlier.c.subject == deliveries.c.subject,
                       earlier.c.delivery_id < deliveries.c.delivery_id).exists())
            .order_by(deliveries.c.delivery_id).limit(limit))
        return [Queued(r.delivery_id, r.endpoint_id, r.subject, r.next_attempt_at, r.leased_until) for r in rows]

    async def lease(self, delivery_ids: Sequence[int], now: datetime, until: datetime) -> list[int]:
        """Claim these deliveries for an attempt (only those still pending and not leased by another worker)."""
        leased: list[int] = []
        for delivery_id in delivery_ids:
            result = await self.session.execute(update(deliveries).where(
                deliveries.c.delivery_id == delivery_id, deliveries.c.status == "pending",
                (deliveries.c.leased_until.is_(None)) | (deliveries.c.leased_until <= now))
                .values(leased_until=until))
            if result.rowcount:  # type: ignore[attr-defined]
                leased.append(delivery_id)
        return leased

    async def get(self, delivery_id: int, *, lock: bool = False) -> Delivery | None:
        query = select(deliveries).where(deliveries.c.delivery_id == delivery_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().first()
        if row is None:
            return None
        return Delivery(row["delivery_id"], row["endpoint_id"], row["event_id"], row["subject"],
                        row["next_attempt_at"], row["status"], row["attempts"])

    async def save(self, delivery: Delivery, now: datetime) -> None:
        """The delivery's state and the attempts it recorded since it was read."""
        await self.session.execute(update(deliveries).where(deliveries.c.delivery_id == delivery.delivery_id)
                                   .values(status=delivery.status, attempts=delivery.attempts,
                                           next_attempt_at=delivery.next_attempt_at, leased_until=None,
                                           completed_at=None if delivery.status == "pending" else now))
        first = delivery.attempts - len(delivery.attempt_log) + 1
        for number, outcome in enumerate(delivery.attempt_log, start=first):
            await self.session.execute(insert(attempts).values(
                delivery_id=delivery.delivery_id, endpoint_id=delivery.endpoint_id, number=number, at=outcome.at,
                status_code=outcome.status_code, latency_ms=outcome.latency_ms, error=outcome.error))
        delivery.attempt_log.clear()

    async def release(self, endpoint_id: str, now: datetime) -> int:
        """An endpoint enabled again: its pending deliveries are due now."""
        result = await self.session.execute(update(deliveries).where(
            deliveries.c.endpoint_id == endpoint_id, deliveries.c.status == "pending")
            .values(next_attempt_at=now, leased_until=None))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def give_up_pending(self, endpoint_id: str, now: datetime) -> int:
        result = await self.session.execute(update(deliveries).where(
            deliveries.c.endpoint_id == endpoint_id, deliveries.c.status == "pending")
            .values(status="given_up", completed_at=now, leased_until=None))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def pending_count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(deliveries).where(
            deliveries.c.status == "pending")) or 0)

    async def has_pending(self, endpoint_id: str, event_id: str) -> bool:
        return await self.session.scalar(select(deliveries.c.delivery_id).where(and_(
            deliveries.c.endpoint_id == endpoint_id, deliveries.c.event_id == event_id,
            deliveries.c.status == "pending")).limit(1)) is not None
