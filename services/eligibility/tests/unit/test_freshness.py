from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import eligibility.domain as domain_package
import pytest
from eligibility.domain.freshness import CachedCheck, FreshnessPolicy, FreshnessRules, RefreshReason

POLICY = FreshnessPolicy(max_age_days=30, first_visit_window_days=3)


def test_never_checked_must_check() -> None:
    decision = POLICY.decide(None, date(2026, 3, 1))
    assert decision.refresh and decision.reasons == (RefreshReason.NEVER_CHECKED,)


@pytest.mark.parametrize(("checked", "refresh"), [(date(2026, 1, 30), False), (date(2026, 1, 29), True)])
def test_stale_after_max_age_days_exactly(checked: date, refresh: bool) -> None:
    assert POLICY.decide(CachedCheck(checked), date(2026, 3, 1)).refresh is refresh  # 30 vs 31 days


def test_first_visit_needs_a_recent_check() -> None:
    cached = CachedCheck(date(2026, 2, 20))
    assert POLICY.decide(cached, date(2026, 3, 1)).refresh is False
    decision = POLICY.decide(cached, date(2026, 3, 1), first_visit=True)
    assert decision.reasons == (RefreshReason.BEFORE_FIRST_VISIT,)
    assert POLICY.decide(CachedCheck(date(2026, 2, 26)), date(2026, 3, 1), first_visit=True).refresh is False


def test_eligibility_denial_after_the_check_forces_a_refresh() -> None:
    cached = CachedCheck(date(2026, 2, 20))
    assert POLICY.decide(cached, date(2026, 3, 1)).refresh is False
    decision = POLICY.decide(cached, date(2026, 3, 1), last_eligibility_denial_on=date(2026, 2, 25))
    assert decision.reasons == (RefreshReason.ELIGIBILITY_DENIAL,)
    # a nightly batch asks about tomorrow's visit: the check is dated tomorrow, the denial today still counts
    tonight = CachedCheck(date(2026, 3, 2))
    decision = POLICY.decide(tonight, date(2026, 3, 2), last_eligibility_denial_on=date(2026, 3, 1))
    assert decision.reasons == (RefreshReason.ELIGIBILITY_DENIAL,)
    assert POLICY.is_eligibility_denial("27") and not POLICY.is_eligibility_denial("45")


def test_new_benefit_year_and_coverage_end() -> None:
    decision = POLICY.decide(CachedCheck(date(2025, 12, 30), coverage_end=date(2025, 12, 31)), date(2026, 1, 2))
    assert set(decision.reasons) == {RefreshReason.NEW_BENEFIT_YEAR, RefreshReason.COVERAGE_ENDED}


def test_shipped_rules_pick_payer_policy_by_effective_date() -> None:
    path = Path(domain_package.__file__).parent / "rules" / "freshness.json"
    rules = FreshnessRules.from_dict(json.loads(path.read_text()))
    assert rules.policy_for("SBXHP", date(2025, 6, 1)).max_age_days == 14
    assert rules.policy_for("SBXHP", date(2024, 6, 1)).max_age_days == 30  # before the payer rule took effect
    assert rules.policy_for("OTHER", date(2025, 6, 1)).max_age_days == 30


def test_bad_policy_data_is_refused() -> None:
    with pytest.raises(ValueError, match="max_age_days"):
        FreshnessPolicy.from_dict({"max_age_days": -1})
