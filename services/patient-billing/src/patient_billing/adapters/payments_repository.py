"""Load and save card payments, cards on file, processor customers, the processor-webhook inbox, payment plans
and collections steps (the tables of ``payments_orm``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from rcm_shared.db.types import new_id
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from patient_billing.adapters.payments_orm import (
    balance_disputes,
    card_payments,
    card_refunds,
    cards_on_file,
    collection_steps,
    payment_plans,
    plan_installments,
    processor_customers,
    processor_events,
)
from patient_billing.domain.card_payments import CardOnFile, CardPayment, PaymentState
from patient_billing.domain.plans import Installment, InstallmentState, PaymentPlan, PlanState


class SqlPaymentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- card payments
    async def add_payment(self, payment: CardPayment) -> None:
        """Insert a new payment; a concurrent insert of the same id waits for the first and then fails
        (IntegrityError), so only one request ever asks the processor."""
        await self.session.execute(insert(card_payments).values(**_payment_row(payment)))

    async def payment(self, practice_id: str | None, payment_id: str, *, for_update: bool = False
                      ) -> CardPayment | None:
        query = select(card_payments).where(card_payments.c.payment_id == payment_id)
        if practice_id is not None:
            query = query.where(card_payments.c.practice_id == practice_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().first()
        return _payment(row) if row is not None else None

    async def payment_by_ref(self, processor_ref: str) -> CardPayment | None:
        row = (await self.session.execute(select(card_payments).where(
            card_payments.c.processor_ref == processor_ref).with_for_update())).mappings().first()
        return _payment(row) if row is not None else None

    async def save_payment(self, payment: CardPayment, now: datetime) -> None:
        values = _payment_row(payment)
        values.pop("payment_id")
        values.pop("created_at")
        values["updated_at"] = now
        await self.session.execute(update(card_payments).where(
            card_payments.c.payment_id == payment.payment_id).values(**values))

    async def retry_due(self, now: datetime, limit: int = 50) -> list[str]:
        """Pending payments whose next attempt has come (oldest first), locked past other workers."""
        query = (select(card_payments.c.payment_id).where(
            card_payments.c.state == PaymentState.PENDING.value, card_payments.c.next_attempt_at.is_not(None),
            card_payments.c.next_attempt_at <= now).order_by(card_payments.c.next_attempt_at).limit(limit))
        return list((await self.session.execute(query)).scalars())

    async def add_refund(self, *, refund_id: str, practice_id: str, payment_id: str, amount: int,
                         processor_ref: str, reason: str, at: datetime) -> None:
        await self.session.execute(insert(card_refunds).values(
            refund_id=refund_id, practice_id=practice_id, payment_id=payment_id, amount_cents=amount,
            processor_ref=processor_ref, reason=reason, created_at=at))

    # -- customers and cards on file
    async def customer_ref(self, account_id: str) -> str | None:
        return (await self.session.execute(select(processor_customers.c.customer_ref).where(
            processor_customers.c.account_id == account_id))).scalar()

    async def add_customer(self, practice_id: str, account_id: str, customer_ref: str) -> None:
        await self.session.execute(insert(processor_customers).values(
            account_id=account_id, practice_id=practice_id, customer_ref=customer_ref))

    async def add_card(self, card: CardOnFile) -> None:
        await self.session.execute(insert(cards_on_file).values(**_card_row(card)))

    async def save_card(self, card: CardOnFile) -> None:
        values = _card_row(card)
        await self.session.execute(update(cards_on_file).where(
            cards_on_file.c.method_id == card.method_id).values(**values))

    async def card(self, practice_id: str | None, method_id: str) -> CardOnFile | None:
        query = select(cards_on_file).where(cards_on_file.c.method_id == method_id)
        if practice_id is not None:
            query = query.where(cards_on_file.c.practice_id == practice_id)
        row = (await self.session.execute(query)).mappings().first()
        return _card(row) if row is not None else None

    async def card_by_setup(self, setup_ref: str) -> CardOnFile | None:
        row = (await self.session.execute(select(cards_on_file).where(
            cards_on_file.c.setup_ref == setup_ref))).mappings().first()
        return _card(row) if row is not None else None

    async def autopay_card(self, practice_id: str, account_id: str) -> CardOnFile | None:
        row = (await self.session.execute(select(cards_on_file).where(
            cards_on_file.c.practice_id == practice_id, cards_on_file.c.account_id == account_id,
            cards_on_file.c.status == "active", cards_on_file.c.autopay.is_(True))
            .order_by(cards_on_file.c.created_at.desc()).limit(1))).mappings().first()
        return _card(row) if row is not None else None

    async def autopay_accounts(self) -> list[tuple[str, str]]:
        """(practice, account) of every account with an active autopay card."""
        rows = await self.session.execute(select(cards_on_file.c.practice_id, cards_on_file.c.account_id).where(
            cards_on_file.c.status == "active", cards_on_file.c.autopay.is_(True)).distinct())
        return [(r.practice_id, r.account_id) for r in rows]

    # -- processor webhooks (inbox)
    async def first_delivery(self, event_id: str, kind: str, at: datetime) -> bool:
        """Record a processor event; False when it was already taken (a duplicate delivery)."""
        try:
            async with self.session.begin_nested():
                await self.session.execute(insert(processor_events).values(event_id=event_id, kind=kind,
                                                                           received_at=at))
        except IntegrityError:
            return False
        return True

    # -- plans
    async def add_plan(self, plan: PaymentPlan) -> None:
        await self.session.execute(insert(payment_plans).values(**_plan_row(plan), version=1))
        await self.session.execute(insert(plan_installments), [_installment_row(plan, i) for i in plan.installments])
        plan.version = 1

    async def plan(self, practice_id: str | None, plan_id: str) -> PaymentPlan | None:
        query = select(payment_plans).where(payment_plans.c.plan_id == plan_id)
        if practice_id is not None:
            query = query.where(payment_plans.c.practice_id == practice_id)
        row = (await self.session.execute(query.with_for_update())).mappings().first()
        return await self._plan(row) if row is not None else None

    async def plan_of_installment(self, installment_id: str) -> PaymentPlan | None:
        plan_id = (await self.session.execute(select(plan_installments.c.plan_id).where(
            plan_installments.c.installment_id == installment_id))).scalar()
        return await self.plan(None, plan_id) if plan_id is not None else None

    async def active_plan(self, practice_id: str, account_id: str) -> PaymentPlan | None:
        row = (await self.session.execute(select(payment_plans).where(
            payment_plans.c.practice_id == practice_id, payment_plans.c.account_id == account_id,
            payment_plans.c.state == PlanState.ACTIVE.value).with_for_update())).mappings().first()
        return await self._plan(row) if row is not None else None

    async def plans_due(self, today: date, practice_id: str | None = None) -> list[str]:
        """Active plans with an open installment due (or due again) by ``today``, or overdue by hand."""
        due = (select(plan_installments.c.plan_id).where(
            plan_installments.c.state.in_([InstallmentState.SCHEDULED.value, InstallmentState.RETRYING.value]),
            ((plan_installments.c.next_attempt_on.is_(None) & (plan_installments.c.due_on <= today))
             | (plan_installments.c.next_attempt_on <= today))).distinct())
        query = select(payment_plans.c.plan_id).where(payment_plans.c.state == PlanState.ACTIVE.value,
                                                      payment_plans.c.plan_id.in_(due))
        if practice_id is not None:
            query = query.where(payment_plans.c.practice_id == practice_id)
        return list((await self.session.execute(query)).scalars())

    async def save_plan(self, plan: PaymentPlan) -> None:
        await self.session.execute(update(payment_plans).where(payment_plans.c.plan_id == plan.plan_id).values(
            state=plan.state.value, missed=plan.missed, autopay_method_id=plan.autopay_method_id,
            version=plan.version + 1))
        plan.version += 1
        for item in plan.installments:
            await self.session.execute(update(plan_installments).where(
                plan_installments.c.installment_id == item.installment_id).values(
                    amount_cents=item.amount, state=item.state.value, attempts=item.attempts,
                    next_attempt_on=item.next_attempt_on, payment_id=item.payment_id))

    async def _plan(self, row: Any) -> PaymentPlan:
        items = (await self.session.execute(select(plan_installments).where(
            plan_installments.c.plan_id == row["plan_id"]).order_by(plan_installments.c.seq))).mappings().all()
        return PaymentPlan(row["plan_id"], row["practice_id"], row["account_id"], row["policy_id"],
                           row["total_cents"], row["created_on"], [Installment(
                               i["installment_id"], i["seq"], i["due_on"], i["amount_cents"],
                               InstallmentState(i["state"]), i["attempts"], i["next_attempt_on"], i["payment_id"])
                               for i in items], row["autopay_method_id"], PlanState(row["state"]), row["missed"],
                           row["version"])

    # -- collections
    async def steps_taken(self, practice_id: str, account_id: str) -> tuple[str, ...]:
        """Steps taken since the account last owed nothing (a paid-off account starts again)."""
        rows = await self.session.execute(select(collection_steps.c.step).where(
            collection_steps.c.practice_id == practice_id, collection_steps.c.account_id == account_id)
            .order_by(collection_steps.c.rank))
        return tuple(rows.scalars())

    async def take_step(self, practice_id: str, account_id: str, step: str, rank: int, on: date, balance: int,
                        policy_id: str) -> None:
        await self.session.execute(insert(collection_steps).values(
            step_id=new_id(), practice_id=practice_id, account_id=account_id, step=step, rank=rank, taken_on=on,
            balance_cents=balance, policy_id=policy_id))

    async def clear_steps(self, practice_id: str, account_id: str) -> None:
        await self.session.execute(delete(collection_steps).where(
            collection_steps.c.practice_id == practice_id, collection_steps.c.account_id == account_id))

    async def disputed(self, practice_id: str, account_id: str) -> bool:
        return (await self.session.execute(select(balance_disputes.c.account_id).where(
            balance_disputes.c.practice_id == practice_id, balance_disputes.c.account_id == account_id,
            balance_disputes.c.resolved_on.is_(None)))).first() is not None

    async def set_dispute(self, practice_id: str, account_id: str, on: date, reason: str, open_: bool) -> None:
        await self.session.execute(delete(balance_disputes).where(
            balance_disputes.c.practice_id == practice_id, balance_disputes.c.account_id == account_id))
        await self.session.execute(insert(balance_disputes).values(
            practice_id=practice_id, account_id=account_id, opened_on=on, reason=reason,
            resolved_on=None if open_ else on, detail={}))


def _payment_row(p: CardPayment) -> dict[str, Any]:
    return {"payment_id": p.payment_id, "practice_id": p.practice_id, "account_id": p.account_id,
            "patient_id": p.patient_id, "amount_cents": p.amount, "state": p.state.value, "purpose": p.purpose,
            "method_id": p.method_id, "payment_method_ref": p.payment_method_ref, "customer_ref": p.customer_ref,
            "processor_ref": p.processor_ref, "decline_code": p.decline_code, "message": p.message,
            "action_url": p.action_url, "attempts": p.attempts, "next_attempt_at": p.next_attempt_at,
            "refunded_cents": p.refunded, "installment_id": p.installment_id, "received_on": p.received_on,
            "created_at": p.created_at, "updated_at": p.created_at}


def _payment(r: Any) -> CardPayment:
    return CardPayment(r["payment_id"], r["practice_id"], r["account_id"], r["patient_id"], r["amount_cents"],
                       r["method_id"], r["payment_method_ref"], r["customer_ref"], r["purpose"], r["created_at"],
                       PaymentState(r["state"]), r["processor_ref"], r["decline_code"], r["message"], r["action_url"],
                       r["attempts"], r["next_attempt_at"], r["refunded_cents"], r["installment_id"],
                       r["received_on"])


def _card_row(c: CardOnFile) -> dict[str, Any]:
    return {"method_id": c.method_id, "practice_id": c.practice_id, "account_id": c.account_id,
            "customer_ref": c.customer_ref, "payment_method_ref": c.payment_method_ref, "setup_ref": c.setup_ref,
            "status": c.status, "brand": c.brand, "last4": c.last4, "autopay": c.autopay,
            "consent_signed_on": c.consent_signed_on, "consent_text": c.consent_text, "created_at": c.created_at}


def _card(r: Any) -> CardOnFile:
    return CardOnFile(r["method_id"], r["practice_id"], r["account_id"], r["customer_ref"], r["payment_method_ref"],
                      r["consent_signed_on"], r["consent_text"], r["created_at"], r["status"], r["brand"], r["last4"],
                      r["setup_ref"], r["autopay"])


def _plan_row(p: PaymentPlan) -> dict[str, Any]:
    return {"plan_id": p.plan_id, "practice_id": p.practice_id, "account_id": p.account_id,
            "policy_id": p.policy_id, "total_cents": p.total, "created_on": p.created_on, "state": p.state.value,
            "autopay_method_id": p.autopay_method_id, "missed": p.missed}


def _installment_row(p: PaymentPlan, i: Installment) -> dict[str, Any]:
    return {"installment_id": i.installment_id, "plan_id": p.plan_id, "practice_id": p.practice_id, "seq": i.seq,
            "due_on": i.due_on, "amount_cents": i.amount, "state": i.state.value, "attempts": i.attempts,
            "next_attempt_on": i.next_attempt_on, "payment_id": i.payment_id}
