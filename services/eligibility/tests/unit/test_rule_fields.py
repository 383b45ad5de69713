"""Every rules file error names the file's subject and the field, and a good file reads as typed values."""

from __future__ import annotations

from datetime import date

import pytest
from eligibility.domain.freshness import FreshnessRules
from eligibility.domain.nightly_batch import NightlyBatchRules
from eligibility.domain.payer_limits import PayerLimitRules
from eligibility.domain.rule_fields import RuleFields, entries


def test_fields_read_typed_values_and_defaults() -> None:
    fields = RuleFields({"n": 3, "on": False, "from": "2026-01-01", "retry": [1, 2]}, "payer limits")
    assert (fields.integer("n", 9), fields.integer("missing", 9)) == (3, 9)
    assert fields.flag("on", True) is False
    assert (fields.day("from"), fields.day("missing")) == (date(2026, 1, 1), None)
    assert fields.minutes("retry", (5,)) == (1, 2)


@pytest.mark.parametrize(("data", "message"), [
    ({"n": "3"}, "payer limits: n must be an integer of at least 1"),
    ({"n": True}, "payer limits: n must be an integer of at least 1"),
    ({"n": 0}, "payer limits: n must be an integer of at least 1"),
])
def test_integers_are_refused_naming_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RuleFields(data, "payer limits").integer("n", 5, 1)


def test_dates_flags_minutes_and_lists_are_refused_naming_the_field() -> None:
    fields = RuleFields({"d": "2026-13-40", "f": "yes", "m": [5, 0]}, "nightly batch")
    with pytest.raises(ValueError, match="nightly batch: d must be an ISO date"):
        fields.day("d")
    with pytest.raises(ValueError, match="nightly batch: f must be true or false"):
        fields.flag("f", True)
    with pytest.raises(ValueError, match="nightly batch: m must be a list of positive integers"):
        fields.minutes("m", (5,))
    with pytest.raises(ValueError, match="freshness rules: policies must be a list"):
        entries({"policies": "all"}, "policies", "freshness rules")
    with pytest.raises(ValueError, match="each entry of limits must be an object"):
        PayerLimitRules.from_dict({"limits": [1]})
    with pytest.raises(ValueError, match="freshness policy: max_age_days"):
        FreshnessRules.from_dict({"policies": [{"max_age_days": -1}]})
    with pytest.raises(ValueError, match="nightly batch: results_wait_hours"):
        NightlyBatchRules.from_dict({"schedules": [{"results_wait_hours": 0}]})
