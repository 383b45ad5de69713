"""Duplicate payments: a payment that repeats a standing posting is held; the legitimate repeats are not."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from importlib.resources import files

import pytest
import yaml
from remittance.domain.duplicates import (
    APPLY,
    DEFAULT_DUPLICATE_PAYMENTS,
    Adjudication,
    DuplicateWatch,
    duplicate_rules_on,
    load_duplicate_payments,
)
from remittance.domain.model import ClaimPayment, ProviderAdjustment
from remittance.domain.posting import (
    ACCOUNTS,
    CASH,
    OVERPAYMENT_SUSPENSE,
    PAYER_AR,
    UNDEPOSITED_ERA,
    Ledger,
    RemittancePosting,
)
from remittance.domain.posting import (
    PATIENT_RESPONSIBILITY_TRANSFERRED as TRANSFERRED,
)
from remittance.edi.era_reader import read_remittances
from remittance.edi.era_writer import DraftAdjustment, DraftClaim, DraftLine, DraftTransaction, write_835

A = DraftAdjustment
DOS = date(2026, 10, 15)
RULES = load_duplicate_payments(yaml.safe_load(files("remittance.domain").joinpath("rules/posting.yaml").read_text()),
                                ACCOUNTS)


def payment(status: str = "1", paid: str = "112", payer_claim_number: str = "P-1", line_paid: str | None = None,
            code: str = "90837") -> ClaimPayment:
    paid_line = D(line_paid if line_paid is not None else paid)
    claim = DraftClaim("PCN-1", status, D("180"), D(paid), D("28"), payer_claim_number=payer_claim_number, lines=(
        DraftLine(code, D("180"), paid_line, adjustments=(
            A("CO", "45", D("180") - paid_line - D("28")), A("PR", "3", D("28")))),))
    [remittance] = read_remittances(write_835([[DraftTransaction(claims=(claim,))]]))
    return remittance.claims[0]


def reversal() -> ClaimPayment:
    claim = DraftClaim("PCN-1", "22", D("-180"), D("-112"), D("-28"), payer_claim_number="P-1", adjustments=(
        A("CO", "45", D("-40")), A("PR", "3", D("-28"))))
    [remittance] = read_remittances(write_835([[DraftTransaction(claims=(claim,))]]))
    return remittance.claims[0]


def watch_with(*standing: tuple[str, Adjudication]) -> DuplicateWatch:
    return DuplicateWatch(RULES, {"claim-1": list(standing)})


FIRST = Adjudication.of(payment(), "PAYER-A")


def test_the_same_payment_again_repeats_the_standing_posting() -> None:
    assert watch_with(("posting-1", FIRST)).duplicate_of("claim-1", Adjudication.of(payment(), "PAYER-A"), DOS) \
        == "posting-1"


def test_amounts_compare_as_money_not_as_text() -> None:
    stored = Adjudication("PAYER-A", "1", "P-1", D("180.00"), D("112.00"), D("28.00"), Adjudication.lines_from_data(
        FIRST.lines_as_data()))
    assert watch_with(("posting-1", stored)).duplicate_of("claim-1", FIRST, DOS) == "posting-1"


@pytest.mark.parametrize("other", [
    Adjudication.of(payment(), "PAYER-B"),  # a secondary payer's payment
    Adjudication.of(payment(status="2"), "PAYER-A"),  # processed as secondary
    Adjudication.of(payment(paid="100"), "PAYER-A"),  # a different amount
    Adjudication.of(payment(payer_claim_number="P-2"), "PAYER-A"),  # another adjudication of the payer
    Adjudication.of(payment(code="90834"), "PAYER-A"),  # another line
], ids=["other payer", "secondary status", "other amount", "other payer claim number", "other line"])
def test_a_payment_that_differs_in_any_compared_fact_is_its_own(other: Adjudication) -> None:
    assert watch_with(("posting-1", FIRST)).duplicate_of("claim-1", other, DOS) is None


def test_a_reversal_is_never_a_duplicate_and_its_reissue_has_nothing_standing_to_repeat() -> None:
    watch = watch_with(("posting-1", FIRST))
    assert watch.duplicate_of("claim-1", Adjudication.of(reversal(), "PAYER-A"), DOS) is None
    watch.reversed("claim-1", "posting-1")
    assert watch.duplicate_of("claim-1", Adjudication.of(payment(), "PAYER-A"), DOS) is None


def test_another_claim_is_never_a_duplicate() -> None:
    """A corrected claim (frequency 7) has its own claim id and patient control number."""
    assert watch_with(("posting-1", FIRST)).duplicate_of("claim-2", FIRST, DOS) is None


def test_the_same_payment_twice_in_one_file_is_caught_as_it_posts() -> None:
    watch = DuplicateWatch(RULES)
    assert watch.duplicate_of("claim-1", FIRST, DOS) is None
    watch.posted("claim-1", "posting-1", FIRST)
    assert watch.duplicate_of("claim-1", FIRST, DOS) == "posting-1"


def test_a_posting_stored_without_lines_is_judged_on_the_other_facts() -> None:
    old = Adjudication("PAYER-A", "1", "P-1", D("180"), D("112"), D("28"), None)
    assert watch_with(("posting-1", old)).duplicate_of("claim-1", FIRST, DOS) == "posting-1"
    assert watch_with(("posting-1", old)).duplicate_of(
        "claim-1", Adjudication.of(payment(paid="100"), "PAYER-A"), DOS) is None


def test_which_facts_must_match_is_data_with_effective_dates() -> None:
    rules = load_duplicate_payments({"duplicate_payments": [
        {"effective_from": "2020-01-01", "effective_to": "2026-01-01", "same": list(DEFAULT_DUPLICATE_PAYMENTS.same),
         "never_duplicate_statuses": ["22"], "hold_account": "overpayment_suspense"},
        {"effective_from": "2026-01-01", "same": ["payer", "status_code", "charge", "paid", "lines"],
         "never_duplicate_statuses": ["22"], "hold_account": "unapplied_cash",
         "resolutions": {"refunded": "cash"}}]}, ACCOUNTS)
    reissued_number = Adjudication.of(payment(payer_claim_number="P-2"), "PAYER-A")
    assert DuplicateWatch(rules, {"claim-1": [("posting-1", FIRST)]}).duplicate_of(
        "claim-1", reissued_number, DOS) == "posting-1", "the 2026 block ignores the payer claim number"
    assert DuplicateWatch(rules, {"claim-1": [("posting-1", FIRST)]}).duplicate_of(
        "claim-1", reissued_number, date(2025, 6, 1)) is None
    assert duplicate_rules_on(rules, DOS).hold_account == "unapplied_cash"
    assert duplicate_rules_on(rules, DOS).decisions == ("refunded", APPLY)


@pytest.mark.parametrize(("block", "problem"), [
    ({"same": ["payer"], "hold_account": "overpayment_suspense"}, "effective_from"),
    ({"effective_from": "2020-01-01", "same": ["payer", "colour"], "hold_account": "overpayment_suspense"}, "same"),
    ({"effective_from": "2020-01-01", "same": ["payer"], "hold_account": "a_drawer"}, "unknown accounts"),
    ({"effective_from": "2020-01-01", "same": ["payer"], "hold_account": "overpayment_suspense",
      "resolutions": {"refunded": "the_moon"}}, "unknown accounts"),
    ({"effective_from": "2020-01-01", "same": ["payer"], "hold_account": "overpayment_suspense",
      "resolutions": {"apply": "cash"}}, "built in"),
])
def test_rules_that_cannot_be_applied_are_refused_when_loaded(block: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        load_duplicate_payments({"duplicate_payments": [block]}, ACCOUNTS)


def test_a_held_duplicate_moves_only_the_cash_into_suspense_and_a_decision_releases_it() -> None:
    posting = RemittancePosting()
    ledger = Ledger()
    held = posting.hold_duplicate(payment(), "claim-1", OVERPAYMENT_SUSPENSE)
    ledger.apply_all(held.entries)
    assert held.outcome == "held_duplicate" and held.patient_billed.total == 0
    assert ledger.balances() == {UNDEPOSITED_ERA: D("112"), OVERPAYMENT_SUSPENSE: D("-112")}
    assert ledger.balance(PAYER_AR) == ledger.balance(TRANSFERRED) == 0, "nothing to the claim or the patient"
    release = posting.release_hold(D("112"), "P-1", "claim-1", OVERPAYMENT_SUSPENSE, CASH)
    assert release is not None
    ledger.apply(release)
    assert ledger.balance(OVERPAYMENT_SUSPENSE) == 0 and ledger.balance(CASH) == D("-112")
    assert ledger.total_debits == ledger.total_credits


def test_the_plbs_of_a_repeated_payment_are_held_so_the_hold_carries_exactly_bpr02() -> None:
    plbs = [ProviderAdjustment("1245319599", None, "L6", "", D("-5.00")),
            ProviderAdjustment("1245319599", None, "WO", "P-9", D("12.00"))]
    posting = RemittancePosting()
    ledger = Ledger()
    ledger.apply_all(posting.hold_duplicate(payment(), "claim-1", OVERPAYMENT_SUSPENSE).entries)
    ledger.apply_all(posting.hold_provider_adjustments(plbs, "TRACE2", OVERPAYMENT_SUSPENSE))
    assert ledger.balances() == {UNDEPOSITED_ERA: D("105.00"), OVERPAYMENT_SUSPENSE: D("-105.00")}
