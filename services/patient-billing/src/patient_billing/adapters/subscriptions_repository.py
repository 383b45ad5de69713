"""SQL persistence of messaging subscriptions and metered messages (``subscriptions_orm.py``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from patient_billing.adapters.repository import _insert_ignoring_conflict
from patient_billing.adapters.subscriptions_orm import metered_messages, subscription_invoices, subscriptions
from patient_billing.domain.subscriptions import Invoice, Subscription, Term, line_view


class SqlSubscriptionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def meter(self, row: dict[str, Any]) -> bool:
        """Record one message; False when it was metered before (a redelivery)."""
        result = await self.session.execute(_insert_ignoring_conflict(self.session, metered_messages).values(**row))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def message_days(self, practice_id: str, patient_id: str, first: date, last: date,
                           directions: frozenset[str]) -> list[date]:
        rows = await self.session.execute(select(metered_messages.c.sent_on).where(
            metered_messages.c.practice_id == practice_id, metered_messages.c.patient_id == patient_id,
            metered_messages.c.sent_on.between(first, last), metered_messages.c.direction.in_(sorted(directions))))
        return list(rows.scalars())

    async def usage(self, practice_id: str, patient_id: str, first: date, last: date) -> dict[str, Any]:
        row = (await self.session.execute(select(func.count(), func.coalesce(func.sum(metered_messages.c.minutes), 0))
                                          .where(metered_messages.c.practice_id == practice_id,
                                                 metered_messages.c.patient_id == patient_id,
                                                 metered_messages.c.sent_on.between(first, last)))).one()
        return {"messages": int(row[0]), "minutes": int(row[1])}

    async def get(self, practice_id: str, subscription_id: str, *, lock: bool = False) -> Subscription | None:
        query = select(subscriptions).where(subscriptions.c.practice_id == practice_id,
                                            subscriptions.c.subscription_id == subscription_id)
        row = (await self.session.execute(query.with_for_update() if lock else query)).mappings().first()
        return _subscription(row) if row is not None else None

    async def current(self, practice_id: str, patient_id: str, on: date) -> Subscription | None:
        rows = (await self.session.execute(select(subscriptions).where(
            subscriptions.c.practice_id == practice_id, subscriptions.c.patient_id == patient_id,
            (subscriptions.c.ends_on.is_(None)) | (subscriptions.c.ends_on >= on)))).mappings().all()
        return _subscription(rows[0]) if rows else None

    async def to_close(self, practice_id: str | None, first: date, last: date) -> list[tuple[str, str]]:
        query = select(subscriptions.c.practice_id, subscriptions.c.subscription_id).where(
            subscriptions.c.started_on <= last,
            (subscriptions.c.ends_on.is_(None)) | (subscriptions.c.ends_on >= first))
        if practice_id is not None:
            query = query.where(subscriptions.c.practice_id == practice_id)
        return [(r.practice_id, r.subscription_id) for r in (await self.session.execute(
            query.order_by(subscriptions.c.subscription_id))).all()]

    async def add(self, subscription: Subscription, at: datetime) -> bool:
        """False when the patient got an open subscription meanwhile (a concurrent subscribe won)."""
        try:
            async with self.session.begin_nested():
                await self.session.execute(subscriptions.insert().values(
                    subscription_id=subscription.subscription_id, practice_id=subscription.practice_id,
                    patient_id=subscription.patient_id, created_at=at, updated_at=at, **_columns(subscription)))
        except IntegrityError:
            return False
        return True

    async def save(self, subscription: Subscription, at: datetime) -> None:
        await self.session.execute(subscriptions.update().where(
            subscriptions.c.subscription_id == subscription.subscription_id).values(updated_at=at,
                                                                                   **_columns(subscription)))

    async def add_invoice(self, invoice_id: str, practice_id: str, account_id: str, invoice: Invoice,
                          entry_id: str | None, at: datetime) -> None:
        await self.session.execute(subscription_invoices.insert().values(
            invoice_id=invoice_id, practice_id=practice_id, subscription_id=invoice.subscription_id,
            period=invoice.period, entry_id=entry_id, account_id=account_id, total_cents=invoice.total,
            lines=line_view(invoice.lines), closed_at=at))

    async def invoices(self, practice_id: str, subscription_id: str) -> list[dict[str, Any]]:
        rows = await self.session.execute(select(subscription_invoices).where(
            subscription_invoices.c.practice_id == practice_id,
            subscription_invoices.c.subscription_id == subscription_id).order_by(subscription_invoices.c.period))
        return [dict(r) for r in rows.mappings()]


def _columns(subscription: Subscription) -> dict[str, Any]:
    return {"started_on": subscription.started_on, "ends_on": subscription.ends_on,
            "terms": [{"plan_id": t.plan_id, "from_day": t.from_day.isoformat()} for t in subscription.terms],
            "closed_periods": list(subscription.closed_periods)}


def _subscription(row: Any) -> Subscription:
    return Subscription(row["subscription_id"], row["practice_id"], row["patient_id"], row["started_on"],
                        [Term(t["plan_id"], date.fromisoformat(t["from_day"])) for t in row["terms"]],
                        row["ends_on"], list(row["closed_periods"]))
