"""X12 dates: what writers format, readers read back; anything else is a syntax error saying where."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rcm_shared.x12 import X12SyntaxError
from rcm_shared.x12.dates import d8, rd8, read_d8, read_period, read_rd8, tm

DAYS = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))


@given(DAYS)
def test_d8_round_trips(day: date) -> None:
    assert read_d8(d8(day)) == day


@given(DAYS, DAYS)
def test_rd8_round_trips_in_order(a: date, b: date) -> None:
    first, last = sorted((a, b))
    assert read_rd8(rd8(first, last)) == (first, last)


@given(st.text(max_size=12))
def test_anything_else_is_a_syntax_error_or_a_date(raw: str) -> None:
    try:
        value = read_d8(raw, segment_number=3, segment_id="DTP", element=3)
    except X12SyntaxError as exc:
        assert exc.segment_id == "DTP" and exc.element == 3
        assert len(raw) < 6 or raw not in str(exc)  # never echoes the value (it may be a birth date)
    else:
        assert d8(value) == raw


@pytest.mark.parametrize("raw", ["20260230", "2026-01-01", "2026011", "２０２６０１０１", "20261301", ""])
def test_not_calendar_dates(raw: str) -> None:
    with pytest.raises(X12SyntaxError):
        read_d8(raw)


def test_a_range_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(X12SyntaxError, match="ends before"):
        read_rd8("20260105-20260101")


def test_period_by_qualifier_and_time() -> None:
    assert read_period("D8", "20260101") == (date(2026, 1, 1), None)
    assert read_period("RD8", "20260101-20260131") == (date(2026, 1, 1), date(2026, 1, 31))
    with pytest.raises(X12SyntaxError, match="D8 or RD8"):
        read_period("DT", "202601011200", element=3)
    assert tm(datetime(2026, 1, 1, 7, 5)) == "0705"
