"""HTTP routes: parse, call one service-layer function, return. Every patient-data access is audited."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from rcm_shared.http.audit import audited
from rcm_shared.http.auth import Principal, require_scope
from rcm_shared.http.deps import ClockDep, DatabaseDep
from rcm_shared.http.errors import ProblemError
from rcm_shared.http.idempotency import run_idempotent
from rcm_shared.http.pagination import cursor_after, encode_cursor
from rcm_shared.http.schemas import NonNegativeMoney, PlainText, PositiveMoney, StrictModel
from sqlalchemy import select

from patient_billing.adapters.orm import accounts
from patient_billing.domain.model import PatientAccount
from patient_billing.service_layer import handlers

router = APIRouter(prefix="/v1", tags=["patient accounts"])
Reader = Annotated[Principal, require_scope("patient-billing:read")]
Writer = Annotated[Principal, require_scope("patient-billing:write")]
PatientId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class EntryOut(BaseModel):
    entry_id: str
    kind: str
    amount: Decimal
    signed_amount: Decimal
    claim_id: str | None
    service_date: date | None
    posted_at: datetime


class AccountOut(BaseModel):
    account_id: str
    patient_id: str
    balance: Decimal
    aging: dict[str, Decimal]
    entries: list[EntryOut]


class PaymentIn(StrictModel):
    amount: PositiveMoney
    method: Literal["card", "cash", "check", "ach", "hsa"] = Field(examples=["card"])
    reference: PlainText | None = Field(default=None, max_length=80, examples=["pi_3Nx..."])


class AccountSummary(BaseModel):
    account_id: str
    patient_id: str
    balance: Decimal
    updated_at: datetime


class AccountPage(BaseModel):
    items: list[AccountSummary]
    next_cursor: str | None


def _account_out(account: PatientAccount, today: date) -> AccountOut:
    """``today``: the practice's date, from which the balance is aged."""
    return AccountOut(
        account_id=account.account_id, patient_id=account.patient_id, balance=account.balance,
        aging=account.aging(today),
        entries=[EntryOut(entry_id=e.entry_id, kind=e.kind.value, amount=e.amount, signed_amount=e.signed_amount,
                          claim_id=e.claim_id, service_date=e.service_date, posted_at=e.posted_at)
                 for e in account.entries],
    )


@router.get("/patients/{patient_id}/account", response_model=AccountOut, dependencies=[audited("patient_account")],
            summary="A patient's account")
async def get_account(patient_id: PatientId, principal: Reader, db: DatabaseDep, clock: ClockDep) -> AccountOut:
    async with db.transaction() as session:
        account = await handlers.load_account(session, principal.practice_id, patient_id)
    if account is None:
        raise ProblemError(404, "not-found", "No account for this patient")
    return _account_out(account, clock.today())


@router.post("/patients/{patient_id}/payments", status_code=201, response_model=AccountOut,
             dependencies=[audited("patient_payment", "create")],
             summary="Record a patient payment (card, cash, check, ACH, HSA)",
             description="Send an Idempotency-Key: a retried request records the payment once.")
async def post_payment(patient_id: PatientId, body: PaymentIn, principal: Writer, db: DatabaseDep,
                       request: Request, clock: ClockDep) -> JSONResponse:
    command = handlers.RecordPatientPayment(
        practice_id=principal.practice_id, patient_id=patient_id, amount=body.amount, method=body.method,
        reference=body.reference, payment_id=str(uuid.uuid4()))

    async def create(session):  # type: ignore[no-untyped-def]
        account = await handlers.record_patient_payment(session, command)
        return 201, _account_out(account, clock.today())

    return await run_idempotent(request, db, principal, "patient-payment", create)


@router.get("/accounts", response_model=AccountPage, dependencies=[audited("patient_account")],
            summary="Patient accounts with a balance (A/R)")
async def list_accounts(principal: Reader, db: DatabaseDep,
                        after: Annotated[dict[str, Any] | None, cursor_after("account_id")],
                        min_balance: Annotated[NonNegativeMoney, Query()] = Decimal("0.01"),
                        limit: Annotated[int, Query(ge=1, le=500)] = 100) -> AccountPage:
    query = (select(accounts).where(accounts.c.practice_id == principal.practice_id,
                                    accounts.c.balance >= int(min_balance * 100))
             .order_by(accounts.c.account_id).limit(limit + 1))
    if after:
        query = query.where(accounts.c.account_id > str(after["account_id"]))
    async with db.transaction() as session:
        rows = (await session.execute(query)).all()
    items = [AccountSummary(account_id=r.account_id, patient_id=r.patient_id, balance=r.balance,
                            updated_at=r.updated_at) for r in rows[:limit]]
    next_cursor = encode_cursor({"account_id": items[-1].account_id}) if len(rows) > limit else None
    return AccountPage(items=items, next_cursor=next_cursor)
