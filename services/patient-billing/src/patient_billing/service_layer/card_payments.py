"""Use cases of card payments through the payment processor: take a payment (a card given now or on file), ask
again for the ones the processor could not be reached for, refund, save a card on file with consent, schedule a
statement's autopay, and take the processor's webhooks.

A payment is recorded ``pending`` before the processor is asked, and every ask carries the payment's idempotency
key, so an outage leaves it pending (asked again later) and a retry, a duplicate webhook or a concurrent request
never charges or posts twice. Money reaches the ledger only when the processor says it succeeded: Dr patient cash,
Cr patient A/R (the ledger's payment, whose source ``payment:<id>`` posts once); a refund is asked of the processor
first, then posted (Dr patient A/R, Cr patient cash), never above what is left of the payment.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from rcm_shared.clock import Clock
from rcm_shared.db.types import from_cents, new_id
from rcm_shared.work_items.workflow import WorkItem

from patient_billing.adapters.payment_processor import PaymentProcessor, ProcessorEvent
from patient_billing.domain.card_payments import CardOnFile, CardPayment, ChargeAnswer, Outcome, PaymentState
from patient_billing.domain.exceptions import (
    AccountNotFound,
    CardNotChargeable,
    PaymentNotFound,
    ProcessorUnavailable,
    RefundExceedsPaid,
)
from patient_billing.domain.payment_commands import (
    RefundCardPayment,
    SaveCard,
    ScheduleStatementAutopay,
    TakeCardPayment,
)
from patient_billing.domain.plans import PlanRules
from patient_billing.service_layer.unit_of_work import PatientBillingUnitOfWork, UnitsOfWork

log = logging.getLogger("patient_billing.card_payments")
DECLINED_QUEUE = "card-declined"
MISSED_QUEUE = "installment-missed"


async def take_card_payment(uow: PatientBillingUnitOfWork, processor: PaymentProcessor, command: TakeCardPayment,
                            plan_rules: PlanRules, *, clock: Clock) -> CardPayment:
    at = clock.now()
    account = await uow.accounts.for_patient(command.practice_id, command.patient_id, clock.today())
    await uow.keep(account)  # a first payment opens the patient's own account
    card = await _card(uow, command.practice_id, command.method_id, account.account_id) if command.method_id else None
    payment_method_ref = card.payment_method_ref if card else command.payment_method_ref
    assert payment_method_ref is not None, "the route asks for a card on file or a card given now"
    payment = CardPayment(command.payment_id, command.practice_id, account.account_id, command.patient_id,
                          command.amount, card.method_id if card else None, payment_method_ref,
                          card.customer_ref if card else None, "payment", at)
    await uow.payments.add_payment(payment)  # a concurrent request with the same key waits here, then fails
    await attempt(uow, processor, payment, plan_rules, clock=clock)
    return payment


async def attempt(uow: PatientBillingUnitOfWork, processor: PaymentProcessor, payment: CardPayment,
                  plan_rules: PlanRules, *, clock: Clock) -> None:
    """Ask the processor (again) for a pending payment, with its one idempotency key, and record the answer."""
    at = clock.now()
    if payment.state is not PaymentState.PENDING:
        return
    if payment.purpose == "autopay" and not await _still_owed(uow, payment):
        payment.state = PaymentState.DECLINED
        payment.decline_code, payment.message, payment.next_attempt_at = "nothing_owed", "Nothing was owed.", None
        await uow.payments.save_payment(payment, at)
        return
    try:
        answer = await processor.charge(
            amount=payment.amount, payment_method_ref=payment.payment_method_ref, customer_ref=payment.customer_ref,
            off_session=payment.off_session, idempotency_key=payment.idempotency_key,
            metadata={"payment_id": payment.payment_id, "account_id": payment.account_id,
                      "practice_id": payment.practice_id})
    except ProcessorUnavailable as exc:
        payment.unreachable(at)
        await uow.payments.save_payment(payment, at)
        log.warning("payment processor unavailable; payment kept pending",
                    extra={"payment_id": payment.payment_id, "attempts": payment.attempts, "error": str(exc)})
        return
    await record_answer(uow, payment, answer, plan_rules, clock=clock)


async def record_answer(uow: PatientBillingUnitOfWork, payment: CardPayment, answer: ChargeAnswer,
                        plan_rules: PlanRules, *, clock: Clock) -> None:
    at = clock.now()
    was = payment.state
    succeeded = payment.answered(answer, at, clock.today())
    await uow.payments.save_payment(payment, at)
    if succeeded:
        await _installment(uow, payment, paid=True, plan_rules=plan_rules, at=at, today=clock.today())
        await _post(uow, payment, at)
    elif payment.state is PaymentState.DECLINED and was is not PaymentState.DECLINED:
        await raise_work_item(uow, DECLINED_QUEUE, "card_payment", payment.payment_id, payment.practice_id, at,
                     amount=payment.amount, category=payment.decline_code,
                     summary=f"card declined ({payment.decline_code}): {payment.purpose}")
        await _installment(uow, payment, paid=False, plan_rules=plan_rules, at=at, today=clock.today())


async def retry_pending(uows: UnitsOfWork, processor: PaymentProcessor, clock: Clock, plan_rules: PlanRules
                        ) -> int:
    """Ask again for pending payments whose time has come (an outage, a statement's autopay date); each in its own
    transaction, the payment locked. Returns how many were asked."""
    async with uows() as uow:
        due = await uow.payments.retry_due(clock.now())
    for payment_id in due:
        async with uows() as uow:
            payment = await uow.payments.payment(None, payment_id, for_update=True)
            if payment is not None and payment.state is PaymentState.PENDING:
                await attempt(uow, processor, payment, plan_rules, clock=clock)
    return len(due)


async def refund_card_payment(uow: PatientBillingUnitOfWork, processor: PaymentProcessor,
                              command: RefundCardPayment, *, clock: Clock) -> CardPayment:
    """Ask the processor to return (part of) a card payment, then post the refund; never above what is left of it
    (checked before the processor is asked). An outage is a 503: nothing moved, retry with the same key."""
    at = clock.now()
    payment = await uow.payments.payment(command.practice_id, command.payment_id, for_update=True)
    if payment is None:
        raise PaymentNotFound("no card payment with this id", field="payment_id")
    payment.check_refund(command.amount)
    account = await uow.accounts.get(command.practice_id, payment.account_id)
    assert account is not None
    record = account.payments.get(payment.payment_id)
    if record is None or command.amount > record.refundable:
        left = record.refundable if record else 0
        raise RefundExceedsPaid(f"a refund may return at most {left} cents of this payment", field="amount")
    assert payment.processor_ref is not None
    answer = await processor.refund(processor_ref=payment.processor_ref, amount=command.amount,
                                    idempotency_key=f"rcm-refund-{command.refund_id}",
                                    metadata={"refund_id": command.refund_id, "payment_id": payment.payment_id})
    account.refund(entry_id=new_id(), refund_id=command.refund_id, payment_id=payment.payment_id,
                   amount=command.amount, on=clock.today(), at=at, reason=command.reason)
    await uow.keep(account)
    payment.refunded += command.amount
    await uow.payments.save_payment(payment, at)
    await uow.payments.add_refund(refund_id=command.refund_id, practice_id=command.practice_id,
                                  payment_id=payment.payment_id, amount=command.amount,
                                  processor_ref=answer.processor_ref, reason=command.reason, at=at)
    return payment


async def save_card(uow: PatientBillingUnitOfWork, processor: PaymentProcessor, command: SaveCard, *,
                    clock: Clock) -> CardOnFile:
    """Keep a card on file (a SetupIntent for off-session use), only with the responsible party's recorded
    consent: refused before the processor is asked otherwise."""
    at = clock.now()
    account = await uow.accounts.for_patient(command.practice_id, command.patient_id, clock.today())
    await uow.keep(account)
    CardOnFile.with_consent(method_id=command.method_id, practice_id=command.practice_id,
                            account_id=account.account_id, customer_ref="-", payment_method_ref="-",
                            consent_signed_on=command.consent_signed_on, consent_text=command.consent_text,
                            autopay=command.autopay, now=at)  # consent first: no processor call without it
    customer_ref = await uow.payments.customer_ref(account.account_id)
    if customer_ref is None:
        customer_ref = await processor.create_customer(account_ref=account.account_id,
                                                       idempotency_key=f"rcm-customer-{account.account_id}")
        await uow.payments.add_customer(command.practice_id, account.account_id, customer_ref)
    card = CardOnFile.with_consent(method_id=command.method_id, practice_id=command.practice_id,
                                   account_id=account.account_id, customer_ref=customer_ref,
                                   payment_method_ref=command.payment_method_ref,
                                   consent_signed_on=command.consent_signed_on, consent_text=command.consent_text,
                                   autopay=command.autopay, now=at)
    card.set_up(await processor.save_card(customer_ref=customer_ref, payment_method_ref=command.payment_method_ref,
                                          idempotency_key=f"rcm-setup-{command.method_id}",
                                          metadata={"method_id": command.method_id,
                                                    "account_id": account.account_id}))
    await uow.payments.add_card(card)
    return card


async def schedule_statement_autopay(uow: PatientBillingUnitOfWork, command: ScheduleStatementAutopay, *,
                                     clock: Clock) -> CardPayment:
    """The statement's balance charged to the account's autopay card on its due date (at the start of the
    practice's day), no more than the account owes then; once per statement."""
    account = await uow.accounts.get(command.practice_id, command.account_id)
    if account is None:
        raise AccountNotFound("no account with this id", field="account_id")
    card = await uow.payments.autopay_card(command.practice_id, command.account_id)
    if card is None:
        raise CardNotChargeable("the account has no active card on file with autopay consent",
                                field="account_id")
    payment_id = f"statement-{command.statement_id}"
    existing = await uow.payments.payment(command.practice_id, payment_id)
    if existing is not None:
        return existing
    at = clock.now()
    when = datetime.combine(command.due_on, time(6), tzinfo=clock.practice_zone).astimezone(UTC)
    payment = CardPayment(payment_id, command.practice_id, account.account_id, account.guarantor_id, command.amount,
                          card.method_id, card.payment_method_ref, card.customer_ref, "autopay", at,
                          next_attempt_at=max(when, at))
    await uow.payments.add_payment(payment)
    return payment


async def handle_processor_event(uow: PatientBillingUnitOfWork, event: ProcessorEvent, plan_rules: PlanRules, *,
                                 clock: Clock) -> str:
    """One verified processor webhook, once (a duplicate delivery is recorded and ignored). Returns what it did."""
    at = clock.now()
    if not await uow.payments.first_delivery(event.event_id, event.kind, at):
        return "duplicate"
    if event.kind in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        payment = await uow.payments.payment_by_ref(event.object_id)
        if payment is None and event.metadata.get("payment_id"):
            payment = await uow.payments.payment(event.metadata.get("practice_id"), event.metadata["payment_id"],
                                                 for_update=True)
        if payment is None:
            return "unknown_payment"
        if payment.state in (PaymentState.SUCCEEDED, PaymentState.DECLINED) and event.kind.endswith("failed"):
            return "already_settled"
        outcome = Outcome.SUCCEEDED if event.kind.endswith("succeeded") else Outcome.DECLINED
        await record_answer(uow, payment, ChargeAnswer(outcome, event.object_id, decline_code=event.decline_code),
                            plan_rules, clock=clock)
        return f"payment_{payment.state.value}"
    if event.kind == "checkout.session.completed":
        return await _hosted_payment(uow, event, plan_rules, clock)
    if event.kind in ("setup_intent.succeeded", "setup_intent.setup_failed"):
        card = await uow.payments.card_by_setup(event.object_id)
        if card is None:
            return "unknown_card"
        card.status = "active" if event.kind.endswith("succeeded") else "declined"
        await uow.payments.save_card(card)
        return f"card_{card.status}"
    return "ignored"


async def _hosted_payment(uow: PatientBillingUnitOfWork, event: ProcessorEvent, plan_rules: PlanRules,
                          clock: Clock) -> str:
    """A payment on the hosted page (a statement's pay link): posted to the account the page was made for."""
    practice_id, account_id = event.metadata.get("practice_id"), event.metadata.get("account_id")
    if not practice_id or not account_id or not event.amount or not event.payment_intent:
        return "not_ours"
    account = await uow.accounts.get(practice_id, account_id)
    if account is None:
        return "unknown_account"
    payment = CardPayment(f"hosted-{event.object_id}", practice_id, account_id, account.guarantor_id, event.amount,
                          None, "hosted", None, "hosted", clock.now())
    await uow.payments.add_payment(payment)
    await record_answer(uow, payment, ChargeAnswer(Outcome.SUCCEEDED, event.payment_intent), plan_rules,
                        clock=clock)
    return "payment_succeeded"


async def _post(uow: PatientBillingUnitOfWork, payment: CardPayment, at: datetime) -> None:
    account = await uow.accounts.get(payment.practice_id, payment.account_id)
    assert account is not None
    if await uow.accounts.has_source(payment.practice_id, f"payment:{payment.payment_id}"):
        return
    detail = {"method": "card", **({"reference": payment.processor_ref} if payment.processor_ref else {})}
    account.receive_payment(entry_id=new_id(), payment_id=payment.payment_id, amount=payment.amount,
                            received_on=payment.received_on or at.date(), at=at, patient_id=payment.patient_id,
                            detail=detail)
    await uow.keep(account)


async def _installment(uow: PatientBillingUnitOfWork, payment: CardPayment, *, paid: bool, plan_rules: PlanRules,
                       at: datetime, today: date) -> None:
    if payment.installment_id is None:
        return
    plan = await uow.payments.plan_of_installment(payment.installment_id)
    if plan is None:
        return
    if paid:
        plan.installment_paid(payment.installment_id, payment.payment_id)
    elif plan.installment_failed(payment.installment_id, today, plan_rules):
        await raise_work_item(uow, MISSED_QUEUE, "plan_installment", payment.installment_id, plan.practice_id, at,
                     amount=plan.installment(payment.installment_id).amount, category=plan.state.value,
                     summary=f"installment missed after retries; plan {plan.state.value}")
    await uow.payments.save_plan(plan)
    uow.add(plan)


async def raise_work_item(uow: PatientBillingUnitOfWork, queue: str, subject_type: str, subject_id: str,
                          practice_id: str, at: datetime, *, amount: int, category: str | None, summary: str) -> None:
    """A work item for a person (one active per subject: found again, it recurs instead of piling up)."""
    item = await uow.work_items.active_for(practice_id, queue, subject_type, subject_id)
    if item is None:
        item = WorkItem.open(item_id=new_id(), practice_id=practice_id, queue=queue, subject_type=subject_type,
                             subject_id=subject_id, now=at, amount=Decimal(from_cents(amount)), category=category,
                             summary=summary[:200], due_on=(at + timedelta(days=2)).date())
    else:
        item.recur(now=at)
    await uow.work_items.save(item)
    uow.add(item)


async def _card(uow: PatientBillingUnitOfWork, practice_id: str, method_id: str, account_id: str) -> CardOnFile:
    card = await uow.payments.card(practice_id, method_id)
    if card is None or card.account_id != account_id:
        raise CardNotChargeable("no card on file with this id for the patient's account", field="body.method_id")
    if not card.chargeable:
        raise CardNotChargeable(f"the card on file is {card.status}, not active", field="body.method_id")
    return card


async def _still_owed(uow: PatientBillingUnitOfWork, payment: CardPayment) -> bool:
    """A statement's autopay charges no more than the account owes on the day (nothing when it is paid)."""
    account = await uow.accounts.get(payment.practice_id, payment.account_id)
    if account is None:
        return False
    owed = account.amount_due()
    if owed <= 0:
        return False
    payment.amount = min(payment.amount, owed)
    return True
