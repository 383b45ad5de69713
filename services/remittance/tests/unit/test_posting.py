"""RemittancePosting and Ledger: entries always balance; A/R, cash and write-offs reconcile with charges."""

from __future__ import annotations

from decimal import Decimal as D
from importlib.resources import files

import pytest
import yaml
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from remittance.domain.model import ClaimPayment
from remittance.domain.posting import (
    CASH,
    CONTRACTUAL_WRITEOFF,
    GROSS_CHARGES,
    INTEREST_INCOME,
    OTHER_ADJUSTMENT,
    PAYER_AR,
    PLB_RECOVERY,
    SECONDARY_PAYER_AR,
    UNAPPLIED_CASH,
    UNDEPOSITED_ERA,
    ClaimFacts,
    ClaimLineFacts,
    ClaimPosting,
    JournalEntry,
    JournalLine,
    Ledger,
    PostedClaim,
    PostingError,
    RemittancePosting,
    load_plb_accounts,
)
from remittance.domain.posting import (
    PATIENT_RESPONSIBILITY_TRANSFERRED as TRANSFERRED,
)
from remittance.edi.era_reader import read_remittances
from remittance.edi.era_writer import (
    DraftAdjustment,
    DraftClaim,
    DraftLine,
    DraftProviderAdjustment,
    DraftTransaction,
    write_835,
)

ZERO = D(0)


def payment_of(draft: DraftClaim) -> ClaimPayment:
    [remittance] = read_remittances(write_835([[DraftTransaction(claims=(draft,))]]))
    return remittance.claims[0]


FACTS = ClaimFacts("claim-1", "PCN1", (ClaimLineFacts(1, "90837", D("200.00"), ("95",)),
                                       ClaimLineFacts(2, "90785", D("50.00"))))
PAID = DraftClaim("PCN1", "1", D("250.00"), D("150.00"), lines=(
    DraftLine("90837", D("200.00"), D("120.00"), modifiers=("95",), adjustments=(
        DraftAdjustment("CO", "45", D("50.00")), DraftAdjustment("PR", "2", D("20.00")),
        DraftAdjustment("PR", "1", D("10.00"))), control_number="1"),
    DraftLine("90785", D("50.00"), D("30.00"), adjustments=(DraftAdjustment("PR", "3", D("15.00")),
                                                            DraftAdjustment("OA", "23", D("5.00")))),
))


def test_paid_claim_posts_payment_writeoff_and_patient_shares() -> None:
    posting = RemittancePosting()
    ledger = Ledger()
    ledger.apply(posting.charge(FACTS))
    result = posting.post_claim(payment_of(PAID), FACTS)
    ledger.apply_all(result.entries)
    assert result.outcome == "paid" and result.claim_id == "claim-1"
    assert result.line_matches == ((1, 1), (2, 2)) and result.discrepancies == ()
    shares = result.patient_responsibility
    assert (shares.deductible, shares.coinsurance, shares.copay, shares.other) == (D("10.00"), D("20.00"),
                                                                                 D("15.00"), ZERO)
    assert result.contractual_adjustment == D("50.00")
    assert ledger.balance(PAYER_AR) == ZERO
    assert ledger.balance(TRANSFERRED, "claim-1") == D("45.00")
    assert ledger.balance(UNDEPOSITED_ERA) == D("150.00")
    assert ledger.balance(CONTRACTUAL_WRITEOFF) == D("50.00")
    assert ledger.balance(OTHER_ADJUSTMENT) == D("5.00")
    assert ledger.balance(GROSS_CHARGES) == D("-250.00")
    assert ledger.total_debits == ledger.total_credits


def test_reversal_negates_the_original_posting() -> None:
    posting = RemittancePosting()
    ledger = Ledger()
    ledger.apply(posting.charge(FACTS))
    after_charge = ledger.balances()
    ledger.apply_all(posting.post_claim(payment_of(PAID), FACTS).entries)
    reversal = DraftClaim("PCN1", "22", D("-250.00"), D("-150.00"), adjustments=(
        DraftAdjustment("CO", "45", D("-50.00")), DraftAdjustment("PR", "2", D("-20.00")),
        DraftAdjustment("PR", "1", D("-10.00")), DraftAdjustment("PR", "3", D("-15.00")),
        DraftAdjustment("OA", "23", D("-5.00"))))
    result = posting.post_claim(payment_of(reversal), FACTS)
    assert result.outcome == "reversed"
    ledger.apply_all(result.entries)
    assert ledger.balances() == after_charge


