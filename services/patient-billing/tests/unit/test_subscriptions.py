"""Messaging subscriptions: plans as data, one invoice per period, proration, cancellation."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from patient_billing.domain.exceptions import RulesNotInForce
from patient_billing.domain.subscriptions import Subscription, SubscriptionRefused, SubscriptionRules, period_days

RULES = SubscriptionRules.from_dict(yaml.safe_load(
    (Path(__file__).parents[2] / "src/patient_billing/domain/rules/subscriptions.yaml").read_text()))


def sub(plan: str = "messaging-basic", on: date = date(2026, 11, 1)) -> Subscription:
    return Subscription.start("s1", "p1", "pt1", plan, on, RULES)


def test_a_full_month_is_the_fee_plus_the_messages_over_the_included_ones() -> None:
    invoice = sub().close("2026-11", [date(2026, 11, 3)] * 10, RULES)
    assert invoice is not None and len(invoice.lines) == 1
    assert invoice.lines[0].access_fee == 4900 and invoice.lines[0].included == 8
    assert invoice.lines[0].overage_messages == 2 and invoice.total == 4900 + 2 * 750


def test_pay_per_exchange_charges_each_message_and_nothing_else() -> None:
    assert sub("pay-per-exchange").close("2026-11", [date(2026, 11, 5)] * 3, RULES).total == 3600  # type: ignore[union-attr]
    assert sub("pay-per-exchange").close("2026-11", [], RULES).total == 0  # type: ignore[union-attr]


def test_a_mid_period_change_prorates_fee_and_allowance_by_days() -> None:
    s = sub()
    s.change_plan("messaging-unlimited", date(2026, 11, 16), RULES)  # 15 days basic, 15 days unlimited of 30
    invoice = s.close("2026-11", [date(2026, 11, 2)] * 6 + [date(2026, 11, 20)] * 30, RULES)
    assert invoice is not None
    basic, unlimited = invoice.lines
    assert (basic.days, basic.access_fee, basic.included, basic.overage_messages) == (15, 2450, 4, 2)
    assert (unlimited.days, unlimited.access_fee, unlimited.overage) == (15, 6450, 0)
    assert invoice.total == 2450 + 2 * 750 + 6450


def test_a_subscription_started_mid_month_pays_for_its_days_only() -> None:
    invoice = sub(on=date(2026, 11, 21)).close("2026-11", [date(2026, 11, 1)] * 5, RULES)
    assert invoice is not None and invoice.lines[0].days == 10
    assert invoice.lines[0].access_fee == 1633 and invoice.lines[0].messages == 0  # 49.00 * 10/30, half up


def test_cancellation_bills_its_period_and_stops_the_next() -> None:
    s = sub()
    s.cancel(date(2026, 11, 10))
    assert s.state == "cancelled" and s.ends_on == date(2026, 11, 30)
    assert s.close("2026-11", [], RULES).total == 4900  # type: ignore[union-attr]
    assert s.close("2026-12", [date(2026, 12, 2)], RULES) is None
    with pytest.raises(SubscriptionRefused):
        s.cancel(date(2026, 11, 11))
    with pytest.raises(SubscriptionRefused):
        s.change_plan("pay-per-exchange", date(2026, 11, 12), RULES)


def test_a_period_closes_once() -> None:
    s = sub()
    assert s.close("2026-11", [], RULES) is not None
    assert s.close("2026-11", [], RULES) is None


def test_unknown_plans_and_bad_periods_are_refused_naming_the_field() -> None:
    with pytest.raises(RulesNotInForce) as refused:
        sub("gold")
    assert refused.value.field == "plan_id"
    with pytest.raises(SubscriptionRefused) as bad:
        period_days("2026-13")
    assert bad.value.field == "period"


def test_rules_without_any_price_are_refused() -> None:
    with pytest.raises(ValueError, match="plans"):
        SubscriptionRules.from_dict({"billable_directions": ["clinician_to_patient"],
                                     "plans": [{"id": "free", "effective_from": "2026-01-01", "per_message": "0"}]})


@given(st.integers(min_value=1, max_value=29), st.lists(st.integers(min_value=0, max_value=29), max_size=60))
def test_prorated_lines_never_exceed_a_full_month_and_cover_every_day(change_day: int, offsets: list[int]) -> None:
    s = sub()
    s.change_plan("pay-per-exchange", date(2026, 11, 1) + timedelta(days=change_day), RULES)
    days = [date(2026, 11, 1) + timedelta(days=n) for n in offsets]
    invoice = s.close("2026-11", days, RULES)
    assert invoice is not None
    assert sum(line.days for line in invoice.lines) == 30
    assert sum(line.messages for line in invoice.lines) == len(days)
    assert sum(line.access_fee for line in invoice.lines) <= 4900
