"""Crossover / secondary claims and reversals in the journal; the denial pattern watch; kept 835 fields."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D
from importlib.resources import files

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from remittance.domain.denials import (
    DenialClassifier,
    DenialOccurrence,
    DenialPatternDetector,
    DenialPatternWatch,
    DenialRules,
)
from remittance.domain.model import ClaimPayment
from remittance.domain.posting import (
    CONTRACTUAL_WRITEOFF,
    PAYER_AR,
    SECONDARY_PAYER_AR,
    UNDEPOSITED_ERA,
    ClaimFacts,
    ClaimLineFacts,
    Ledger,
    PatientResponsibility,
    PostedClaim,
    RemittancePosting,
    load_coordination,
    load_plb_accounts,
)
from remittance.domain.posting import (
    PATIENT_RESPONSIBILITY_TRANSFERRED as TRANSFERRED,
)
from remittance.edi.era_reader import iter_remittance, read_remittances
from remittance.edi.era_writer import DraftAdjustment, DraftClaim, DraftLine, DraftTransaction, write_835

ZERO = D(0)
RULES = yaml.safe_load(files("remittance.domain").joinpath("rules/posting.yaml").read_text())
POSTING = RemittancePosting(load_plb_accounts(RULES), load_coordination(RULES))
FACTS = ClaimFacts("claim-1", "PCN1", (ClaimLineFacts(1, "90837", D("180.00")),))
CARRIER = ("MEDIGAP SUPPLEMENT", "MGS01")


def payment_of(draft: DraftClaim) -> ClaimPayment:
    [remittance] = read_remittances(write_835([[DraftTransaction(claims=(draft,))]]))
    return remittance.claims[0]


def primary(status: str = "19") -> DraftClaim:
    """Paid 112 of 180, 40 contractual, 28 copay; forwarded to the crossover carrier when status is 19."""
    return DraftClaim("PCN1", status, D("180.00"), D("112.00"), D("28.00"), crossover_carrier=CARRIER if status in {
        "19", "20", "21"} else None, lines=(DraftLine("90837", D("180.00"), D("112.00"), adjustments=(
            DraftAdjustment("CO", "45", D("40.00")), DraftAdjustment("PR", "3", D("28.00")))),))


def secondary(paid: str, pr: str, co: str = "0", status: str = "2") -> DraftClaim:
    """The next payer's 835 for the same claim: CARC 23 repeats what the primary did (112 paid + 40 CO)."""
    adjustments = [DraftAdjustment("OA", "23", D("152.00")), DraftAdjustment("PR", "2", D(pr))]
    if D(co):
        adjustments.append(DraftAdjustment("CO", "45", D(co)))
    return DraftClaim("PCN1", status, D("180.00"), D(paid), D(pr), payer_claim_number="SECONDARY1",
                      adjustments=tuple(adjustments))


def charged() -> Ledger:
    ledger = Ledger()
    ledger.apply(POSTING.charge(FACTS))
    return ledger


def test_coordination_rules_come_from_the_rules_file() -> None:
    [block] = load_coordination(RULES)
    assert block.forwarded_statuses == {"19", "20", "21"}
    assert block.next_payer_statuses == {"2", "3", "20", "21"}
    assert block.prior_payer_reasons == {"23"}
    with pytest.raises(ValueError, match="effective_from"):
        load_coordination({"coordination": [{"forwarded_statuses": ["19"]}]})
    with pytest.raises(ValueError, match="ISO date"):
        load_coordination({"coordination": [{"effective_from": "soon"}]})
    older = {"effective_from": "2020-01-01", "effective_to": "2025-01-01", "forwarded_statuses": []}
    newer = {"effective_from": "2025-01-01", "forwarded_statuses": ["19"]}
    posting = RemittancePosting(coordination=load_coordination({"coordination": [older, newer]}))
    assert posting.coordination_on(date(2024, 6, 1)).forwarded_statuses == frozenset()
    assert posting.coordination_on(date(2025, 6, 1)).forwarded_statuses == {"19"}
    # before the rule took effect, a forwarded status is posted like any other: PR goes to the patient
    result = posting.post_claim(payment_of(primary()), FACTS, as_of=date(2024, 6, 1))
    assert result.patient_billed.total == D("28.00") and result.held_for_next_payer == ZERO


