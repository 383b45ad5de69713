"""Appeal levels and deadlines per payer (effective-dated rules), the deadline states, the success rate."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D
from importlib.resources import files

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from remittance.domain.appeals import (
    AppealRules,
    AppealRulesError,
    DecidedAppeal,
    NoFurtherAppeal,
    appeal_deadline_state,
    success_rates,
)

RULES = AppealRules.from_mapping(yaml.safe_load(
    files("remittance.domain").joinpath("rules/appeals.yaml").read_text()))
DENIED = date(2026, 10, 1)


def test_levels_per_payer_and_the_default() -> None:
    assert [lv.level for lv in RULES.levels("1999999999", on=DENIED)] == \
        ["first_level", "second_level", "external_review"]
    assert RULES.levels("1999999999", on=DENIED)[0].days == 90
    assert RULES.levels("ANYONE", on=DENIED)[0].days == 180


def test_deadlines_count_from_the_denial_then_from_the_previous_decision() -> None:
    first = RULES.next_level("1999999999", on=DENIED, decided=[])
    assert first.deadline(DENIED, None) == DENIED + timedelta(days=90)
    second = RULES.next_level("1999999999", on=DENIED, decided=["first_level"])
    assert second.deadline(DENIED, date(2026, 12, 1)) == date(2027, 1, 30)
    with pytest.raises(NoFurtherAppeal):
        RULES.next_level("1999999999", on=DENIED, decided=["first_level", "second_level", "external_review"])


def test_blocks_are_effective_dated_and_malformed_rules_are_refused() -> None:
    data = yaml.safe_load(files("remittance.domain").joinpath("rules/appeals.yaml").read_text())
    data["levels"][0]["effective_to"] = "2027-01-01"
    data["levels"].append({"effective_from": "2027-01-01", "default": [{"level": "first_level", "days": 30}]})
    rules = AppealRules.from_mapping(data)
    assert rules.levels("X", on=date(2026, 12, 31))[0].days == 180
    assert rules.levels("X", on=date(2027, 1, 1))[0].days == 30
    with pytest.raises(AppealRulesError):
        rules.levels("X", on=date(2020, 1, 1))
    with pytest.raises(AppealRulesError, match="counted from the denial"):
        AppealRules.from_mapping({**data, "levels": [{"effective_from": "2024-01-01", "default": [
            {"level": "first_level", "days": 30, "from": "previous_decision"}]}]})
    with pytest.raises(AppealRulesError, match="default letter"):
        AppealRules.from_mapping({**data, "letters": {}})


def test_letter_template_per_category_with_a_default() -> None:
    assert "medically necessary" in RULES.letter("documentation_medical_necessity").argument
    assert RULES.letter("coding") == RULES.letter("default")


@settings(deadline=None)
@given(offset=st.integers(min_value=-400, max_value=400))
def test_deadline_state_against_today(offset: int) -> None:
    due = date(2026, 12, 1)
    today = due - timedelta(days=offset)
    state = appeal_deadline_state(due, None, today)
    assert state == ("late" if offset < 0 else "due" if offset <= 14 else "open")
    assert appeal_deadline_state(due, today, today) == "filed"


def test_success_rate_by_payer_and_category_leaves_withdrawn_out() -> None:
    rates = success_rates([
        DecidedAppeal("P1", "coding", "overturned", D("100")),
        DecidedAppeal("P1", "coding", "upheld", D("50")),
        DecidedAppeal("P1", "coding", "partially_overturned", D("20")),
        DecidedAppeal("P1", "coding", "withdrawn", D("999")),
        DecidedAppeal("P2", "timely_filing", "upheld", D("10")),
    ])
    assert [(r.payer_id, r.category, r.decided, r.won, r.rate, r.amount_appealed) for r in rates] == [
        ("P1", "coding", 3, 2, D("0.6667"), D("170")), ("P2", "timely_filing", 1, 0, D("0.0000"), D("10"))]
