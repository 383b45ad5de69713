"""Patient accounts: what a patient (or guarantor) owes, entry by entry, with aging.

Pure domain: no I/O. Amounts are Decimal cents. A charge or responsibility raises the balance; a
payment, credit or write-off lowers it. Each source document (an assessment, a visit, a payment)
posts at most once: ``source_id`` makes posting idempotent even without the inbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from patient_billing.domain.exceptions import InvalidAmount

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class EntryKind(StrEnum):
    SELF_PAY_CHARGE = "self_pay_charge"
    PATIENT_RESPONSIBILITY = "patient_responsibility"
    PAYMENT = "payment"
    REFUND = "refund"
    CREDIT = "credit"
    RESPONSIBILITY_REVERSAL = "responsibility_reversal"

    @property
    def sign(self) -> int:
        return 1 if self in (EntryKind.SELF_PAY_CHARGE, EntryKind.PATIENT_RESPONSIBILITY, EntryKind.REFUND) else -1


@dataclass(frozen=True)
class AccountEntry:
    entry_id: str
    kind: EntryKind
    amount: Decimal  # always positive; the kind gives the direction
    source_id: str
    service_date: date | None
    posted_at: datetime
    claim_id: str | None = None
    detail: dict[str, str] = field(default_factory=dict)

    @property
    def signed_amount(self) -> Decimal:
        return self.amount * self.kind.sign


@dataclass(frozen=True)
class BalanceChanged:
    """Domain event: the account moved."""

    account_id: str
    entry: AccountEntry
    balance: Decimal


@dataclass
class PatientAccount:
    account_id: str
    practice_id: str
    patient_id: str
    entries: list[AccountEntry] = field(default_factory=list)
    events: list[BalanceChanged] = field(default_factory=list)

    @property
    def balance(self) -> Decimal:
        return sum((e.signed_amount for e in self.entries), ZERO).quantize(CENT)

    def has_source(self, source_id: str) -> bool:
        return any(e.source_id == source_id for e in self.entries)

    def post(self, entry: AccountEntry) -> bool:
        """Post an entry once per source document; returns False for a repeat."""
        if entry.amount != entry.amount.quantize(CENT) or entry.amount < ZERO:
            raise InvalidAmount("amount must be a non-negative number of cents", field="amount")
        if self.has_source(entry.source_id):
            return False
        if entry.amount == ZERO:
            return False
        self.entries.append(entry)
        self.events.append(BalanceChanged(self.account_id, entry, self.balance))
        return True

    def aging(self, as_of: date) -> dict[str, Decimal]:
        return age_balance(self.entries, as_of)


AGING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("91-120", 91, 120), ("120+", 121, None),
)


def age_balance(entries: list[AccountEntry], as_of: date) -> dict[str, Decimal]:
    """Age what is still owed: credits pay the oldest charges first (FIFO), the rest ages by service date."""
    debits = sorted((e for e in entries if e.kind.sign > 0),
                    key=lambda e: (e.service_date or e.posted_at.date(), e.posted_at))
    credit = sum((e.amount for e in entries if e.kind.sign < 0), ZERO)
    buckets = {name: ZERO for name, _, _ in AGING_BUCKETS}
    for debit in debits:
        open_amount = debit.amount
        if credit > ZERO:
            applied = min(credit, open_amount)
            credit -= applied
            open_amount -= applied
        if open_amount == ZERO:
            continue
        days = (as_of - (debit.service_date or debit.posted_at.date())).days
        for name, low, high in AGING_BUCKETS:
            if (days >= low and (high is None or days <= high)) or (days < 0 and low == 0):
                buckets[name] += open_amount
                break
    if credit > ZERO:
        buckets["credit"] = -credit
    return buckets
