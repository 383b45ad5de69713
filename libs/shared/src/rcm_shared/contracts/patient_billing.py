"""Events the patient-billing service produces."""

from __future__ import annotations

from decimal import Decimal

from rcm_shared.contracts import topics
from rcm_shared.contracts.base import EventPayload


class PatientBalanceChangedV1(EventPayload):
    event_type = "patient-balance.changed"
    topic = topics.PATIENT_BALANCE_CHANGED
    summary = "A patient account's balance changed (charge, responsibility, payment, credit)."

    account_id: str
    patient_id: str
    practice_id: str
    entry_id: str
    entry_kind: str
    amount: Decimal
    balance: Decimal
