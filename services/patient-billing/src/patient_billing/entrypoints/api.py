"""HTTP routes of patient billing: parse, build the command, call one use case, answer with a view. Every
patient-data read and write is audited; domain refusals become problem+json once (``bootstrap.DOMAIN_ERRORS``)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from rcm_shared.db.types import to_cents
from rcm_shared.http.audit import audited
from rcm_shared.http.auth import Principal, require_scope
from rcm_shared.http.errors import ProblemError
from rcm_shared.http.idempotency import run_idempotent
from rcm_shared.http.pagination import cursor_after, encode_cursor
from rcm_shared.http.schemas import NonNegativeMoney, PlainText, PlausibleDate, PositiveMoney, StrictModel
from sqlalchemy.ext.asyncio import AsyncSession

from patient_billing.domain.commands import (
    AdjustBalance,
    AssignGuarantor,
    RecordPayment,
    RefundPayment,
    ReverseEntry,
)
from patient_billing.entrypoints.dependencies import ServicesDep
from patient_billing.service_layer import accounts, ledger, views

router = APIRouter(prefix="/v1", tags=["patient accounts"])
Reader = Annotated[Principal, require_scope("patient-billing:read")]
Writer = Annotated[Principal, require_scope("patient-billing:write")]
ID = r"^[A-Za-z0-9_.:-]+$"
PatientId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID)]
AccountId = Annotated[str, Path(min_length=1, max_length=36, pattern=ID)]
Reason = Annotated[PlainText, Field(min_length=1, max_length=200)]


class PaymentIn(StrictModel):
    amount: PositiveMoney
    method: Literal["card", "cash", "check", "ach", "hsa"] = Field(examples=["card"])
    reference: PlainText | None = Field(default=None, max_length=80, examples=["pi_3Nx..."])
    received_on: PlausibleDate | None = Field(default=None, description="default: the practice's today")
    for_visit_on: PlausibleDate | None = Field(
        default=None, description="a copay collected at the visit of this date: applied to that visit's assessed "
                                  "responsibility (it waits for it while the payer decides)")


class RefundIn(StrictModel):
    payment_id: Annotated[str, Field(min_length=1, max_length=64, pattern=ID)]
    amount: PositiveMoney
    reason: Reason


class AdjustmentIn(StrictModel):
    amount: PositiveMoney
    reason: Reason
    write_off: bool = False
    item_id: Annotated[str, Field(max_length=36, pattern=ID)] | None = None


class ReversalIn(StrictModel):
    reason: Reason


class GuarantorIn(StrictModel):
    guarantor_id: Annotated[str, Field(min_length=1, max_length=64, pattern=ID)]
    relationship: Literal["self", "child", "ward", "spouse", "other"]
    effective_from: PlausibleDate
    family: bool = False


@router.get("/patients/{patient_id}/account", dependencies=[audited("patient_account")],
            summary="The account a patient's bills go to today (theirs, or their guarantor's)")
async def get_patient_account(patient_id: PatientId, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    today = services.clock.today()
    async with services.db.sessions() as session:
        account_id = await views.account_id_for(session, principal.practice_id, patient_id, today)
        found = await views.account(session, principal.practice_id, account_id, today) if account_id else None
    if found is None:
        raise ProblemError(404, "not-found", "No account for this patient")
    return found


@router.post("/patients/{patient_id}/payments", status_code=201, dependencies=[audited("patient_payment", "create")],
             summary="Record a patient payment (card, cash, check, ACH, HSA)",
             description="Send an Idempotency-Key: a retried (or concurrent) request records the payment once.")
async def post_payment(patient_id: PatientId, body: PaymentIn, principal: Writer, services: ServicesDep,
                       request: Request) -> JSONResponse:
    today = services.clock.today()
    payment_id = str(uuid.uuid4())
    command = RecordPayment(principal.practice_id, patient_id, payment_id, to_cents(body.amount), body.method,
                            body.received_on or today, body.reference, body.for_visit_on)

    async def create(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        async with services.uows.joining(session) as uow:
            account = await ledger.record_payment(uow, command, at=services.clock.now())
        view = await views.account(session, principal.practice_id, account.account_id, today)
        assert view is not None
        return 201, {**view, "payment_id": payment_id}

    return await run_idempotent(request, services.db, principal, "patient-payment", create)


@router.get("/accounts", summary="Responsible-party accounts with a balance (patient A/R)",
            dependencies=[audited("patient_account")])
async def list_accounts(principal: Reader, services: ServicesDep,
                        after: Annotated[dict[str, Any] | None, cursor_after("account_id")],
                        min_balance: Annotated[NonNegativeMoney, Query()] = Decimal("0.01"),
                        limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    async with services.db.sessions() as session:
        items, more = await views.accounts_page(
            session, principal.practice_id, min_balance_cents=to_cents(min_balance),
            after=str(after["account_id"]) if after else None, limit=limit)
    return {"items": items, "next_cursor": encode_cursor({"account_id": items[-1]["account_id"]}) if more else None}


@router.get("/accounts/{account_id}", dependencies=[audited("patient_account")],
            summary="One responsible party's account: balance, due now, held for insurance, aging, entries")
async def get_account(account_id: AccountId, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.db.sessions() as session:
        found = await views.account(session, principal.practice_id, account_id, services.clock.today())
    if found is None:
        raise ProblemError(404, "not-found", "No such account")
    return found


@router.get("/accounts/{account_id}/entries", dependencies=[audited("ledger_entry")],
            summary="An account's journal entries with their balanced lines, a page at a time")
async def account_entries(account_id: AccountId, principal: Reader, services: ServicesDep,
                          after: Annotated[dict[str, Any] | None, cursor_after("entry_id")],
                          limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    async with services.db.sessions() as session:
        items, more = await views.ledger_entries(session, principal.practice_id, account_id,
                                                 after=str(after["entry_id"]) if after else None, limit=limit)
    return {"items": items, "next_cursor": encode_cursor({"entry_id": items[-1]["entry_id"]}) if more else None}


@router.put("/patients/{patient_id}/guarantor", dependencies=[audited("guarantor", "write")],
            summary="Name who pays for a patient from a date (a parent or guardian, a family account)",
            description="The patient's open items dated from effective_from move to the guarantor's account "
                        "(a transfer between responsible parties; service dates kept).")
async def put_guarantor(patient_id: PatientId, body: GuarantorIn, principal: Writer,
                        services: ServicesDep) -> dict[str, Any]:
    command = AssignGuarantor(principal.practice_id, patient_id, body.guarantor_id, body.relationship,
                              body.effective_from, body.family)
    async with services.uows() as uow:
        account = await accounts.assign_guarantor(uow, command, at=services.clock.now())
        view = await views.account(uow.session, principal.practice_id, account.account_id, services.clock.today())
    assert view is not None
    return view


@router.post("/accounts/{account_id}/refunds", status_code=201, dependencies=[audited("patient_refund", "create")],
             summary="Refund (part of) a payment; never more than is left of it",
             description="Send an Idempotency-Key. A refund above what is left of the payment is a 422.")
async def post_refund(account_id: AccountId, body: RefundIn, principal: Writer, services: ServicesDep,
                      request: Request) -> JSONResponse:
    command = RefundPayment(principal.practice_id, account_id, str(uuid.uuid4()), body.payment_id,
                            to_cents(body.amount), services.clock.today(), body.reason)
    return await _moving(request, services, principal, "patient-refund", account_id,
                         lambda uow: ledger.refund_payment(uow, command, at=services.clock.now()))


@router.post("/accounts/{account_id}/adjustments", status_code=201,
             dependencies=[audited("patient_adjustment", "create")],
             summary="Adjust or write off what is open (never below zero)")
async def post_adjustment(account_id: AccountId, body: AdjustmentIn, principal: Writer, services: ServicesDep,
                          request: Request) -> JSONResponse:
    command = AdjustBalance(principal.practice_id, account_id, str(uuid.uuid4()), to_cents(body.amount),
                            services.clock.today(), body.reason, body.write_off, body.item_id)
    return await _moving(request, services, principal, "patient-adjustment", account_id,
                         lambda uow: ledger.adjust_balance(uow, command, at=services.clock.now()))


@router.post("/ledger/entries/{entry_id}/reversal", status_code=201,
             dependencies=[audited("ledger_entry", "reverse")],
             summary="Reverse a journal entry (its mirror, once)")
async def post_reversal(entry_id: AccountId, body: ReversalIn, principal: Writer, services: ServicesDep,
                        request: Request) -> JSONResponse:
    command = ReverseEntry(principal.practice_id, entry_id, services.clock.today(), body.reason)

    async def create(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        async with services.uows.joining(session) as uow:
            entry = await ledger.reverse_entry(uow, command, at=services.clock.now())
        view = await views.account(session, principal.practice_id, entry.account_id, services.clock.today())
        assert view is not None
        return 201, {**view, "reversal_entry_id": entry.entry_id}

    return await run_idempotent(request, services.db, principal, "ledger-reversal", create)


async def _moving(request: Request, services: Any, principal: Principal, scope: str, account_id: str,
                  use_case: Any) -> JSONResponse:
    async def create(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        async with services.uows.joining(session) as uow:
            await use_case(uow)
        view = await views.account(session, principal.practice_id, account_id, services.clock.today())
        assert view is not None
        return 201, view

    return await run_idempotent(request, services.db, principal, scope, create)


@router.get("/ledger/trial-balance", dependencies=[audited("ledger")],
            summary="Balances per ledger; debits always equal credits, and the accounts agree with patient A/R")
async def trial_balance(principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return await views.trial_balance(session, principal.practice_id)


@router.get("/reports/aging", dependencies=[audited("patient_aging")],
            summary="Patient A/R by age (0-30, 31-60, 61-90, 91-120, 120+) for the practice, or by program or "
                    "clinician")
async def aging_report(principal: Reader, services: ServicesDep,
                       by: Annotated[Literal["practice", "program", "clinician"], Query()] = "practice",
                       as_of: Annotated[PlausibleDate | None, Query()] = None) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return await views.aging(session, principal.practice_id, as_of or services.clock.today(), by)


@router.get("/reports/balances", dependencies=[audited("patient_balances")],
            summary="What responsible parties owe the practice, and what it owes back")
async def balances_report(principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return await views.balances(session, principal.practice_id)


@router.get("/work-items/refunds", dependencies=[audited("patient_account", "list")],
            summary="Credit balances to refund (overpayments; copays waiting for a payer are not listed)")
async def refund_work_items(principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return {"items": await views.refund_work_items(session, principal.practice_id)}
