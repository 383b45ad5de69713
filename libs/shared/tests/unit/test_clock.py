"""The injected clock: 'now' is an aware UTC instant, 'today' is the practice's date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from rcm_shared.clock import FixedClock, SystemClock


def test_today_is_the_practices_date_not_utcs() -> None:
    clock = FixedClock(datetime(2026, 12, 3, 1, 8, tzinfo=UTC))  # 20:08 on 2 December in New York
    assert clock.today() == date(2026, 12, 2)
    assert clock.today(UTC) == date(2026, 12, 3)
    assert FixedClock(clock.now(), "Pacific/Auckland").today() == date(2026, 12, 3)
    assert clock.date_at(datetime(2026, 3, 3, 2, 30, tzinfo=UTC)) == date(2026, 3, 2)


def test_either_side_of_the_practices_midnight() -> None:
    clock = FixedClock(datetime(2026, 12, 3, 4, 59, 59, tzinfo=UTC))  # 23:59:59 EST
    assert clock.today() == date(2026, 12, 2)
    clock.advance(timedelta(seconds=1))
    assert clock.today() == date(2026, 12, 3)
    clock.set(datetime(2026, 7, 1, 3, 59, tzinfo=UTC))  # 23:59 EDT: summer time moves the practice's midnight
    assert clock.today() == date(2026, 6, 30)


def test_now_is_aware_utc() -> None:
    at = datetime(2026, 12, 2, 20, 8, tzinfo=timezone(timedelta(hours=-5)))
    assert FixedClock(at).now() == at and FixedClock(at).now().tzinfo is UTC
    assert SystemClock().now().tzinfo is UTC
    with pytest.raises(ValueError, match="aware"):
        FixedClock(datetime(2026, 12, 3, 1, 8))