def test_a_crossover_holds_the_patient_share_for_the_next_payer() -> None:
    ledger = charged()
    payment = payment_of(primary("19"))
    assert (payment.names["TT"].last_name, payment.names["TT"].identifier) == CARRIER
    result = POSTING.post_claim(payment, FACTS)
    ledger.apply_all(result.entries)
    assert result.patient_responsibility.copay == D("28.00"), "what the 835 says is kept"
    assert result.patient_billed == PatientResponsibility(), "nothing is billed to the patient yet"
    assert result.held_for_next_payer == D("28.00")
    assert ledger.balance(SECONDARY_PAYER_AR, "claim-1") == D("28.00")
    assert ledger.balance(TRANSFERRED) == ZERO
    assert ledger.balance(PAYER_AR) == ZERO
    assert ledger.total_debits == ledger.total_credits


def test_the_secondary_settles_the_forwarded_balance_and_bills_only_what_it_leaves() -> None:
    ledger = charged()
    ledger.apply_all(POSTING.post_claim(payment_of(primary("19")), FACTS).entries)
    held = ledger.balance(SECONDARY_PAYER_AR, "claim-1")
    result = POSTING.post_claim(payment_of(secondary("20.00", "8.00")), FACTS, held_for_this_payer=held)
    ledger.apply_all(result.entries)
    assert result.basis == "crossover_settlement" and result.discrepancies == ()
    assert result.patient_billed == PatientResponsibility(coinsurance=D("8.00"))
    assert result.contractual_adjustment == ZERO, "CARC 23 is the primary's, not this payer's write-off"
    assert result.held_for_next_payer == D("-28.00")
    assert ledger.balance(SECONDARY_PAYER_AR, "claim-1") == ZERO
    assert ledger.balance(TRANSFERRED, "claim-1") == D("8.00")
    assert ledger.balance(UNDEPOSITED_ERA) == D("132.00")
    assert ledger.balance(CONTRACTUAL_WRITEOFF) == D("40.00")
    assert ledger.balance(PAYER_AR) == ZERO


def test_a_secondary_that_settles_less_than_was_forwarded_is_reported() -> None:
    result = POSTING.post_claim(payment_of(secondary("10.00", "8.00", co="4.00")), FACTS,
                                held_for_this_payer=D("28.00"))
    assert result.discrepancies == ("settles 22.00 of 28.00 forwarded to this payer",)
    assert result.contractual_adjustment == D("4.00")


def test_a_secondary_with_nothing_forwarded_settles_what_we_billed_it() -> None:
    result = POSTING.post_claim(payment_of(secondary("20.00", "8.00")), FACTS)
    assert result.basis == "primary"
    assert {line.account for entry in result.entries for line in entry.lines} >= {PAYER_AR}
    assert result.patient_billed.total == D("8.00")


def test_forwarded_again_the_remaining_share_stays_held_for_the_third_payer() -> None:
    ledger = charged()
    ledger.apply_all(POSTING.post_claim(payment_of(primary("19")), FACTS).entries)
    result = POSTING.post_claim(payment_of(secondary("20.00", "8.00", status="20")), FACTS,
                                held_for_this_payer=D("28.00"))
    ledger.apply_all(result.entries)
    assert result.patient_billed == PatientResponsibility()
    assert ledger.balance(SECONDARY_PAYER_AR, "claim-1") == D("8.00")
    assert ledger.balance(TRANSFERRED) == ZERO


@pytest.mark.parametrize("status", ["1", "19"])
def test_a_reversal_takes_back_the_whole_posting_and_what_was_billed(status: str) -> None:
    ledger = charged()
    after_charge = ledger.balances()
    original = POSTING.post_claim(payment_of(primary(status)), FACTS)
    ledger.apply_all(original.entries)
    posted = PostedClaim("posting-1", "claim-1", D("180.00"), D("112.00"), original.entries, original.patient_billed)
    reversal = DraftClaim("PCN1", "22", D("-180.00"), D("-112.00"), D("-28.00"), adjustments=(
        DraftAdjustment("CO", "45", D("-40.00")), DraftAdjustment("PR", "3", D("-28.00"))))
    result = POSTING.reverse(payment_of(reversal), posted)
    ledger.apply_all(result.entries)
    assert ledger.balances() == after_charge, "the reversal nets the original posting to zero"
    assert result.outcome == "reversed" and result.discrepancies == ()
    assert result.patient_billed.total == (D("-28.00") if status == "1" else ZERO)
    assert result.held_for_next_payer == (ZERO if status == "1" else D("-28.00"))
    assert result.contractual_adjustment == D("-40.00")
    assert all(entry.kind.endswith("_reversal") for entry in result.entries)


def test_a_reversal_with_other_amounts_is_reported() -> None:
    original = POSTING.post_claim(payment_of(primary("1")), FACTS)
    posted = PostedClaim("posting-1", "claim-1", D("180.00"), D("112.00"), original.entries, original.patient_billed)
    other = DraftClaim("PCN1", "22", D("-180.00"), D("-100.00"),
                       adjustments=(DraftAdjustment("CO", "45", D("-80.00")),))
    assert POSTING.reverse(payment_of(other), posted).discrepancies == (
        "reversal amounts differ from the posting they reverse",)


