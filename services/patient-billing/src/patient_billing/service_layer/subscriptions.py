"""Use cases of messaging subscriptions: meter a message (message-exchanged, once per message), subscribe, change
plan, cancel, and close a billing period into one invoice per subscription (a charge on the patient's responsible
account: Dr patient A/R, Cr self-pay revenue, once per subscription and period)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from rcm_shared.clock import Clock
from rcm_shared.contracts import MessageExchangedV1
from rcm_shared.db.types import new_id

from patient_billing.adapters.subscriptions_repository import SqlSubscriptionRepository
from patient_billing.domain.exceptions import RulesNotInForce
from patient_billing.domain.ledger import EntryKind
from patient_billing.domain.subscriptions import (
    Invoice,
    Subscription,
    SubscriptionNotFound,
    SubscriptionRefused,
    SubscriptionRules,
    invoice_detail,
    period_days,
    period_of,
)
from patient_billing.service_layer.unit_of_work import PatientBillingUnitOfWork, UnitsOfWork

log = logging.getLogger("patient_billing.subscriptions")


def repository(uow: PatientBillingUnitOfWork) -> SqlSubscriptionRepository:
    return SqlSubscriptionRepository(uow.session)


async def message_exchanged(uow: PatientBillingUnitOfWork, event: MessageExchangedV1, clock: Clock) -> bool:
    """Meter one message for its patient on the practice's date it was sent (a redelivery is not counted twice)."""
    return await repository(uow).meter({
        "practice_id": event.practice_id, "message_id": event.message_id, "patient_id": event.patient_id,
        "clinician_id": event.clinician_id, "direction": event.direction, "sent_at": event.sent_at,
        "sent_on": clock.date_at(event.sent_at), "minutes": event.minutes})


async def subscribe(uow: PatientBillingUnitOfWork, practice_id: str, patient_id: str, plan_id: str,
                    rules: SubscriptionRules, clock: Clock) -> Subscription:
    today = clock.today()
    subscriptions = repository(uow)
    subscription = Subscription.start(new_id(), practice_id, patient_id, plan_id, today, rules)
    if (await subscriptions.current(practice_id, patient_id, today) is not None
            or not await subscriptions.add(subscription, clock.now())):
        raise SubscriptionRefused("the patient already has a subscription", field="patient_id")
    return subscription


async def change_plan(uow: PatientBillingUnitOfWork, practice_id: str, subscription_id: str, plan_id: str,
                      rules: SubscriptionRules, clock: Clock) -> Subscription:
    subscription = await get(uow, practice_id, subscription_id)
    subscription.change_plan(plan_id, clock.today(), rules)
    await repository(uow).save(subscription, clock.now())
    return subscription


async def cancel(uow: PatientBillingUnitOfWork, practice_id: str, subscription_id: str,
                 clock: Clock) -> Subscription:
    subscription = await get(uow, practice_id, subscription_id)
    subscription.cancel(clock.today())
    await repository(uow).save(subscription, clock.now())
    return subscription


async def close_period(uows: UnitsOfWork, rules: SubscriptionRules, clock: Clock, period: str | None = None,
                       practice_id: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """Close a billing period that has ended (default: the one before today's) for every subscription on in it:
    one transaction each, so one that the rules cannot price (its plan not in force on a day it was on it) is
    answered as refused and does not hold the others back; closing again changes nothing."""
    today = clock.today()
    period = period or period_of(today.replace(day=1) - timedelta(days=1))
    first, last = period_days(period)
    if last >= today:
        raise SubscriptionRefused(f"billing period {period} has not ended", field="period")
    async with uows() as uow:
        ids = await repository(uow).to_close(practice_id, first, last)
    closed, refused = [], []
    for owner, subscription_id in ids:
        try:
            async with uows() as uow:
                result = await _close_one(uow, owner, subscription_id, period, rules, clock.now())
        except RulesNotInForce as exc:
            log.warning("subscription period not closed", extra={"subscription_id": subscription_id,
                                                                 "period": period, "error": str(exc)})
            refused.append({"subscription_id": subscription_id, "period": period, "reason": str(exc)})
            continue
        if result is not None:
            closed.append(result)
    return {"invoices": closed, "refused": refused}


async def _close_one(uow: PatientBillingUnitOfWork, practice_id: str, subscription_id: str, period: str,
                     rules: SubscriptionRules, at: datetime) -> dict[str, Any] | None:
    subscriptions = repository(uow)
    found = await subscriptions.get(practice_id, subscription_id, lock=True)
    if found is None:
        return None
    first, last = period_days(period)
    days = await subscriptions.message_days(found.practice_id, found.patient_id, first, last,
                                            rules.billable_directions)
    invoice = found.close(period, days, rules)
    if invoice is None:
        return None
    account_id, entry_id = await _post(uow, found, invoice, last, at)
    invoice_id = new_id()
    await subscriptions.add_invoice(invoice_id, found.practice_id, account_id, invoice, entry_id, at)
    await subscriptions.save(found, at)
    return {"invoice_id": invoice_id, "subscription_id": subscription_id, "period": period,
            "total_cents": invoice.total, "entry_id": entry_id}


async def _post(uow: PatientBillingUnitOfWork, subscription: Subscription, invoice: Invoice, last: date,
                at: datetime) -> tuple[str, str | None]:
    account = await uow.accounts.for_patient(subscription.practice_id, subscription.patient_id, last)
    if invoice.total == 0:
        return account.account_id, None
    entry = account.post_charge(
        entry_id=new_id(), source_id=f"subscription:{subscription.subscription_id}:{invoice.period}",
        patient_id=subscription.patient_id, service_date=last, amount=invoice.total, at=at, kind=EntryKind.CHARGE,
        detail=invoice_detail(invoice))
    await uow.keep(account)
    return account.account_id, entry.entry_id


async def get(uow: PatientBillingUnitOfWork, practice_id: str, subscription_id: str) -> Subscription:
    subscription = await repository(uow).get(practice_id, subscription_id, lock=True)
    if subscription is None:
        raise SubscriptionNotFound("no such subscription", field="subscription_id")
    return subscription
