"""Balances held for a next payer: held / settled / remaining, state, staleness, effective-dated threshold."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
from remittance.domain.secondary_balances import (
    DEFAULT_FOLLOW_UP,
    HeldBalance,
    Movement,
    SecondaryFollowUp,
    follow_up_on,
    load_secondary_follow_up,
)

FORWARDED = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
RULE = SecondaryFollowUp(45)


def test_a_crossover_nobody_settled_is_waiting_and_stale_only_after_the_threshold() -> None:
    moves = [Movement("held", D("28.00"), True)]
    on_day_45 = HeldBalance.of(moves, FORWARDED, FORWARDED + timedelta(days=45, hours=3), RULE)
    assert (on_day_45.held, on_day_45.settled, on_day_45.remaining) == (D("28.00"), D("0"), D("28.00"))
    assert (on_day_45.state, on_day_45.days_waiting, on_day_45.stale) == ("waiting", 45, False)
    assert HeldBalance.of(moves, FORWARDED, FORWARDED + timedelta(days=46), RULE).stale is True


def test_a_short_settlement_leaves_the_rest_and_an_over_settlement_goes_negative_and_never_stale() -> None:
    late = FORWARDED + timedelta(days=90)
    short = HeldBalance.of([Movement("held", D("28.00"), True), Movement("settled", D("-23.00"), False)],
                           FORWARDED, late, RULE)
    assert (short.settled, short.remaining, short.state, short.stale) == (D("23.00"), D("5.00"), "short", True)
    over = HeldBalance.of([Movement("held", D("28.00"), True), Movement("settled", D("-30.00"), False)],
                          FORWARDED, late, RULE)
    assert (over.remaining, over.state, over.stale) == (D("-2.00"), "over", False)


def test_a_settlement_that_forwards_again_waits_on_the_next_carrier() -> None:
    balance = HeldBalance.of([Movement("held", D("20.00"), True), Movement("settled", D("-10.00"), True)],
                             FORWARDED, FORWARDED, RULE)
    assert (balance.held, balance.settled, balance.remaining, balance.state) == (
        D("20.00"), D("10.00"), D("10.00"), "waiting")


def test_a_reversed_settlement_puts_the_balance_back() -> None:
    balance = HeldBalance.of([Movement("held", D("28.00"), True), Movement("settled", D("-28.00"), False),
                              Movement("settled", D("28.00"), False)], FORWARDED, FORWARDED, RULE)
    assert (balance.settled, balance.remaining, balance.state) == (D("0.00"), D("28.00"), "waiting")


def test_the_threshold_is_data_with_effective_dates() -> None:
    rules = load_secondary_follow_up({"secondary_follow_up": [
        {"effective_from": "2020-01-01", "effective_to": "2027-01-01", "stale_after_days": 45},
        {"effective_from": date(2027, 1, 1), "stale_after_days": 30}]})
    assert follow_up_on(rules, date(2026, 12, 31)).stale_after_days == 45
    assert follow_up_on(rules, date(2027, 1, 1)).stale_after_days == 30
    assert follow_up_on(load_secondary_follow_up({}), date(2026, 1, 1)) == DEFAULT_FOLLOW_UP
    assert follow_up_on(rules, date(2019, 6, 1)) == DEFAULT_FOLLOW_UP


@pytest.mark.parametrize("block, field", [
    ({"stale_after_days": 45}, "effective_from"),
    ({"effective_from": "2020-01-01", "stale_after_days": -1}, "stale_after_days"),
    ({"effective_from": "2020-01-01", "stale_after_days": "45"}, "stale_after_days"),
    ({"effective_from": "2020-13-01", "stale_after_days": 45}, "effective_from"),
])
def test_a_bad_rule_names_its_field(block: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=rf"secondary_follow_up\[0\]\.{field}"):
        load_secondary_follow_up({"secondary_follow_up": [block]})


def test_the_shipped_rules_load() -> None:
    from remittance.bootstrap import load_rulebook

    assert follow_up_on(load_rulebook().secondary_follow_up, date(2026, 11, 30)).stale_after_days == 45
