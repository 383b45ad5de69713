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

from rcm_shared.validation import check_no_control_characters, check_not_formula, check_plausible_date, parse_money


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


MAX_REFERENCE_LENGTH = 80  # the bank_deposits.reference column


def parse_deposit_csv(text: str) -> list[tuple[str, Decimal, date]]:
    """``reference,amount,date`` lines (a header line is allowed); errors name the line and the column, never
    the data. Refused: a reference a spreadsheet would run as a formula (it is shown back in reconciliation),
    an amount that is not a positive decimal (no exponent, two decimals at most), a date that cannot be real."""
    rows: list[tuple[str, Decimal, date]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        cells = [c.strip() for c in line.split(",")]
        if not line.strip() or (number == 1 and cells[0].lower() == "reference"):
            continue
        if len(cells) != 3:
            raise ValueError(f"line {number}: expected reference,amount,date")
        reference, amount_text, date_text = cells
        if not 0 < len(reference) <= MAX_REFERENCE_LENGTH:
            raise ValueError(f"line {number}: reference must be 1 to {MAX_REFERENCE_LENGTH} characters")
        try:
            check_not_formula(check_no_control_characters(reference))
        except ValueError as exc:
            raise ValueError(f"line {number}: reference {exc}") from exc
        try:
            amount = parse_money(amount_text)
        except ValueError as exc:
            raise ValueError(f"line {number}: amount {exc}") from exc
        if amount <= 0:
            raise ValueError(f"line {number}: amount must be more than zero (a bank deposit)")
        try:
            day = check_plausible_date(date.fromisoformat(date_text))
        except ValueError as exc:
            raise ValueError(f"line {number}: date must be a real date (YYYY-MM-DD, 1900 to 2099)") from exc
        rows.append((reference, amount, day))
    return rows
