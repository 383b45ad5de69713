"""Every rules file error names the file and the field, and a good file reads as typed values."""

from __future__ import annotations

from datetime import date

import pytest
from eligibility.domain.rule_fields import RuleFields, entries
from eligibility.domain.session_limits import SessionLimitRules
from rcm_shared.rules import RulesError

from .conftest import rules_file, shipped_rules


def test_fields_read_typed_values_and_defaults() -> None:
    fields = RuleFields({"n": 3, "on": False, "effective_from": date(2026, 1, 1), "retry": [1, 2], "codes": ["27"]},
                        "payer_limits.yaml", "limits[0]")
    assert (fields.integer("n", 9), fields.integer("missing", 9)) == (3, 9)
    assert fields.flag("on", True) is False
    assert fields.effective() == (date(2026, 1, 1), None)
    assert fields.minutes("retry", (5,)) == (1, 2)
    assert fields.codes("codes", ()) == ("27",)


@pytest.mark.parametrize(("data", "message"), [
    ({"n": "3"}, "payer_limits.yaml: limits[0].n: must be an integer of at least 1"),
    ({"n": True}, "payer_limits.yaml: limits[0].n: must be an integer of at least 1"),
    ({"n": 0}, "payer_limits.yaml: limits[0].n: must be an integer of at least 1"),
])
def test_integers_are_refused_naming_the_file_and_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(RulesError) as refused:
        RuleFields(data, "payer_limits.yaml", "limits[0]").integer("n", 5, 1)
    assert str(refused.value) == message


def test_flags_minutes_dates_and_lists_are_refused_naming_the_file_and_field() -> None:
    fields = RuleFields({"effective_from": "2026-13-40", "f": "yes", "m": [5, 0]}, "nightly_batch.yaml",
                        "schedules[0]")
    with pytest.raises(RulesError, match=r"nightly_batch.yaml: schedules\[0\].effective_from: must be a date"):
        fields.effective()
    with pytest.raises(RulesError, match=r"schedules\[0\].f: must be true or false"):
        fields.flag("f", True)
    with pytest.raises(RulesError, match=r"schedules\[0\].m: must be a list of positive integers"):
        fields.minutes("m", (5,))
    with pytest.raises(RulesError, match=r"freshness\.yaml: policies: must be a list"):
        entries(rules_file("freshness.yaml", {"policies": "all"}), "policies")
    with pytest.raises(RulesError, match=r"payer_limits.yaml: limits\[0\]: must be an object"):
        entries(rules_file("payer_limits.yaml", {"limits": [1]}), "limits")
    with pytest.raises(RulesError, match=r"freshness\.yaml: policies: is required"):
        entries(rules_file("freshness.yaml", {}), "policies")


def test_the_session_limit_threshold_is_rules_data_with_an_answer_for_every_date() -> None:
    rules = SessionLimitRules.from_rules(rules_file("session_limits.yaml", {"thresholds": [
        {"payer_id": "*", "effective_from": "2024-01-01", "effective_to": "2025-12-31", "alert_at_remaining": 3},
        {"payer_id": "*", "effective_from": "2026-01-01", "alert_at_remaining": 4},
        {"payer_id": "SBXHP", "effective_from": "2026-06-01", "alert_at_remaining": 6}]}))
    assert rules.alert_at_remaining("ACME", date(2025, 6, 1)) == 3
    assert rules.alert_at_remaining("ACME", date(2026, 6, 1)) == 4
    assert rules.alert_at_remaining("SBXHP", date(2026, 5, 31)) == 4
    assert rules.alert_at_remaining("SBXHP", date(2026, 6, 1)) == 6
    assert rules.alert_at_remaining("ACME", date(2020, 1, 1)) == 3, "before every entry: the oldest default"
    assert shipped_rules().session_limits.alert_at_remaining("SBXHP", date(2026, 12, 2)) == 3


@pytest.mark.parametrize(("thresholds", "where"), [
    ([{"payer_id": "SBXHP", "effective_from": "2026-01-01", "alert_at_remaining": 3}], "thresholds: must hold"),
    ([{"payer_id": "*", "effective_from": "2026-01-01"}], "thresholds[0].alert_at_remaining: must be an integer"),
    ([{"payer_id": "*", "effective_from": "2026-01-01", "effective_to": "2026-12-31", "alert_at_remaining": 3}],
     "thresholds: must hold"),
])
def test_a_threshold_file_that_leaves_visits_without_an_answer_is_refused(thresholds: list[object],
                                                                           where: str) -> None:
    with pytest.raises(RulesError) as refused:
        SessionLimitRules.from_rules(rules_file("session_limits.yaml", {"thresholds": thresholds}))
    assert str(refused.value).startswith(f"session_limits.yaml: {where}")