def test_unmatched_claim_goes_to_unapplied_cash() -> None:
    result = RemittancePosting().post_claim(payment_of(PAID), None)
    assert result.outcome == "unapplied" and result.claim_id is None
    [entry] = result.entries
    assert {(x.account, x.debit, x.credit) for x in entry.lines} == {
        (UNDEPOSITED_ERA, D("150.00"), ZERO), (UNAPPLIED_CASH, ZERO, D("150.00"))}


def test_line_matching_reports_lines_we_did_not_bill() -> None:
    facts = ClaimFacts("claim-2", "PCN1", (ClaimLineFacts(1, "90834", D("200.00")),))
    result = RemittancePosting().post_claim(payment_of(PAID), facts)
    assert result.line_matches == ((1, 1), (2, None))  # REF*6R=1 wins even with another code
    assert "line 2 matches none of our claim lines" in result.discrepancies
    assert "CLP03 differs from our claim charge" in result.discrepancies


def test_provider_adjustments_use_the_rules_file_accounts() -> None:
    rules = yaml.safe_load(files("remittance.domain").joinpath("rules/posting.yaml").read_text())
    posting = RemittancePosting(load_plb_accounts(rules))
    [remittance] = read_remittances(write_835([[DraftTransaction(claims=(), provider_adjustments=(
        DraftProviderAdjustment("L6", D("-4.10")), DraftProviderAdjustment("WO", D("30.00"), "OLDCLAIM"),
        DraftProviderAdjustment("CS", D("1.00")), DraftProviderAdjustment("ZZ", D("2.00"))))]]))
    ledger = Ledger()
    ledger.apply_all(posting.post_provider_adjustments(remittance.summary.provider_adjustments, "TRACE"))
    assert ledger.balance(INTEREST_INCOME) == D("-4.10")
    assert ledger.balance(PLB_RECOVERY) == D("32.00")
    assert ledger.balance(OTHER_ADJUSTMENT) == D("1.00")
    # what left undeposited_era is exactly the negative BPR02 of a PLB-only transaction
    assert ledger.balance(UNDEPOSITED_ERA) == -(D("30.00") + D("1.00") + D("2.00") - D("4.10"))
    assert ledger.balance(UNDEPOSITED_ERA) == remittance.header.signed_total


def test_entries_refuse_to_be_unbalanced_or_negative() -> None:
    with pytest.raises(PostingError):
        JournalEntry("x", "r", (JournalLine(CASH, D("1.00"), ZERO), JournalLine(PAYER_AR, ZERO, D("0.99"))))
    with pytest.raises(PostingError):
        JournalEntry("x", "r", (JournalLine(CASH, D("-1.00"), ZERO), JournalLine(PAYER_AR, ZERO, D("-1.00"))))
    with pytest.raises(PostingError):
        JournalEntry("x", "r", (JournalLine(CASH, D("1.001"), ZERO), JournalLine(PAYER_AR, ZERO, D("1.001"))))
    with pytest.raises(ValueError, match="fallback"):
        load_plb_accounts({"plb_accounts": {"L6": INTEREST_INCOME}})


money = st.integers(min_value=0, max_value=100_000).map(lambda c: D(c) / 100)


