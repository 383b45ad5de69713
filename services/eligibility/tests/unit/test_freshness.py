from __future__ import annotations

from datetime import date

import pytest
from eligibility.domain.freshness import CachedCheck, FreshnessPolicy, FreshnessRules, RefreshReason
from rcm_shared.rules import RulesError

from .conftest import rules_file, shipped_rules

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
    rules = shipped_rules().freshness
    assert rules.policy_for("SBXHP", date(2025, 6, 1)).max_age_days == 14
    assert rules.policy_for("SBXHP", date(2024, 6, 1)).max_age_days == 30  # before the payer rule took effect
    assert rules.policy_for("OTHER", date(2025, 6, 1)).max_age_days == 30


def test_bad_policy_data_is_refused() -> None:
    with pytest.raises(RulesError, match=r"freshness.yaml: policies\[0\].max_age_days: must be an integer"):
        FreshnessRules.from_rules(rules_file("freshness.yaml", {"policies": [
            {"effective_from": "2026-01-01", "max_age_days": -1}]}))
    with pytest.raises(RulesError, match=r"policies\[0\].eligibility_denial_reasons: must be a list of codes"):
        FreshnessRules.from_rules(rules_file("freshness.yaml", {"policies": [
            {"effective_from": "2026-01-01", "eligibility_denial_reasons": [27]}]}))