def test_the_prior_payers_adjudication_is_never_a_denial() -> None:
    rules = DenialRules.from_yaml(files("remittance.domain").joinpath("rules/denials.yaml").read_text())
    zero_paid = DraftClaim("PCN1", "2", D("180.00"), D("0.00"), D("28.00"), adjustments=(
        DraftAdjustment("OA", "23", D("152.00")), DraftAdjustment("PR", "2", D("28.00"))))
    assert DenialClassifier(rules).classify(payment_of(zero_paid)) == []
    denied = DraftClaim("PCN1", "2", D("180.00"), D("0.00"), adjustments=(
        DraftAdjustment("OA", "23", D("152.00")), DraftAdjustment("CO", "96", D("28.00"))))
    [denial] = DenialClassifier(rules).classify(payment_of(denied))
    assert denial.reason_codes == ("96",) and denial.amount == D("28.00")


def test_a_strictly_read_claim_keeps_its_fields_and_hands_out_copies() -> None:
    text = write_835([[DraftTransaction(claims=(primary("19"),))]])
    [lazy] = [r for r in iter_remittance(text) if isinstance(r, ClaimPayment)]
    [kept] = [r for r in iter_remittance(text, strict=True) if isinstance(r, ClaimPayment)]
    for name in ("charge", "paid", "patient_responsibility", "adjustments", "all_adjustments", "names", "remarks"):
        assert getattr(kept, name) == getattr(lazy, name), name
    assert kept.lines[0].adjustments == lazy.lines[0].adjustments
    kept.all_adjustments.clear()
    kept.lines[0].adjustments.clear()
    assert len(kept.all_adjustments) == 2, "a caller changing a list does not change the claim"


RULES_TEXT = files("remittance.domain").joinpath("rules/denials.yaml").read_text()
occurrences = st.lists(st.tuples(st.integers(0, 90), st.sampled_from(["coding", "eligibility"]),
                                 st.integers(0, 25)), min_size=0, max_size=60)


@settings(max_examples=60, deadline=None)
@given(history=occurrences, run=occurrences)
def test_the_pattern_watch_answers_as_the_detector_on_the_re_read_history(
        history: list[tuple[int, str, int]], run: list[tuple[int, str, int]]) -> None:
    """What post_era did before: per denial, read the stored history of its category from the window on,
    add the denial, run the detector; the watch must give the same answer without re-reading."""
    rules = DenialRules.from_yaml(RULES_TEXT)
    start = date(2026, 1, 1)
    stored = [DenialOccurrence(start + timedelta(days=d), c, f"claim-{n}", f"claim-{n}") for d, c, n in history]
    watch = DenialPatternWatch(rules, stored)
    detector = DenialPatternDetector(rules)
    for day, category, n in run:
        dos = start + timedelta(days=day)
        new = DenialOccurrence(dos, category, f"claim-{n}", f"claim-{n}")
        since = dos - timedelta(days=rules.patterns_on(dos).window_days)
        window = [o for o in stored if o.category == category and o.occurred_on >= since] + [new]
        expected = any(p.category == category for p in detector.detect(window, as_of=dos))
        assert watch.raise_and_check(new, as_of=dos) == expected
        stored.append(new)


@pytest.mark.parametrize(("group", "carc", "remarks", "category", "action"), [
    ("CO", "58", (), "telehealth_limitation", "correct_and_resubmit"),
    ("CO", "5", ("M77",), "telehealth_limitation", "correct_and_resubmit"),
    ("CO", "5", ("N428",), "telehealth_limitation", "correct_and_resubmit"),
    ("CO", "5", (), "coding", "correct_and_resubmit"),
    ("CO", "4", ("N822",), "telehealth_limitation", "correct_and_resubmit"),
    ("CO", "171", ("N428",), "telehealth_limitation", "correct_and_resubmit"),
    ("CO", "171", (), "provider_not_credentialed", "verify_credentialing"),
    ("CO", "109", (), "not_covered_mh_benefit_or_carve_out", "bill_other_payer"),
    ("CO", "24", (), "not_covered_mh_benefit_or_carve_out", "bill_other_payer"),
    ("CO", "27", (), "eligibility", "verify_eligibility"),
])
def test_telehealth_and_carve_out_reasons_map_to_their_root_cause(group: str, carc: str, remarks: tuple[str, ...],
                                                                   category: str, action: str) -> None:
    rules = DenialRules.from_yaml(RULES_TEXT).classification_on(date(2026, 10, 15))
    assert rules.categorize(group, carc, frozenset(remarks)) == (category, action)
