"""HTTP routes of messaging subscriptions: subscribe a patient to a plan, change the plan, cancel, read one with
its period's metered messages and its invoices, and close a billing period. Every route needs a scoped token and
is audited; refusals become problem+json in one place (``bootstrap.DOMAIN_ERRORS``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import Field
from rcm_shared.db.types import from_cents
from rcm_shared.http.audit import audited
from rcm_shared.http.schemas import StrictModel

from patient_billing.domain.subscriptions import Subscription, period_days, period_of
from patient_billing.entrypoints.api import ID, PatientId, Reader, Writer
from patient_billing.entrypoints.dependencies import ServicesDep
from patient_billing.service_layer import subscriptions

router = APIRouter(prefix="/v1", tags=["messaging subscriptions"])
SubscriptionId = Annotated[str, Path(min_length=1, max_length=36, pattern=ID)]
PlanId = Annotated[str, Field(min_length=1, max_length=64, pattern=ID, examples=["messaging-basic"])]


class PlanChoice(StrictModel):
    plan_id: PlanId = Field(description="a plan of the practice's subscriptions.yaml")


class PeriodIn(StrictModel):
    period: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-11"])] | None = Field(
        default=None, description="the billing period (a month) to close; default: last month")


def subscription_view(subscription: Subscription, usage: dict[str, Any] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "subscription_id": subscription.subscription_id, "patient_id": subscription.patient_id,
        "state": subscription.state, "started_on": subscription.started_on, "ends_on": subscription.ends_on,
        "plan_id": subscription.terms[-1].plan_id,
        "terms": [{"plan_id": t.plan_id, "from": t.from_day} for t in subscription.terms],
        "closed_periods": subscription.closed_periods}
    if usage is not None:
        view["current_period"] = usage
    return view


@router.post("/patients/{patient_id}/subscriptions", status_code=201,
             dependencies=[audited("subscription", "create")],
             summary="Subscribe a patient to a messaging plan (from today; the first period is prorated)")
async def subscribe(patient_id: PatientId, body: PlanChoice, principal: Writer,
                    services: ServicesDep) -> dict[str, Any]:
    async with services.uows() as uow:
        subscription = await subscriptions.subscribe(uow, principal.practice_id, patient_id, body.plan_id,
                                                     services.payment_rules.subscriptions, services.clock)
    return subscription_view(subscription)


@router.get("/subscriptions/{subscription_id}", dependencies=[audited("subscription")],
            summary="One subscription, with this period's metered messages and the clinician minutes on them")
async def get_subscription(subscription_id: SubscriptionId, principal: Reader,
                           services: ServicesDep) -> dict[str, Any]:
    async with services.uows() as uow:
        subscription = await subscriptions.get(uow, principal.practice_id, subscription_id)
        period = period_of(services.clock.today())
        metered = subscriptions.repository(uow)
        usage = await metered.usage(principal.practice_id, subscription.patient_id, *period_days(period))
        usage["billable_messages"] = len(await metered.message_days(
            principal.practice_id, subscription.patient_id, *period_days(period),
            services.payment_rules.subscriptions.billable_directions))
    return subscription_view(subscription, {"period": period, **usage})


@router.post("/subscriptions/{subscription_id}/plan", dependencies=[audited("subscription", "update")],
             summary="Change the plan from today (the period is prorated across the plans when it closes)")
async def change_plan(subscription_id: SubscriptionId, body: PlanChoice, principal: Writer,
                      services: ServicesDep) -> dict[str, Any]:
    async with services.uows() as uow:
        subscription = await subscriptions.change_plan(uow, principal.practice_id, subscription_id, body.plan_id,
                                                       services.payment_rules.subscriptions, services.clock)
    return subscription_view(subscription)


@router.post("/subscriptions/{subscription_id}/cancel", dependencies=[audited("subscription", "cancel")],
             summary="Cancel: this period is billed as usual, the next one is not")
async def cancel(subscription_id: SubscriptionId, principal: Writer, services: ServicesDep) -> dict[str, Any]:
    async with services.uows() as uow:
        subscription = await subscriptions.cancel(uow, principal.practice_id, subscription_id, services.clock)
    return subscription_view(subscription)


@router.get("/subscriptions/{subscription_id}/invoices", dependencies=[audited("subscription_invoice", "list")],
            summary="A subscription's invoices, one per closed period, with their lines")
async def invoices(subscription_id: SubscriptionId, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.uows() as uow:
        await subscriptions.get(uow, principal.practice_id, subscription_id)
        found = await subscriptions.repository(uow).invoices(principal.practice_id, subscription_id)
    return {"subscription_id": subscription_id, "items": [
        {"invoice_id": i["invoice_id"], "period": i["period"], "account_id": i["account_id"],
         "entry_id": i["entry_id"], "total": from_cents(i["total_cents"]), "lines": i["lines"]} for i in found]}


@router.post("/subscriptions/close-period", dependencies=[audited("subscription_invoice", "create")],
             summary="Close an ended billing period: one invoice (one ledger charge) per subscription on in it; "
                     "closing again changes nothing; one the rules cannot price is listed as refused")
async def close_period(body: PeriodIn, principal: Writer, services: ServicesDep) -> dict[str, Any]:
    closed = await subscriptions.close_period(services.uows, services.payment_rules.subscriptions, services.clock,
                                              body.period, principal.practice_id)
    return {"invoices": [{**c, "total": from_cents(c.pop("total_cents"))} for c in closed["invoices"]],
            "refused": closed["refused"]}
