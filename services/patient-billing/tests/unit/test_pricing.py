"""Self-pay prices from the rules files: the most specific fee in force on the date of service, the sliding-scale
tier while the proof of income covers the date, and missed-appointment fees only with signed consent."""

from __future__ import annotations

from datetime import date

import pytest
from patient_billing.bootstrap import load_pricing_rules
from patient_billing.domain.exceptions import NoFeeScheduled, RulesNotInForce
from patient_billing.domain.pricing import FeeRules, SlidingScaleRules, assess_income, tier_on
from rcm_shared.rules import RulesError, load_rules

RULES = load_pricing_rules()
DOS = date(2026, 10, 1)


def test_the_most_specific_fee_in_force_wins() -> None:
    fees = RULES.fees
    assert fees.price(["90837"], "LCSW", "adult-outpatient", DOS).amount == 16_000
    assert fees.price(["90837"], "PsyD", None, DOS).amount == 19_000, "credential level beats *"
    assert fees.price(["90837"], "LCSW", "anxiety-clinic", DOS).amount == 14_000, "program beats *"
    assert fees.price(["90837"], "LMSW", None, DOS).amount == 11_500, "an associate's lower rate"
    intake = fees.price(["90791"], None, None, DOS)
    assert intake.intake and intake.amount == 20_000 and intake.rule == "fees-2026:intake-evaluation/*/*"
    assert not fees.price(["90834", "90785"], "LPC", None, DOS).intake


def test_a_visit_without_a_fee_or_before_any_schedule_is_refused_naming_why() -> None:
    with pytest.raises(NoFeeScheduled):
        RULES.fees.price(["96130"], "LCSW", None, DOS)
    with pytest.raises(RulesNotInForce):
        RULES.fees.price(["90837"], "LCSW", None, date(2025, 12, 31))


def test_sliding_scale_tiers_follow_household_income_against_the_poverty_guideline() -> None:
    scale = RULES.sliding_scale
    policy = scale.policy_on(DOS)
    assert policy.poverty_line(3) == 15_650_00 + 2 * 5_500_00
    assert policy.tier_for(1, 15_650_00).name == "A"  # exactly 100%
    assert policy.tier_for(1, 15_650_01).name == "B"
    assert policy.tier_for(4, 60_000_00).name == "C"  # 60,000 / 32,150 = 187%
    assert policy.tier_for(1, 100_000_00).name == "full"
    tier_a = policy.tier_for(1, 10_000_00)
    assert policy.discounted(16_000, tier_a) == 4_000
    assert policy.discounted(9_000, tier_a) == 3_000, "never below the policy's minimum fee"


def test_a_tier_applies_only_while_the_proof_covers_the_date_of_service() -> None:
    assessment = assess_income(RULES.sliding_scale, assessment_id="a1", patient_id="pt", household_size=2,
                               annual_income=30_000_00, proof_received_on=date(2026, 3, 1))
    assert assessment.tier == "B" and assessment.proof_expires_on == date(2027, 3, 1)
    assert tier_on([assessment], date(2026, 2, 28)) is None, "before the proof arrived: full fee"
    assert tier_on([assessment], date(2026, 10, 1)) == assessment
    assert tier_on([assessment], date(2027, 3, 2)) is None, "expired: full fee until re-assessed"


def test_missed_appointment_fees_need_signed_consent_on_or_before_the_day() -> None:
    policy = RULES.financial_policy
    assert policy.fee_for("no_show", DOS, consent_signed_on=date(2026, 9, 1)) == (
        7_500, "financial-policy-2026:no_show")
    assert policy.fee_for("late_cancel", DOS, consent_signed_on=DOS) == (5_000, "financial-policy-2026:late_cancel")
    assert policy.fee_for("no_show", DOS, consent_signed_on=None) is None
    assert policy.fee_for("no_show", DOS, consent_signed_on=date(2026, 10, 2)) is None


def test_a_rules_file_with_a_gap_is_refused_naming_the_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "sliding_scale.yaml").write_text(
        'version: "x"\ndecides: test\npolicies:\n  - {id: p, effective_from: 2026-01-01, proof_valid_days: 30,\n'
        '     poverty_guideline: {household_of_one: "1.00", each_additional_person: "1.00"},\n'
        '     tiers: [{tier: A, max_percent_of_poverty: 100, percent_of_fee: 50}]}\n')
    with pytest.raises(RulesError, match=r"sliding_scale\.yaml"):
        load_pricing_rules(str(tmp_path))
    with pytest.raises(ValueError, match="appointment types"):
        FeeRules.from_dict({"appointment_types": {"90837": {"type": "a"}},
                            "schedules": [{"id": "s", "effective_from": "2026-01-01",
                                           "fees": [{"appointment_type": "b", "fee": "1.00"}]}]})
    assert SlidingScaleRules.from_dict(load_rules("patient_billing.domain", "sliding_scale.yaml").data).policies
