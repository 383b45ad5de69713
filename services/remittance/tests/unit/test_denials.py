"""Denial classification (rules file), routing, pattern detection and underpayment checks."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D
from importlib.resources import files

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from remittance.domain.denials import (
    CATEGORIES,
    ContractedRate,
    DenialClassifier,
    DenialOccurrence,
    DenialPatternDetector,
    DenialRouter,
    DenialRules,
    DenialRulesError,
    UnderpaymentCheck,
)
from remittance.domain.model import ClaimPayment
from remittance.edi.era_reader import read_remittances
from remittance.edi.era_writer import DraftAdjustment, DraftClaim, DraftLine, DraftTransaction, write_835

RULES_TEXT = files("remittance.domain").joinpath("rules/denials.yaml").read_text()
RULES = DenialRules.from_yaml(RULES_TEXT)
CLASSIFIER = DenialClassifier(RULES)


def payment_of(draft: DraftClaim) -> ClaimPayment:
    [remittance] = read_remittances(write_835([[DraftTransaction(claims=(draft,))]]))
    return remittance.claims[0]


def line_denial(reason: str, amount: str = "100.00", group: str = "CO", remarks: tuple[str, ...] = (),
                paid: str = "50.00") -> ClaimPayment:
    charge = D(amount) + D(paid)
    line = DraftLine("90837", charge, D(paid), adjustments=(DraftAdjustment(group, reason, D(amount)),),
                     remarks=remarks)
    return payment_of(DraftClaim("PCN1", "1", charge, D(paid), lines=(line,)))


@pytest.mark.parametrize(("reason", "remarks", "category", "action"), [
    ("197", (), "authorization_exhausted_or_missing", "renew_authorization"),
    ("198", (), "authorization_exhausted_or_missing", "renew_authorization"),
    ("15", (), "authorization_exhausted_or_missing", "renew_authorization"),
    ("96", (), "not_covered_mh_benefit_or_carve_out", "appeal"),
    ("109", (), "not_covered_mh_benefit_or_carve_out", "bill_other_payer"),
    ("119", (), "visit_limit_exceeded", "appeal"),
    ("58", (), "telehealth_limitation", "correct_and_resubmit"),
    ("5", ("M77",), "telehealth_limitation", "correct_and_resubmit"),
    ("5", (), "coding", "correct_and_resubmit"),
    ("B7", (), "provider_not_credentialed", "verify_credentialing"),
    ("242", (), "provider_not_credentialed", "verify_credentialing"),
    ("11", (), "coding", "correct_and_resubmit"),
    ("27", (), "eligibility", "verify_eligibility"),
    ("50", (), "documentation_medical_necessity", "appeal"),
    ("29", (), "timely_filing", "appeal"),
    ("18", (), "duplicate", "verify_original_claim"),
    ("22", (), "coordination_of_benefits", "update_coordination_of_benefits"),
    ("A1", (), "other", "review_and_decide"),
])
def test_carc_maps_to_mental_health_root_cause(reason: str, remarks: tuple[str, ...], category: str,
                                               action: str) -> None:
    [denial] = CLASSIFIER.classify(line_denial(reason, remarks=remarks))
    assert (denial.category, denial.suggested_action) == (category, action)
    assert denial.line_ordinal == 1 and denial.procedure_code == "90837" and denial.amount == D("100.00")
    assert denial.reason_codes == (reason,) and denial.remark_codes == remarks


def test_contractual_reductions_and_patient_share_are_not_denials() -> None:
    assert CLASSIFIER.classify(line_denial("45")) == []
    assert CLASSIFIER.classify(line_denial("2", group="PR")) == []
    assert CLASSIFIER.classify(line_denial("253")) == []


def test_zero_paid_line_makes_every_non_pr_reason_a_denial() -> None:
    [denial] = CLASSIFIER.classify(line_denial("45", paid="0"))
    assert denial.category == "other" and denial.amount == D("100.00")


def test_denied_claim_status_without_cas_is_still_a_denial() -> None:
    [denial] = CLASSIFIER.classify(payment_of(DraftClaim("PCN9", "4", D("80.00"), D("0"))))
    assert denial.line_ordinal is None and denial.category == "other" and denial.amount == D("80.00")


def test_reversals_are_not_classified() -> None:
    reversal = DraftClaim("P", "22", D("-100"), D("0"), adjustments=(DraftAdjustment("CO", "50", D("-100")),))
    assert CLASSIFIER.classify(payment_of(reversal)) == []


def test_claim_and_line_denials_are_grouped_by_category() -> None:
    line = DraftLine("90837", D("300.00"), D("0"), adjustments=(
        DraftAdjustment("CO", "197", D("200.00")), DraftAdjustment("CO", "15", D("60.00")),
        DraftAdjustment("CO", "50", D("40.00"))))
    claim = DraftClaim("P", "1", D("300.00"), D("0"), lines=(line,))
    denials = sorted(CLASSIFIER.classify(payment_of(claim)), key=lambda d: d.category)
    assert [(d.category, d.reason_codes, d.amount, d.queue) for d in denials] == [
        ("authorization_exhausted_or_missing", ("197", "15"), D("260.00"), "senior"),
        ("documentation_medical_necessity", ("50",), D("40.00"), "clinical_liaison"),
    ]


@pytest.mark.parametrize(("category", "amount", "queue"), [
    ("coding", D("250.00"), "billing"),
    ("coding", D("250.01"), "senior"),
    ("documentation_medical_necessity", D("10.00"), "clinical_liaison"),
    ("documentation_medical_necessity", D("900.00"), "senior"),
])
def test_routing_rules(category: str, amount: D, queue: str) -> None:
    assert DenialRouter(RULES).route(category, amount) == queue


@pytest.mark.parametrize(("category", "amount", "queues"), [
    ("coding", D("250.00"), ("billing",)),
    ("coding", D("250.01"), ("senior",)),
    ("documentation_medical_necessity", D("10.00"), ("clinical_liaison",)),
    ("documentation_medical_necessity", D("250.00"), ("clinical_liaison",)),
    ("documentation_medical_necessity", D("900.00"), ("senior", "clinical_liaison")),
])
def test_every_queue_the_escalation_model_reaches(category: str, amount: D, queues: tuple[str, ...]) -> None:
    assert DenialRouter(RULES).queues(category, amount) == queues


@settings(deadline=None)
@given(category=st.sampled_from(CATEGORIES), cents=st.integers(min_value=1, max_value=10_000_00))
def test_escalation_model_holds_for_any_denial(category: str, cents: int) -> None:
    """Seed 003: over 250 the senior biller; documentation / medical necessity the liaison whatever the amount;
    billing only when neither."""
    amount = D(cents) / 100
    queues = DenialRouter(RULES).queues(category, amount)
    assert ("senior" in queues) == (amount > D("250"))
    assert ("clinical_liaison" in queues) == (category == "documentation_medical_necessity")
    assert ("billing" in queues) == (queues == ("billing",))


def test_routing_and_classification_are_effective_dated() -> None:
    text = RULES_TEXT.replace("  - effective_from: 2024-01-01\n    effective_to: null\n    # The seed's", (
        "  - effective_from: 2026-01-01\n    effective_to: null\n    rules:\n"
        "      - {queue: senior, amount_over: \"100.00\"}\n      - {queue: billing}\n"
        "  - effective_from: 2024-01-01\n    effective_to: 2026-01-01\n    # The seed's"))
    rules = DenialRules.from_yaml(text)
    router = DenialRouter(rules)
    assert router.route("coding", D("150.00"), as_of=date(2025, 6, 1)) == "billing"
    assert router.route("coding", D("150.00"), as_of=date(2026, 6, 1)) == "senior"
    with pytest.raises(DenialRulesError):
        router.route("coding", D("1"), as_of=date(2020, 1, 1))


def test_rules_loader_refuses_unknown_categories_and_missing_catch_all() -> None:
    with pytest.raises(DenialRulesError):
        DenialRules.from_yaml(RULES_TEXT.replace("category: timely_filing", "category: lateness"))
    with pytest.raises(DenialRulesError):
        DenialRules.from_yaml(RULES_TEXT.replace("      - {queue: billing}\n", ""))
    assert set(CATEGORIES) >= {m.category for m in RULES.classification[0].mappings}


def occurrences(category: str, visits: int, start: date, spread_days: int) -> list[DenialOccurrence]:
    return [DenialOccurrence(start + timedelta(days=i * spread_days // max(visits - 1, 1)), category, f"v{i}",
                             f"c{i}") for i in range(visits)]


def test_pattern_needs_more_than_ten_visits_in_thirty_days() -> None:
    detector = DenialPatternDetector(RULES)
    start = date(2026, 1, 1)
    assert detector.detect(occurrences("visit_limit_exceeded", 10, start, 29)) == []
    [pattern] = detector.detect(occurrences("visit_limit_exceeded", 11, start, 29))
    assert pattern.visit_count == 11 and pattern.queue == "billing_and_clinical_review"
    assert pattern.window_end - pattern.window_start == timedelta(days=29)
    assert detector.detect(occurrences("coding", 11, start, 30)) == []  # spread over 31 days
    same_visit = [DenialOccurrence(start, "coding", "v1", f"c{i}") for i in range(20)]
    assert detector.detect(same_visit) == []  # visits, not denials, are counted


def test_underpayment_against_contracted_rate() -> None:
    line = DraftLine("90837", D("200.00"), D("100.00"), modifiers=("95",), units=D("1"), service_date="20260110",
                     adjustments=(DraftAdjustment("CO", "45", D("70.00")), DraftAdjustment("PR", "3", D("30.00"))))
    payment = payment_of(DraftClaim("P", "1", D("200.00"), D("100.00"), lines=(line,)))
    rates = [ContractedRate("90837", D("135.00")), ContractedRate("90837", D("140.00"), ("95",),
                                                                  effective_from=date(2026, 1, 1))]
    [flag] = UnderpaymentCheck(rates).check(payment)
    assert (flag.expected, flag.allowed, flag.shortfall) == (D("140.00"), D("130.00"), D("10.00"))
    assert UnderpaymentCheck([ContractedRate("90837", D("130.00"))]).check(payment) == []
    old = [ContractedRate("90837", D("999.00"), ("95",), effective_to=date(2026, 1, 1))]
    assert UnderpaymentCheck(old).check(payment) == []
