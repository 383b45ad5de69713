"""HTTP routes of patient billing: parse, build the command, call one use case, answer with a view. Every
patient-data read and write is audited; domain refusals become problem+json once (``bootstrap.DOMAIN_ERRORS``)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from rcm_shared.db.types import from_cents, to_cents
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
    ChargeMissedAppointment,
    RecordFinancialConsent,
    RecordIncome,
    RecordPayment,
    RefundPayment,
    ReverseEntry,
    WaiveFee,
)
from patient_billing.domain.exceptions import FeeNotAllowed, RulesNotInForce
from patient_billing.entrypoints.dependencies import ServicesDep
from patient_billing.service_layer import accounts, fees, ledger, sliding_scale, views

router = APIRouter(prefix="/v1", tags=["patient accounts"])
Reader = Annotated[Principal, require_scope("patient-billing:read")]
Writer = Annotated[Principal, require_scope("patient-billing:write")]
# Money going back or given up (refunds, adjustments, write-offs, reversals, fee waivers): a narrower scope.
Adjuster = Annotated[Principal, require_scope("patient-billing:adjust")]
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


@router.post("/patients/{patient_id}/guarantors", status_code=201, dependencies=[audited("guarantor", "create")],
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
async def post_refund(account_id: AccountId, body: RefundIn, principal: Adjuster, services: ServicesDep,
                      request: Request) -> JSONResponse:
    command = RefundPayment(principal.practice_id, account_id, str(uuid.uuid4()), body.payment_id,
                            to_cents(body.amount), services.clock.today(), body.reason)
    return await _moving(request, services, principal, "patient-refund", account_id,
                         lambda uow: ledger.refund_payment(uow, command, at=services.clock.now()))


@router.post("/accounts/{account_id}/adjustments", status_code=201,
             dependencies=[audited("patient_adjustment", "create")],
             summary="Adjust or write off what is open (never below zero)")
async def post_adjustment(account_id: AccountId, body: AdjustmentIn, principal: Adjuster, services: ServicesDep,
                          request: Request) -> JSONResponse:
    command = AdjustBalance(principal.practice_id, account_id, str(uuid.uuid4()), to_cents(body.amount),
                            services.clock.today(), body.reason, body.write_off, body.item_id)
    return await _moving(request, services, principal, "patient-adjustment", account_id,
                         lambda uow: ledger.adjust_balance(uow, command, at=services.clock.now()))


@router.post("/ledger/entries/{entry_id}/reversal", status_code=201,
             dependencies=[audited("ledger_entry", "reverse")],
             summary="Reverse a journal entry (its mirror, once)")
async def post_reversal(entry_id: AccountId, body: ReversalIn, principal: Adjuster, services: ServicesDep,
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


class IncomeIn(StrictModel):
    household_size: Annotated[int, Field(ge=1, le=20)]
    annual_income: NonNegativeMoney
    proof_received_on: PlausibleDate


class ConsentIn(StrictModel):
    signed_on: PlausibleDate


class MissedAppointmentIn(StrictModel):
    visit_id: Annotated[str, Field(min_length=1, max_length=64, pattern=ID)]
    service_date: PlausibleDate
    outcome: Literal["no_show", "late_cancel"]


class WaiverIn(StrictModel):
    reason: Reason


@router.post("/patients/{patient_id}/income-assessments", status_code=201,
             dependencies=[audited("sliding_scale_assessment", "create")],
             summary="Record household size and income with the proof received: the sliding-scale tier it gives")
async def post_income(patient_id: PatientId, body: IncomeIn, principal: Writer, services: ServicesDep
                      ) -> dict[str, Any]:
    command = RecordIncome(principal.practice_id, patient_id, body.household_size, to_cents(body.annual_income),
                           body.proof_received_on)
    async with services.uows() as uow:
        assessment = await sliding_scale.record_income(uow, command, services.rules.sliding_scale)
    return {"assessment_id": assessment.assessment_id, "tier": assessment.tier,
            "percent_of_fee": assessment.percent_of_fee, "policy_id": assessment.policy_id,
            "proof_expires_on": assessment.proof_expires_on}


@router.get("/patients/{patient_id}/income-assessments", dependencies=[audited("sliding_scale_assessment")],
            summary="A patient's sliding-scale assignments (tier, proof on file and its expiry)")
async def get_income(patient_id: PatientId, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.db.sessions() as session:
        items = await views.income_assessments(session, principal.practice_id, patient_id, services.clock.today())
    return {"patient_id": patient_id, "items": items}


@router.get("/sliding-scale/reassessments-due", dependencies=[audited("sliding_scale_assessment", "list")],
            summary="Patients whose proof of income expired (full fee until re-assessed) or expires soon")
async def reassessments_due(principal: Reader, services: ServicesDep,
                            within_days: Annotated[int, Query(ge=0, le=365)] = 30) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return {"items": await views.reassessments_due(session, principal.practice_id, services.clock.today(),
                                                       within_days)}


@router.post("/patients/{patient_id}/financial-consent", status_code=201,
             dependencies=[audited("financial_consent", "create")],
             summary="The patient signed the practice's written financial policy (no-show / late-cancel fees)")
async def post_consent(patient_id: PatientId, body: ConsentIn, principal: Writer, services: ServicesDep
                       ) -> dict[str, Any]:
    async with services.uows() as uow:
        await fees.record_consent(uow, RecordFinancialConsent(principal.practice_id, patient_id, body.signed_on))
    return {"patient_id": patient_id, "signed_on": body.signed_on}


@router.post("/patients/{patient_id}/missed-appointments", status_code=201,
             dependencies=[audited("patient_fee", "create")],
             summary="Charge the written policy's no-show or late-cancel fee (signed consent required; never to a "
                     "payer)", description="The same fee as a visit-scheduled event with an outcome; once per visit.")
async def post_missed(patient_id: PatientId, body: MissedAppointmentIn, principal: Writer, services: ServicesDep,
                      request: Request) -> JSONResponse:
    command = ChargeMissedAppointment(principal.practice_id, patient_id, body.visit_id, body.service_date,
                                      body.outcome)

    async def create(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        async with services.uows.joining(session) as uow:
            entry = await fees.charge_missed_appointment(uow, command, services.rules, at=services.clock.now())
        if entry is None:
            raise FeeNotAllowed("no fee: no signed financial policy on file for the date, no fee for the outcome, "
                                "or this appointment's fee is already charged", field="body.outcome")
        view = await views.account(session, principal.practice_id, entry.account_id, services.clock.today())
        assert view is not None
        return 201, {**view, "fee_entry_id": entry.entry_id}

    return await run_idempotent(request, services.db, principal, "patient-fee", create)


@router.post("/fees/{entry_id}/waiver", status_code=201, dependencies=[audited("patient_fee", "waive")],
             summary="Waive a no-show or late-cancel fee, with a reason (its reversal)")
async def post_waiver(entry_id: AccountId, body: WaiverIn, principal: Adjuster, services: ServicesDep,
                      request: Request) -> JSONResponse:
    command = WaiveFee(principal.practice_id, entry_id, services.clock.today(), body.reason)

    async def create(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        async with services.uows.joining(session) as uow:
            entry = await fees.waive_fee(uow, command, at=services.clock.now())
        view = await views.account(session, principal.practice_id, entry.account_id, services.clock.today())
        assert view is not None
        return 201, {**view, "reversal_entry_id": entry.entry_id}

    return await run_idempotent(request, services.db, principal, "fee-waiver", create)


@router.get("/fee-schedules", dependencies=[audited("fee_schedule")],
            summary="The self-pay fee schedule in force on a date (rules data)")
async def get_fee_schedules(principal: Reader, services: ServicesDep,
                            on: Annotated[PlausibleDate | None, Query()] = None) -> dict[str, Any]:
    day = on or services.clock.today()
    rules = services.rules.fees
    schedule = next((s for s in sorted(rules.schedules, key=lambda s: s.effective_from, reverse=True)
                     if s.effective_from <= day and (s.effective_to is None or day <= s.effective_to)), None)
    if schedule is None:
        raise RulesNotInForce(f"no fee schedule in force on {day.isoformat()}", field="query.on")
    return {"schedule_id": schedule.schedule_id, "version": rules.version, "effective_from": schedule.effective_from,
            "effective_to": schedule.effective_to,
            "appointment_types": {code: {"type": t.name, "intake": t.intake}
                                  for code, t in rules.appointment_types.items()},
            "credential_levels": dict(rules.credential_levels),
            "fees": [{"appointment_type": f.appointment_type, "level": f.level, "program": f.program,
                      "fee": from_cents(f.amount)} for f in schedule.fees]}


@router.get("/visits/{visit_id}/charges", dependencies=[audited("patient_charge")],
            summary="What a visit put on the patient ledger (charge or fee, sliding-scale adjustment, reversals)")
async def visit_charges(visit_id: AccountId, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.db.sessions() as session:
        return {"visit_id": visit_id, "items": await views.visit_entries(session, principal.practice_id, visit_id)}
