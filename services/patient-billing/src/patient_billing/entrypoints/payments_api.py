"""HTTP routes of card payments, cards on file, the processor's webhooks, payment plans and collections.
Thin: parse, build the command, call one use case, answer with a view; refusals become problem+json in one place
(``bootstrap.DOMAIN_ERRORS``). Every route but the processor's webhook needs a scoped token and is audited; the
webhook is authenticated by the processor's signature instead."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field, model_validator
from rcm_shared.db.types import from_cents, to_cents
from rcm_shared.http.audit import audited
from rcm_shared.http.auth import Principal
from rcm_shared.http.errors import ProblemError
from rcm_shared.http.idempotency import run_idempotent
from rcm_shared.http.schemas import PlainText, PlausibleDate, PositiveMoney, StrictModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patient_billing.adapters.payment_processor import BadSignature
from patient_billing.adapters.payments_orm import card_refunds, cards_on_file, payment_plans
from patient_billing.domain.card_payments import CardOnFile, CardPayment, PaymentState
from patient_billing.domain.exceptions import AccountNotFound
from patient_billing.domain.payment_commands import (
    DisputeBalance,
    OfferPlan,
    RefundCardPayment,
    SaveCard,
    ScheduleStatementAutopay,
    TakeCardPayment,
)
from patient_billing.entrypoints.api import ID, Adjuster, PatientId, Reader, Reason, Writer
from patient_billing.entrypoints.dependencies import ServicesDep
from patient_billing.service_layer import card_payments, collections, plans

log = logging.getLogger("patient_billing.payments_api")
router = APIRouter(prefix="/v1", tags=["card payments, plans and collections"])
ObjectId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID)]
ProcessorRef = Annotated[str, Field(min_length=3, max_length=100, pattern=r"^pm_[A-Za-z0-9_]+$",
                                    examples=["pm_card_visa"])]
#: A client's Idempotency-Key names the payment: concurrent requests with one key are one payment, one charge.
KEYED = uuid.UUID("6f1d3c0e-4b8a-4f6e-9d8c-2a1e5b7c9d40")


class CardPaymentIn(StrictModel):
    amount: PositiveMoney
    method_id: Annotated[str, Field(max_length=36, pattern=ID)] | None = Field(
        default=None, description="a card on file of the patient's account")
    payment_method: ProcessorRef | None = Field(
        default=None, description="a card the processor tokenized now (its payment-method id)")

    @model_validator(mode="after")
    def one_card(self) -> CardPaymentIn:
        if (self.method_id is None) == (self.payment_method is None):
            raise ValueError("give either method_id (a card on file) or payment_method (a card given now)")
        return self


class RefundIn(StrictModel):
    amount: PositiveMoney
    reason: Reason


class ConsentIn(StrictModel):
    signed_on: PlausibleDate
    text: Annotated[PlainText, Field(min_length=1, max_length=120,
                                     examples=["card-on-file-authorization-2026-v1"])]


class CardOnFileIn(StrictModel):
    payment_method: ProcessorRef
    consent: ConsentIn | None = Field(default=None, description="required: the recorded authorization to keep and "
                                                                "charge the card")
    autopay: bool = False


class StatementAutopayIn(StrictModel):
    statement_id: Annotated[str, Field(min_length=1, max_length=64, pattern=ID)]
    amount: PositiveMoney
    due_on: PlausibleDate


class PaymentLinkIn(StrictModel):
    amount: PositiveMoney
    description: Annotated[PlainText, Field(min_length=1, max_length=80)] = "Your statement"
    return_url: Annotated[str, Field(max_length=300, pattern=r"^https?://")] | None = None


class PlanIn(StrictModel):
    installments: Annotated[int, Field(ge=1, le=120)]
    first_due_on: PlausibleDate
    autopay_method_id: Annotated[str, Field(max_length=36, pattern=ID)] | None = None


class DisputeIn(StrictModel):
    reason: Reason
    open: bool = True


def _key_id(request: Request, principal: Principal, scope: str) -> str:
    key = request.headers.get("Idempotency-Key")
    return str(uuid.uuid5(KEYED, f"{principal.practice_id}:{scope}:{key}")) if key else str(uuid.uuid4())


def payment_view(p: CardPayment) -> dict[str, Any]:
    return {"payment_id": p.payment_id, "account_id": p.account_id, "amount": from_cents(p.amount),
            "state": p.state.value, "purpose": p.purpose, "method_id": p.method_id, "processor_ref": p.processor_ref,
            "decline_code": p.decline_code, "message": p.message, "action_url": p.action_url,
            "attempts": p.attempts, "next_attempt_at": p.next_attempt_at, "refunded": from_cents(p.refunded),
            "received_on": p.received_on, "installment_id": p.installment_id}


def card_view(c: CardOnFile) -> dict[str, Any]:
    return {"method_id": c.method_id, "account_id": c.account_id, "status": c.status, "brand": c.brand,
            "last4": c.last4, "autopay": c.autopay, "consent_signed_on": c.consent_signed_on,
            "consent_text": c.consent_text}


STATUS = {PaymentState.SUCCEEDED: 201, PaymentState.PENDING: 202, PaymentState.REQUIRES_ACTION: 202,
          PaymentState.DECLINED: 402}


@router.post("/patients/{patient_id}/card-payments", status_code=201,
             dependencies=[audited("card_payment", "create")],
             summary="Charge a card (given now, or on file) through the payment processor",
             description="Send an Idempotency-Key: retried or concurrent requests with one key are one payment and "
                         "one charge. 201 succeeded (posted to the ledger); 202 pending (the processor could not be "
                         "reached: asked again, never charged twice) or requires_action (the cardholder "
                         "authenticates at action_url); 402 declined (a work item is opened; nothing posted).",
             responses={202: {"description": "pending or requires_action"}, 402: {"description": "declined"}})
async def post_card_payment(patient_id: PatientId, body: CardPaymentIn, principal: Writer, services: ServicesDep,
                            request: Request) -> JSONResponse:
    command = TakeCardPayment(principal.practice_id, patient_id, _key_id(request, principal, "card-payment"),
                              to_cents(body.amount), body.method_id, body.payment_method)

    async def create(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        async with services.uows.joining(session) as uow:
            payment = await card_payments.take_card_payment(uow, services.processor, command,
                                                            services.payment_rules.plans, clock=services.clock)
        return STATUS[payment.state], payment_view(payment)

    return await run_idempotent(request, services.db, principal, "card-payment", create)


@router.get("/card-payments/{payment_id}", dependencies=[audited("card_payment")],
            summary="A card payment: its state, the processor's reference, a decline's reason, refunds")
async def get_card_payment(payment_id: ObjectId, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.uows() as uow:
        payment = await uow.payments.payment(principal.practice_id, payment_id)
        if payment is None:
            raise ProblemError(404, "not-found", "No such card payment")
        refunds = (await uow.session.execute(select(card_refunds).where(
            card_refunds.c.payment_id == payment_id).order_by(card_refunds.c.created_at))).mappings().all()
    return {**payment_view(payment), "refunds": [
        {"refund_id": r["refund_id"], "amount": from_cents(r["amount_cents"]), "processor_ref": r["processor_ref"],
         "reason": r["reason"], "created_at": r["created_at"]} for r in refunds]}


@router.post("/card-payments/{payment_id}/refunds", status_code=201,
             dependencies=[audited("card_refund", "create")],
             summary="Refund (part of) a card payment through the processor; never more than is left of it",
             description="Send an Idempotency-Key. Above what is left: 422 refund-exceeds-paid. Processor down: 503, "
                         "nothing moved (retry with the same key).")
async def post_card_refund(payment_id: ObjectId, body: RefundIn, principal: Adjuster, services: ServicesDep,
                           request: Request) -> JSONResponse:
    command = RefundCardPayment(principal.practice_id, payment_id, _key_id(request, principal, "card-refund"),
                                to_cents(body.amount), body.reason)

    async def create(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        async with services.uows.joining(session) as uow:
            payment = await card_payments.refund_card_payment(uow, services.processor, command,
                                                              clock=services.clock)
        return 201, {**payment_view(payment), "refund_id": command.refund_id}

    return await run_idempotent(request, services.db, principal, "card-refund", create)


@router.post("/patients/{patient_id}/payment-methods", status_code=201,
             dependencies=[audited("payment_method", "create")],
             summary="Keep a card on file (for autopay, plans), only with the recorded consent",
             description="Without consent: 422 consent-required, and the processor is not asked. A card that needs "
                         "the cardholder to authenticate is requires_action until the processor's webhook says so.")
async def post_payment_method(patient_id: PatientId, body: CardOnFileIn, principal: Writer, services: ServicesDep,
                              request: Request) -> JSONResponse:
    command = SaveCard(principal.practice_id, patient_id, _key_id(request, principal, "payment-method"),
                       body.payment_method, body.consent.signed_on if body.consent else None,
                       body.consent.text if body.consent else None, body.autopay)

    async def create(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        async with services.uows.joining(session) as uow:
            card = await card_payments.save_card(uow, services.processor, command, clock=services.clock)
        return 201, card_view(card)

    return await run_idempotent(request, services.db, principal, "payment-method", create)


@router.get("/accounts/{account_id}/payment-methods", dependencies=[audited("payment_method", "list")],
            summary="An account's cards on file (brand, last 4, status, autopay, consent)")
async def list_payment_methods(account_id: ObjectId, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.db.sessions() as session:
        rows = (await session.execute(select(cards_on_file.c.method_id).where(
            cards_on_file.c.practice_id == principal.practice_id, cards_on_file.c.account_id == account_id)
            .order_by(cards_on_file.c.created_at))).scalars().all()
    async with services.uows() as uow:
        cards = [await uow.payments.card(principal.practice_id, method_id) for method_id in rows]
    return {"account_id": account_id, "items": [card_view(c) for c in cards if c is not None]}


@router.post("/accounts/{account_id}/statement-autopay", status_code=201,
             dependencies=[audited("card_payment", "schedule")],
             summary="Charge a statement's balance to the account's autopay card on its due date",
             description="Once per statement; on the day it charges no more than the account owes then.")
async def post_statement_autopay(account_id: ObjectId, body: StatementAutopayIn, principal: Writer,
                                 services: ServicesDep) -> dict[str, Any]:
    command = ScheduleStatementAutopay(principal.practice_id, account_id, body.statement_id, to_cents(body.amount),
                                       body.due_on)
    async with services.uows() as uow:
        payment = await card_payments.schedule_statement_autopay(uow, command, clock=services.clock)
    return payment_view(payment)


@router.post("/accounts/{account_id}/payment-links", status_code=201,
             dependencies=[audited("payment_link", "create")],
             summary="A hosted payment page for an amount owed on the account (a statement's pay link)",
             description="The processor hosts the page (the sandbox processor at /pay/<id>); a payment made there "
                         "reaches the ledger through the processor's webhook.")
async def post_payment_link(account_id: ObjectId, body: PaymentLinkIn, principal: Writer, services: ServicesDep,
                            request: Request) -> JSONResponse:
    link_id = _key_id(request, principal, "payment-link")

    async def create(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        async with services.uows.joining(session) as uow:
            if await uow.accounts.get(principal.practice_id, account_id) is None:
                raise AccountNotFound("no account with this id", field="account_id")
        page = await services.processor.hosted_payment(
            amount=to_cents(body.amount), description=body.description, idempotency_key=f"rcm-link-{link_id}",
            metadata={"practice_id": principal.practice_id, "account_id": account_id}, return_url=body.return_url)
        return 201, {"account_id": account_id, "amount": body.amount, "session_id": page.session_id,
                     "url": page.url}

    return await run_idempotent(request, services.db, principal, "payment-link", create)


@router.post("/processor-events", summary="The payment processor's webhook (signed; no bearer token)",
             description="Verified by the Stripe-Signature header against the endpoint's secret: a bad or missing "
                         "signature is a 400 and nothing is read. Each event is taken once (duplicates: 200).")
async def post_processor_event(request: Request, services: ServicesDep) -> dict[str, Any]:
    payload = await request.body()
    try:
        event = services.processor.verify_event(payload, request.headers.get("stripe-signature"))
    except BadSignature as exc:
        # Nothing of the payload is logged (it may carry a payment's metadata): its size and why it was refused.
        log.warning("processor webhook refused: bad signature",
                    extra={"reason": str(exc), "bytes": len(payload),
                           "has_signature": request.headers.get("stripe-signature") is not None})
        raise ProblemError(400, "bad-signature", "The webhook's signature does not verify",
                           errors=[{"field": "header.Stripe-Signature", "code": "signature",
                                    "message": "not signed with this endpoint's secret (or too old)"}]) from None
    async with services.uows() as uow:
        result = await card_payments.handle_processor_event(uow, event, services.payment_rules.plans,
                                                           clock=services.clock)
    return {"received": True, "event_id": event.event_id, "result": result}


def plan_view(plan: Any) -> dict[str, Any]:
    return {"plan_id": plan.plan_id, "account_id": plan.account_id, "state": plan.state.value,
            "policy_id": plan.policy_id, "total": from_cents(plan.total), "remaining": from_cents(plan.remaining),
            "paid": from_cents(plan.paid), "autopay_method_id": plan.autopay_method_id, "missed": plan.missed,
            "installments": [{"installment_id": i.installment_id, "seq": i.seq, "due_on": i.due_on,
                              "amount": from_cents(i.amount), "state": i.state.value, "attempts": i.attempts,
                              "next_attempt_on": i.next_attempt_on, "payment_id": i.payment_id}
                             for i in plan.installments]}


@router.post("/accounts/{account_id}/plans", status_code=201, dependencies=[audited("payment_plan", "create")],
             summary="A payment plan over what the account owes now: monthly installments, autopay optional",
             description="Within the practice's plan rules (payment_plans.yaml): installments, smallest one.")
async def post_plan(account_id: ObjectId, body: PlanIn, principal: Writer, services: ServicesDep,
                    request: Request) -> JSONResponse:
    command = OfferPlan(principal.practice_id, account_id, _key_id(request, principal, "payment-plan"),
                        body.installments, body.first_due_on, body.autopay_method_id)

    async def create(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        async with services.uows.joining(session) as uow:
            plan = await plans.offer_plan(uow, command, services.payment_rules.plans, clock=services.clock)
        return 201, plan_view(plan)

    return await run_idempotent(request, services.db, principal, "payment-plan", create)


@router.get("/accounts/{account_id}/plans", dependencies=[audited("payment_plan", "list")],
            summary="An account's payment plans, newest first, with their installments")
async def list_plans(account_id: ObjectId, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.uows() as uow:
        ids = (await uow.session.execute(select(payment_plans.c.plan_id).where(
            payment_plans.c.practice_id == principal.practice_id, payment_plans.c.account_id == account_id)
            .order_by(payment_plans.c.created_on.desc()))).scalars().all()
        found = [await uow.payments.plan(principal.practice_id, plan_id) for plan_id in ids]
    return {"account_id": account_id, "items": [plan_view(p) for p in found if p is not None]}


@router.get("/plans/{plan_id}", dependencies=[audited("payment_plan")], summary="One payment plan")
async def get_plan(plan_id: ObjectId, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.uows() as uow:
        plan = await uow.payments.plan(principal.practice_id, plan_id)
    if plan is None:
        raise ProblemError(404, "not-found", "No such payment plan")
    return plan_view(plan)


@router.post("/plans/{plan_id}/cancel", dependencies=[audited("payment_plan", "cancel")],
             summary="Cancel a plan (what is left goes back to ordinary follow-up)")
async def cancel_plan(plan_id: ObjectId, principal: Writer, services: ServicesDep) -> dict[str, Any]:
    async with services.uows() as uow:
        plan = await plans.cancel_plan(uow, principal.practice_id, plan_id)
    return plan_view(plan)


@router.post("/plans/run", dependencies=[audited("payment_plan", "run")],
             summary="Run today's installments now (autopay charges, overdue ones by hand); the service also runs "
                     "them on its own")
async def run_plans(principal: Writer, services: ServicesDep) -> dict[str, Any]:
    handled = await plans.run_installments(services.uows, services.processor, services.payment_rules.plans,
                                           services.clock, principal.practice_id)
    return {"installments_handled": handled}


@router.get("/collections/queue", dependencies=[audited("collections", "list")],
            summary="Accounts owing money: the last dunning step, the next one and when, or why none is taken "
                    "(disputed, pending insurance, on a plan, below the minimum)")
async def collections_queue(principal: Reader, services: ServicesDep,
                            as_of: Annotated[PlausibleDate | None, Query()] = None) -> dict[str, Any]:
    today = as_of or services.clock.today()
    async with services.db.sessions() as session:
        items = await collections.queue(session, principal.practice_id, services.payment_rules.dunning, today)
    return {"as_of": today, "policy_id": services.payment_rules.dunning.in_force(today).policy_id, "items": items}


@router.post("/collections/run", dependencies=[audited("collections", "run")],
             summary="Take the dunning steps due today for the practice (the service also runs them on its own)")
async def run_collections(principal: Writer, services: ServicesDep) -> dict[str, Any]:
    taken = await collections.run_collections(services.uows, services.payment_rules.dunning, services.clock,
                                              principal.practice_id)
    return {"steps_taken": collections.summary(taken),
            "accounts": [{"account_id": d.account_id, "step": d.step, "days_past_due": d.days_past_due}
                         for d in taken]}


@router.post("/accounts/{account_id}/dispute", dependencies=[audited("balance_dispute", "write")],
             summary="Mark an account's balance disputed (no dunning step is taken) or the dispute resolved")
async def post_dispute(account_id: ObjectId, body: DisputeIn, principal: Writer, services: ServicesDep
                       ) -> dict[str, Any]:
    async with services.uows() as uow:
        await collections.dispute(uow, DisputeBalance(principal.practice_id, account_id, body.reason, body.open),
                                  services.clock.today())
    return {"account_id": account_id, "disputed": body.open}

