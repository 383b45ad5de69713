"""Use cases of payment plans: offer one over what an account owes, run the installments due (autopay charges
the card on file; an installment paid by hand and not paid in time counts as failed), cancel.

Each due installment is charged as a card payment whose id is the installment's and its attempt number, so the
daily run asked twice charges once; a declined charge is retried after the plan rules' days, then flagged as
missed (a work item), and enough missed installments default the plan.
"""

from __future__ import annotations

from rcm_shared.clock import Clock
from rcm_shared.db.types import new_id

from patient_billing.adapters.payment_processor import PaymentProcessor
from patient_billing.domain.card_payments import CardPayment
from patient_billing.domain.exceptions import AccountNotFound, CardNotChargeable, PlanRefused
from patient_billing.domain.payment_commands import OfferPlan
from patient_billing.domain.plans import PaymentPlan, PlanRules
from patient_billing.service_layer import card_payments
from patient_billing.service_layer.unit_of_work import PatientBillingUnitOfWork, UnitsOfWork


async def offer_plan(uow: PatientBillingUnitOfWork, command: OfferPlan, rules: PlanRules, *, clock: Clock
                     ) -> PaymentPlan:
    account = await uow.accounts.get(command.practice_id, command.account_id)
    if account is None:
        raise AccountNotFound("no account with this id", field="account_id")
    if await uow.payments.active_plan(command.practice_id, command.account_id) is not None:
        raise PlanRefused("the account already pays by an active plan", field="account_id")
    if command.autopay_method_id is not None:
        card = await uow.payments.card(command.practice_id, command.autopay_method_id)
        if card is None or card.account_id != account.account_id or not card.chargeable or not card.autopay:
            raise CardNotChargeable("autopay needs an active card on file of this account with autopay consent",
                                    field="body.autopay_method_id")
    plan = PaymentPlan.offer(plan_id=command.plan_id, practice_id=command.practice_id,
                             account_id=account.account_id, balance=account.amount_due(),
                             count=command.installments, first_due_on=command.first_due_on, today=clock.today(),
                             rules=rules, installment_ids=[new_id() for _ in range(command.installments)],
                             autopay_method_id=command.autopay_method_id)
    await uow.payments.add_plan(plan)
    uow.add(plan)
    return plan


async def cancel_plan(uow: PatientBillingUnitOfWork, practice_id: str, plan_id: str) -> PaymentPlan:
    plan = await uow.payments.plan(practice_id, plan_id)
    if plan is None:
        raise PlanRefused("no payment plan with this id", field="plan_id")
    plan.cancel()
    await uow.payments.save_plan(plan)
    uow.add(plan)
    return plan


async def run_installments(uows: UnitsOfWork, processor: PaymentProcessor, rules: PlanRules, clock: Clock,
                           practice_id: str | None = None) -> int:
    """Every active plan (of one practice, or all) with an installment due today or before: charge it (autopay)
    or count it failed when it was not paid by hand within the grace days. Each plan in its own transaction.
    Returns installments handled."""
    today = clock.today()
    async with uows() as uow:
        plan_ids = await uow.payments.plans_due(today, practice_id)
    handled = 0
    for plan_id in plan_ids:
        async with uows() as uow:
            plan = await uow.payments.plan(None, plan_id)
            if plan is None:
                continue
            if plan.autopay_method_id is None:
                for item in plan.overdue(today, rules):
                    if plan.installment_failed(item.installment_id, today, rules):
                        await card_payments.raise_work_item(
                            uow, card_payments.MISSED_QUEUE, "plan_installment", item.installment_id,
                            plan.practice_id, clock.now(), amount=item.amount, category=plan.state.value,
                            summary=f"installment not paid after retries; plan {plan.state.value}")
                    handled += 1
                await uow.payments.save_plan(plan)
                uow.add(plan)
                continue
            due = plan.due(today)
            if not due:
                continue
            item = due[0]  # the oldest; a plan with several due is caught up one installment per run
            payment_id = f"installment-{item.installment_id}-{item.attempts + 1}"
            if await uow.payments.payment(plan.practice_id, payment_id) is not None:
                continue  # asked already (still pending: the payment retry job has it)
            handled += 1
            card = await uow.payments.card(plan.practice_id, plan.autopay_method_id)
            if card is None or not card.chargeable:
                if plan.installment_failed(item.installment_id, today, rules):
                    await card_payments.raise_work_item(
                        uow, card_payments.MISSED_QUEUE, "plan_installment", item.installment_id, plan.practice_id,
                        clock.now(), amount=item.amount, category=plan.state.value,
                        summary="installment missed: the autopay card is no longer active")
                await uow.payments.save_plan(plan)
                uow.add(plan)
                continue
            account = await uow.accounts.get(plan.practice_id, plan.account_id)
            payment = CardPayment(payment_id, plan.practice_id, plan.account_id,
                                  account.guarantor_id if account else plan.account_id, item.amount, card.method_id,
                                  card.payment_method_ref, card.customer_ref, "installment", clock.now(),
                                  installment_id=item.installment_id)
            await uow.payments.add_payment(payment)
            # the answer marks the installment paid (and posts the payment) or failed (retry, then missed)
            await card_payments.attempt(uow, processor, payment, rules, clock=clock)
    return handled
