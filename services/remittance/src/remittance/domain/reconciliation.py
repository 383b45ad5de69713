"""EFT reconciliation: pair bank deposits with ERA payments (pure).

A deposit matches a payment when its reference is the payment's TRN02 trace number and the amounts are
equal to the cent. Amount alone is too weak to trust (many payers pay the same totals), so
anything else stays unmatched on its side for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Deposit:
    deposit_id: str
    reference: str
    amount: Decimal
    deposit_date: date


@dataclass(frozen=True, slots=True)
class EraPayment:
    payment_id: str
    trace_number: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Reconciliation:
    matched: tuple[tuple[Deposit, EraPayment], ...]
    unmatched_deposits: tuple[Deposit, ...]
    unmatched_payments: tuple[EraPayment, ...]


def _normalise(reference: str) -> str:
    # Banks print the ACH trace with or without leading zeros and spaces.
    return reference.strip().lstrip("0").upper()


def reconcile(deposits: Iterable[Deposit], payments: Iterable[EraPayment]) -> Reconciliation:
    open_payments: dict[tuple[str, Decimal], list[EraPayment]] = {}
    for payment in payments:
        open_payments.setdefault((_normalise(payment.trace_number), payment.amount), []).append(payment)
    matched: list[tuple[Deposit, EraPayment]] = []
    unmatched: list[Deposit] = []
    for deposit in sorted(deposits, key=lambda d: (d.deposit_date, d.deposit_id)):
        candidates = open_payments.get((_normalise(deposit.reference), deposit.amount))
        if candidates:
            matched.append((deposit, candidates.pop(0)))
        else:
            unmatched.append(deposit)
    left = tuple(p for group in open_payments.values() for p in group)
    return Reconciliation(tuple(matched), tuple(unmatched), left)


def parse_deposit_csv(text: str) -> list[tuple[str, Decimal, date]]:
    """``reference,amount,date`` lines (a header line is allowed); errors name the line, never the data."""
    rows: list[tuple[str, Decimal, date]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        cells = [c.strip() for c in line.split(",")]
        if not line.strip() or (number == 1 and cells[0].lower() == "reference"):
            continue
        if len(cells) != 3:
            raise ValueError(f"line {number}: expected reference,amount,date")
        try:
            amount = Decimal(cells[1])
            day = date.fromisoformat(cells[2])
        except (ArithmeticError, ValueError) as exc:
            raise ValueError(f"line {number}: amount or date is invalid") from exc
        if amount != amount.quantize(Decimal("0.01")):
            raise ValueError(f"line {number}: amount has more than two decimals")
        rows.append((cells[0], amount, day))
    return rows
