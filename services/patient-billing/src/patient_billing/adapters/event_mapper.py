"""Which integration events announce what happened inside patient billing: one function, called by the unit of
work at commit for every domain event an account recorded. Subjects (Kafka keys) are account ids, never PHI."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rcm_shared.contracts import (
    PatientBalanceChangedV1,
    PatientChargePostedV1,
    PatientPaymentReceivedV1,
    PatientPlanChangedV1,
)
from rcm_shared.db.types import from_cents
from rcm_shared.unit_of_work import Announcement
from rcm_shared.work_items.announcements import work_item_announcements
from rcm_shared.work_items.workflow import WorkItemOpened, WorkItemResolved

from patient_billing.domain.events import BalanceChanged, ChargePosted, PaymentReceived, PlanChanged

SOURCE = "patient-billing"


def announcements(event: Any) -> Iterable[Announcement]:
    if isinstance(event, BalanceChanged):
        yield PatientBalanceChangedV1(
            account_id=event.account_id, patient_id=event.patient_id, practice_id=event.practice_id,
            entry_id=event.entry_id, entry_kind=event.entry_kind, amount=from_cents(abs(event.change)),
            balance=from_cents(event.balance)), event.account_id
    elif isinstance(event, ChargePosted):
        yield PatientChargePostedV1(
            account_id=event.account_id, practice_id=event.practice_id, patient_id=event.patient_id,
            entry_id=event.entry_id, kind=event.kind, amount=from_cents(event.amount),
            service_date=event.service_date, visit_id=event.visit_id, price_rule=event.price_rule), event.account_id
    elif isinstance(event, PaymentReceived):
        yield PatientPaymentReceivedV1(
            account_id=event.account_id, practice_id=event.practice_id, payment_id=event.payment_id,
            entry_id=event.entry_id, amount=from_cents(event.amount), received_on=event.received_on,
            method=event.method), event.account_id
    elif isinstance(event, PlanChanged):
        yield PatientPlanChangedV1(
            account_id=event.account_id, practice_id=event.practice_id, plan_id=event.plan_id, change=event.change,
            state=event.state, remaining=from_cents(event.remaining), paid=from_cents(event.paid),
            open_installments=event.open_installments, next_due_on=event.next_due_on,
            next_amount=from_cents(event.next_amount) if event.next_amount is not None else None,
            installment_id=event.installment_id, autopay=event.autopay), event.account_id
    elif isinstance(event, WorkItemOpened | WorkItemResolved):
        yield from work_item_announcements(event, SOURCE)
    else:
        raise TypeError(f"no integration event is mapped for {type(event).__name__}")
