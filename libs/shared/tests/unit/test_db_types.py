"""Money as integer cents and timezone-aware timestamps: the column types refuse what would corrupt them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rcm_shared.db.types import Cents, UtcDateTime, from_cents, to_cents
from sqlalchemy.dialects import postgresql, sqlite

PG = postgresql.dialect()  # type: ignore[no-untyped-call]
LITE = sqlite.dialect()


def test_float_money_is_refused() -> None:
    with pytest.raises(TypeError):
        Cents().process_bind_param(10.25, PG)


@pytest.mark.parametrize(
    ("amount", "cents"),
    [
        (Decimal("10.25"), 1025),
        (Decimal("0.005"), 1),  # half up, not banker's rounding
        (Decimal("0.015"), 2),
        (Decimal("1.004"), 100),
        (Decimal("-1.005"), -101),  # half away from zero for refunds too
        (Decimal("-0.01"), -1),
        (Decimal("0"), 0),
        (Decimal("123456789012.34"), 12345678901234),
        (7, 700),
        ("19.99", 1999),
    ],
)
def test_amounts_are_stored_as_rounded_integer_cents(amount: object, cents: int) -> None:
    stored = Cents().process_bind_param(amount, PG)
    assert stored == cents
    assert isinstance(stored, int)


def test_cents_read_back_as_two_place_decimals() -> None:
    assert Cents().process_result_value(1025, PG) == Decimal("10.25")
    assert str(Cents().process_result_value(100, LITE)) == "1.00"
    assert str(Cents().process_result_value(-5, PG)) == "-0.05"
    assert Cents().process_result_value(None, PG) is None
    assert Cents().process_bind_param(None, PG) is None


@given(st.integers(min_value=-(10**17), max_value=10**17))
def test_cents_round_trip_exactly(cents: int) -> None:
    amount = from_cents(cents)
    assert amount.as_tuple().exponent == -2
    assert to_cents(amount) == cents
    assert Cents().process_bind_param(Cents().process_result_value(cents, PG), PG) == cents


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        UtcDateTime().process_bind_param(datetime(2026, 1, 1, 12, 0), PG)
    with pytest.raises(ValueError):
        UtcDateTime().process_bind_param("2026-01-01T12:00:00Z", PG)


def test_timestamps_are_stored_and_read_as_utc() -> None:
    eastern = timezone(timedelta(hours=-5))
    stored = UtcDateTime().process_bind_param(datetime(2026, 1, 1, 7, 0, tzinfo=eastern), PG)
    assert stored == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert stored.utcoffset() == timedelta(0)
    # SQLite hands back naive values: they were stored as UTC, so UTC is restored.
    restored = UtcDateTime().process_result_value(datetime(2026, 1, 1, 12, 0), LITE)
    assert restored == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert restored.tzinfo is UTC
    converted = UtcDateTime().process_result_value(datetime(2026, 1, 1, 7, 0, tzinfo=eastern), PG)
    assert converted is not None
    assert converted.tzinfo is UTC and converted.hour == 12
    assert UtcDateTime().process_result_value(None, PG) is None

