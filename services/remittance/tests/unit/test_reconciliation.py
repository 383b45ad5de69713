from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from remittance.domain.reconciliation import Deposit, EraPayment, parse_deposit_csv, reconcile

D = date(2026, 11, 2)


def test_trace_and_amount_match_leading_zeros_ignored() -> None:
    result = reconcile([Deposit("d1", "000123", Decimal("10.00"), D), Deposit("d2", "999", Decimal("5.00"), D)],
                       [EraPayment("p1", "123", Decimal("10.00")), EraPayment("p2", "777", Decimal("5.00"))])
    assert [(d.deposit_id, p.payment_id) for d, p in result.matched] == [("d1", "p1")]
    assert [d.deposit_id for d in result.unmatched_deposits] == ["d2"]
    assert [p.payment_id for p in result.unmatched_payments] == ["p2"]


def test_same_trace_different_amount_is_not_a_match() -> None:
    result = reconcile([Deposit("d1", "123", Decimal("10.01"), D)], [EraPayment("p1", "123", Decimal("10.00"))])
    assert not result.matched


@given(st.lists(st.tuples(st.text("0123456789", min_size=1, max_size=6), st.integers(1, 10_000)), max_size=30))
def test_every_item_ends_up_exactly_once(items: list[tuple[str, int]]) -> None:
    deposits = [Deposit(f"d{i}", ref, Decimal(c) / 100, D) for i, (ref, c) in enumerate(items)]
    payments = [EraPayment(f"p{i}", ref, Decimal(c) / 100) for i, (ref, c) in enumerate(items[::2])]
    result = reconcile(deposits, payments)
    assert len(result.matched) + len(result.unmatched_deposits) == len(deposits)
    assert len(result.matched) + len(result.unmatched_payments) == len(payments)
    assert len({p.payment_id for _, p in result.matched}) == len(result.matched)


def test_csv_parsing_names_the_line() -> None:
    assert parse_deposit_csv("reference,amount,date\n123,10.00,2026-11-02\n") == [("123", Decimal("10.00"), D)]
    with pytest.raises(ValueError, match="line 2"):
        parse_deposit_csv("reference,amount,date\n123,ten,2026-11-02\n")
    with pytest.raises(ValueError, match="two decimals"):
        parse_deposit_csv("123,1.005,2026-11-02")