class LedgerMachine(RuleBasedStateMachine):
    """Random charges, payments (with CO/PR/OA adjustments), crossovers to a secondary payer and its
    settlements, reversals (of any posting, from its journal entries, and of primaries by negated amounts),
    unmatched payments and PLB.

    A model tracks what each claim's payer A/R, patient A/R, secondary-payer A/R and write-offs must be,
    independently of the posting rules; the ledger must agree and stay balanced.
    """

    def __init__(self) -> None:
        super().__init__()
        self.posting = RemittancePosting()
        self.ledger = Ledger()
        self.claims: dict[str, D] = {}
        # every posting still standing: claim, its 835 draft, the model's account moves, what it wrote
        self.postings: list[tuple[str, DraftClaim, dict[str, D], ClaimPosting]] = []
        self.model = {PAYER_AR: ZERO, TRANSFERRED: ZERO, UNDEPOSITED_ERA: ZERO, CONTRACTUAL_WRITEOFF: ZERO,
                      OTHER_ADJUSTMENT: ZERO, UNAPPLIED_CASH: ZERO, GROSS_CHARGES: ZERO, SECONDARY_PAYER_AR: ZERO}
        self.held: dict[str, D] = {}  # the model's secondary-payer A/R per claim
        self.billed = ZERO  # sent to patient billing, net
        self.plb_net = ZERO

    @rule(charge=money.filter(lambda m: m > 0))
    def charge(self, charge: D) -> None:
        claim_id = f"claim-{len(self.claims)}"
        self.claims[claim_id] = charge
        self.ledger.apply(self.posting.charge(ClaimFacts(claim_id, claim_id, (ClaimLineFacts(1, "90837", charge),))))
        self.model[PAYER_AR] += charge
        self.model[GROSS_CHARGES] -= charge

    @precondition(lambda self: self.claims)
    @rule(data=st.data(), co=money, pr=money, oa=money, reason=st.sampled_from(["1", "2", "3", "96"]),
          status=st.sampled_from(["1", "19"]))
    def pay(self, data: st.DataObject, co: D, pr: D, oa: D, reason: str, status: str) -> None:
        """A primary payment; with 19 the payer forwards the claim and its PR is held for the secondary."""
        claim_id = data.draw(st.sampled_from(sorted(self.claims)))
        charge = self.claims[claim_id]
        paid = charge - co - pr - oa
        draft = DraftClaim(claim_id, status, charge, paid, adjustments=(
            DraftAdjustment("CO", "45", co), DraftAdjustment("PR", reason, pr), DraftAdjustment("OA", "23", oa)))
        moves = {UNDEPOSITED_ERA: paid, CONTRACTUAL_WRITEOFF: co, OTHER_ADJUSTMENT: oa, PAYER_AR: -charge,
                 TRANSFERRED: pr if status == "1" else ZERO, SECONDARY_PAYER_AR: pr if status == "19" else ZERO}
        self._post(claim_id, draft, moves)

    @precondition(lambda self: any(v > 0 for v in self.held.values()))
    @rule(data=st.data(), share=st.integers(0, 100), co_share=st.integers(0, 100))
    def settle(self, data: st.DataObject, share: int, co_share: int) -> None:
        """The secondary's 835 (CLP02 2): CARC 23 repeats the primary's part; it pays some of what was
        forwarded, writes some off and leaves the rest to the patient."""
        claim_id = data.draw(st.sampled_from(sorted(c for c, v in self.held.items() if v > 0)))
        held, charge = self.held[claim_id], self.claims[claim_id]
        paid = (held * share / 100).quantize(D("0.01"))
        co = ((held - paid) * co_share / 100).quantize(D("0.01"))
        pr = held - paid - co
        draft = DraftClaim(claim_id, "2", charge, paid, adjustments=(
            DraftAdjustment("OA", "23", charge - held), DraftAdjustment("CO", "45", co),
            DraftAdjustment("PR", "2", pr)))
        moves = {UNDEPOSITED_ERA: paid, CONTRACTUAL_WRITEOFF: co, TRANSFERRED: pr, SECONDARY_PAYER_AR: -held}
        self._post(claim_id, draft, moves, held=held)

    def _post(self, claim_id: str, draft: DraftClaim, moves: dict[str, D], held: D = ZERO) -> None:
        facts = ClaimFacts(claim_id, claim_id, (ClaimLineFacts(1, "90837", self.claims[claim_id]),))
        result = self.posting.post_claim(payment_of(draft), facts, held_for_this_payer=held)
        assert result.held_for_next_payer == moves.get(SECONDARY_PAYER_AR, ZERO)
        self._apply(claim_id, result, moves, sign=1)
        self.postings.append((claim_id, draft, moves, result))

    def _apply(self, claim_id: str, result: ClaimPosting, moves: dict[str, D], sign: int) -> None:
        self.ledger.apply_all(result.entries)
        for account, amount in moves.items():
            self.model[account] += sign * amount
        self.held[claim_id] = self.held.get(claim_id, ZERO) + sign * moves.get(SECONDARY_PAYER_AR, ZERO)
        self.billed += result.patient_billed.total

    @precondition(lambda self: self.postings)
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        """CLP02 22 against a posting we hold: its own entries reversed, whatever rules made them."""
        index = data.draw(st.integers(min_value=0, max_value=len(self.postings) - 1))
        claim_id, original, moves, posted = self.postings.pop(index)
        reversal = DraftClaim(claim_id, "22", -original.charge, -original.paid, adjustments=tuple(
            DraftAdjustment(a.group, a.reason, -a.amount) for a in original.adjustments))
        result = self.posting.reverse(payment_of(reversal), PostedClaim(
            "p", claim_id, original.charge, original.paid, posted.entries, posted.patient_billed))
        assert result.discrepancies == ()
        assert result.patient_billed.total == -posted.patient_billed.total
        self._apply(claim_id, result, moves, sign=-1)

    @precondition(lambda self: any(d.status == "1" for _c, d, _m, _p in self.postings))
    @rule(data=st.data())
    def reverse_by_amounts(self, data: st.DataObject) -> None:
        """A reversal of a primary payment with no posting to take back: the negated amounts through the rules."""
        primaries = [i for i, (_c, d, _m, _p) in enumerate(self.postings) if d.status == "1"]
        claim_id, original, moves, _posted = self.postings.pop(data.draw(st.sampled_from(primaries)))
        reversal = DraftClaim(claim_id, "22", -original.charge, -original.paid, adjustments=tuple(
            DraftAdjustment(a.group, a.reason, -a.amount) for a in original.adjustments))
        facts = ClaimFacts(claim_id, claim_id, (ClaimLineFacts(1, "90837", self.claims[claim_id]),))
        result = self.posting.post_claim(payment_of(reversal), facts)
        assert result.outcome == "reversed"
        self._apply(claim_id, result, moves, sign=-1)

    @rule(paid=money)
    def unmatched(self, paid: D) -> None:
        result = self.posting.post_claim(payment_of(DraftClaim("UNKNOWN", "1", paid, paid)), None)
        self.ledger.apply_all(result.entries)
        self.model[UNDEPOSITED_ERA] += paid
        self.model[UNAPPLIED_CASH] -= paid

    @rule(reason=st.sampled_from(["L6", "WO", "FB"]), amount=money, negative=st.booleans())
    def provider_adjustment(self, reason: str, amount: D, negative: bool) -> None:
        [remittance] = read_remittances(write_835([[DraftTransaction(claims=(), provider_adjustments=(
            DraftProviderAdjustment(reason, -amount if negative else amount),))]]))
        self.ledger.apply_all(self.posting.post_provider_adjustments(remittance.summary.provider_adjustments, "T"))
        self.model[UNDEPOSITED_ERA] += remittance.header.signed_total
        self.plb_net += remittance.header.signed_total

    @invariant()
    def debits_equal_credits(self) -> None:
        assert self.ledger.total_debits == self.ledger.total_credits

    @invariant()
    def accounts_match_the_model(self) -> None:
        for account, expected in self.model.items():
            assert self.ledger.balance(account) == expected, account
        for claim_id, held in self.held.items():
            assert self.ledger.balance(SECONDARY_PAYER_AR, claim_id) == held, claim_id

    @invariant()
    def patient_billing_is_handed_exactly_what_the_transfer_account_holds(self) -> None:
        assert self.billed == self.ledger.balance(TRANSFERRED)

    @invariant()
    def ar_cash_and_writeoffs_reconcile_with_charges(self) -> None:
        ledger = self.ledger
        claim_side = (ledger.balance(PAYER_AR) + ledger.balance(TRANSFERRED) + ledger.balance(UNDEPOSITED_ERA)
                      + ledger.balance(CONTRACTUAL_WRITEOFF) + ledger.balance(OTHER_ADJUSTMENT)
                      + ledger.balance(SECONDARY_PAYER_AR))
        outside_claims = -ledger.balance(UNAPPLIED_CASH) + self.plb_net
        assert claim_side == -ledger.balance(GROSS_CHARGES) + outside_claims


TestLedgerMachine = LedgerMachine.TestCase
TestLedgerMachine.settings = settings(max_examples=60, stateful_step_count=20, deadline=None)
