"""The patient ledger's rules, no I/O: every entry balances, credits pay the oldest items (a visit's copay waits for
its own assessment), refunds never exceed what was paid, reversals mirror once, aging reads open items."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import count

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from patient_billing.bootstrap import load_payment_rules
from patient_billing.domain.exceptions import (
    AlreadyReversed,
    InvalidAmount,
    PlanRefused,
    RefundExceedsPaid,
    UnbalancedEntry,
)
from patient_billing.domain.ledger import (
    EntryKind,
    JournalEntry,
    Ledger,
    Line,
    Membership,
    ReasonLine,
    ResponsibleAccount,
    age,
    transfer,
)
from patient_billing.domain.plans import PaymentPlan, PlanState

AT = datetime(2026, 11, 1, 12, tzinfo=UTC)
PLAN_RULES = load_payment_rules().plans
ids = (f"e{n}" for n in count())


def account(guarantor: str = "pt-1") -> ResponsibleAccount:
    return ResponsibleAccount(f"acct-{guarantor}", "practice-a", guarantor,
                              members=[Membership(guarantor, "self", date(1900, 1, 1))])


def charge(acct: ResponsibleAccount, cents: int, day: date, patient: str = "pt-1") -> JournalEntry:
    entry_id = next(ids)
    return acct.post_charge(entry_id=entry_id, source_id=f"visit:{entry_id}", patient_id=patient, service_date=day,
                            amount=cents, at=AT)


def pay(acct: ResponsibleAccount, cents: int, day: date, *, for_visit_on: date | None = None,
        patient: str = "pt-1") -> JournalEntry:
    entry_id = next(ids)
    return acct.receive_payment(entry_id=entry_id, payment_id=f"pay-{entry_id}", amount=cents, received_on=day,
                                at=AT, patient_id=patient, for_visit_on=for_visit_on)


def test_an_entry_whose_debits_and_credits_differ_is_refused() -> None:
    with pytest.raises(UnbalancedEntry):
        JournalEntry("x", "p", "a", EntryKind.CHARGE, "s", date(2026, 1, 1), AT,
                     (Line(Ledger.PATIENT_AR, debit=100, account_id="a"), Line(Ledger.SELF_PAY_REVENUE, credit=99)))
    with pytest.raises(UnbalancedEntry):
        Line(Ledger.PATIENT_AR, debit=1, credit=1)


def test_amounts_are_positive_whole_cents() -> None:
    acct = account()
    for bad in (0, -5):
        with pytest.raises(InvalidAmount):
            charge(acct, bad, date(2026, 10, 1))
    with pytest.raises(InvalidAmount):
        acct.post_charge(entry_id="x", source_id="s", patient_id="pt-1", service_date=date(2026, 10, 1),
                         amount=1.5, at=AT)  # type: ignore[arg-type]


def test_payments_pay_the_oldest_items_first_and_aging_reads_what_is_left() -> None:
    acct = account()
    charge(acct, 10_000, date(2026, 6, 1))
    charge(acct, 5_000, date(2026, 10, 20))
    pay(acct, 12_000, date(2026, 10, 25))
    assert acct.balance == 3_000
    assert [(i.service_date, i.open) for i in acct.open_items] == [(date(2026, 10, 20), 3_000)]
    assert age(acct.open_items, acct.credits, date(2026, 11, 1))["0-30"] == 3_000


def test_a_copay_at_the_visit_waits_for_that_visits_assessment_and_is_not_an_overpayment() -> None:
    acct = account()
    acct.insurance_pending("pt-1", date(2026, 10, 1))
    charge(acct, 4_000, date(2026, 9, 1))  # an older self-pay balance: the copay does not pay it
    pay(acct, 2_500, date(2026, 10, 1), for_visit_on=date(2026, 10, 1))
    assert acct.open_total == 4_000 and acct.unapplied == 2_500
    assert acct.waiting_credit() == 2_500 and acct.refund_due() == 0
    acct.assess_responsibility(entry_id=next(ids), source_id="assessment:a1", patient_id="pt-1",
                               service_date=date(2026, 10, 1), at=AT, claim_id="c1",
                               reasons=[ReasonLine("copay", "3", 3_000, "copay")])
    assert (date(2026, 10, 1), 500) in [(i.service_date, i.open) for i in acct.open_items]
    assert acct.balance == 4_500 and acct.unapplied == 0


def test_what_waits_for_a_payer_is_shown_but_not_due() -> None:
    acct = account()
    acct.insurance_pending("pt-1", date(2026, 10, 1))
    acct.post_charge(entry_id="f1", source_id="fee:1", patient_id="pt-1", service_date=date(2026, 10, 1),
                     amount=2_000, at=AT, kind=EntryKind.FEE)
    charge(acct, 1_000, date(2026, 9, 1))
    assert acct.balance == 3_000 and acct.held() == 2_000 and acct.amount_due() == 1_000


def test_an_overpayment_becomes_a_credit_balance_to_refund() -> None:
    acct = account()
    charge(acct, 5_000, date(2026, 10, 1))
    payment = pay(acct, 8_000, date(2026, 10, 2))
    assert acct.balance == -3_000 and acct.refund_due() == 3_000
    payment_id = payment.source_id.removeprefix("payment:")
    with pytest.raises(RefundExceedsPaid):
        acct.refund(entry_id="r0", refund_id="r0", payment_id=payment_id, amount=8_001, on=date(2026, 10, 3),
                    at=AT, reason="overpaid")
    acct.refund(entry_id="r1", refund_id="r1", payment_id=payment_id, amount=3_000, on=date(2026, 10, 3), at=AT,
                reason="overpaid")
    assert acct.balance == 0 and acct.refund_due() == 0


def test_an_assessment_carries_the_carc_of_each_part() -> None:
    acct = account()
    entry = acct.assess_responsibility(
        entry_id="a1", source_id="assessment:a1", patient_id="pt-1", service_date=date(2026, 10, 1), at=AT,
        claim_id="c1", reasons=[ReasonLine("deductible", "1", 5_000, "deductible"),
                                ReasonLine("coinsurance", "2", 1_000, "coinsurance")])
    assert entry is not None
    assert [(r.category, r.carc, r.amount) for r in entry.reasons] == [("deductible", "1", 5_000),
                                                                       ("coinsurance", "2", 1_000)]
    assert {line.ledger for line in entry.lines} == {Ledger.PATIENT_AR, Ledger.INSURANCE_TRANSFER}


def test_a_reversal_mirrors_once_and_what_was_paid_becomes_credit() -> None:
    acct = account()
    original = charge(acct, 5_000, date(2026, 10, 1))
    pay(acct, 2_000, date(2026, 10, 2))
    reversal = acct.reverse(original, entry_id="rv", on=date(2026, 10, 3), at=AT, reason="entered twice",
                            already_reversed=False)
    assert [(ln.ledger, ln.debit, ln.credit) for ln in reversal.lines] == [
        (Ledger.PATIENT_AR, 0, 5_000), (Ledger.SELF_PAY_REVENUE, 5_000, 0)]
    assert acct.balance == -2_000 and acct.open_items == []
    with pytest.raises(AlreadyReversed):
        acct.reverse(original, entry_id="rv2", on=date(2026, 10, 3), at=AT, reason="again", already_reversed=True)


def test_a_transfer_moves_open_items_with_their_service_dates() -> None:
    child, parent = account("pt-kid"), account("gu-parent")
    charge(child, 7_000, date(2026, 8, 1), patient="pt-kid")
    entry = transfer(child, parent, [i.item_id for i in child.open_items], entry_id="t1", on=date(2026, 10, 1),
                     at=AT, reason="guarantor named")
    assert child.balance == 0 and parent.balance == 7_000
    assert parent.open_items[0].service_date == date(2026, 8, 1)
    assert entry.ar_change(parent.account_id) == 7_000 and entry.ar_change(child.account_id) == -7_000


class LedgerMachine(RuleBasedStateMachine):
    """Any sequence of charges, payments, refunds, adjustments, write-offs, reversals and payment-plan installments
    (offered, paid, declined): every entry balances, the account equals its A/R lines and its open items less
    credits, no payment is refunded beyond itself, and an active plan is always what the account owes."""

    def __init__(self) -> None:
        super().__init__()
        global ids
        ids = count()  # the same ids in every run of a case: hypothesis replays and shrinks deterministically
        self.acct = account()
        self.journal: list[JournalEntry] = []
        self.reversed: set[str] = set()
        self.day = date(2026, 1, 1)
        self.plan: PaymentPlan | None = None
        self.installments_paid = 0

    def _post(self, entry: JournalEntry) -> None:
        self.journal.extend(self.acct.new_entries)
        self.acct.new_entries = []
        if self.plan is not None:  # what the unit of work does when it keeps an account paying by a plan
            self.plan.follow_balance(self.acct.amount_due())

    @precondition(lambda self: self.plan is None or self.plan.state is not PlanState.ACTIVE)
    @rule(count_=st.integers(1, 12))
    def plan_offered(self, count_: int) -> None:
        owed = self.acct.amount_due()
        try:
            self.plan = PaymentPlan.offer(plan_id=f"plan-{next(ids)}", practice_id="practice-a",
                                          account_id=self.acct.account_id, balance=owed, count=count_,
                                          first_due_on=self.day, today=self.day, rules=PLAN_RULES,
                                          installment_ids=[f"i{next(ids)}" for _ in range(count_)])
        except PlanRefused:
            assert owed <= 0 or owed // count_ < PLAN_RULES.policies[0].min_installment
            return
        assert sum(i.amount for i in self.plan.installments) == owed

    @precondition(lambda self: self.plan is not None and self.plan.next_due() is not None)
    @rule()
    def installment_paid(self) -> None:
        assert self.plan is not None
        item = self.plan.next_due()
        assert item is not None
        self.plan.installment_paid(item.installment_id, f"pay-{item.installment_id}")
        entry_id = next(ids)
        self.installments_paid += item.amount
        self._post(self.acct.receive_payment(entry_id=entry_id, payment_id=f"pay-{entry_id}", amount=item.amount,
                                             received_on=self.day, at=AT, patient_id="pt-1"))

    @precondition(lambda self: self.plan is not None and self.plan.next_due() is not None)
    @rule()
    def installment_declined(self) -> None:
        assert self.plan is not None
        item = self.plan.next_due()
        assert item is not None
        attempts = item.attempts
        flagged = self.plan.installment_failed(item.installment_id, self.day, PLAN_RULES)
        assert flagged == (attempts + 1 > len(PLAN_RULES.policies[0].retry_after_days))

    @rule(cents=st.integers(1, 50_000), days=st.integers(0, 200))
    def charge(self, cents: int, days: int) -> None:
        self._post(charge(self.acct, cents, date.fromordinal(self.day.toordinal() + days)))

    @rule(cents=st.integers(1, 50_000), visit=st.booleans())
    def payment(self, cents: int, visit: bool) -> None:
        self._post(pay(self.acct, cents, self.day, for_visit_on=self.day if visit else None))

    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        if not self.acct.payments:
            return
        payment = data.draw(st.sampled_from(list(self.acct.payments.values())))
        cents = data.draw(st.integers(1, payment.amount + 100))
        if cents > payment.refundable:
            with pytest.raises(RefundExceedsPaid):
                self.acct.refund(entry_id=next(ids), refund_id=next(ids), payment_id=payment.payment_id,
                                 amount=cents, on=self.day, at=AT, reason="r")
            return
        entry_id = next(ids)
        self._post(self.acct.refund(entry_id=entry_id, refund_id=entry_id, payment_id=payment.payment_id,
                                    amount=cents, on=self.day, at=AT, reason="r"))

    @precondition(lambda self: self.acct.open_total > 0)
    @rule(data=st.data(), write_off=st.booleans())
    def adjustment(self, data: st.DataObject, write_off: bool) -> None:
        cents = data.draw(st.integers(1, self.acct.open_total))
        entry_id = next(ids)
        self._post(self.acct.adjust(entry_id=entry_id, source_id=f"adj:{entry_id}", amount=cents, on=self.day,
                                    at=AT, reason="courtesy", write_off=write_off))

    @rule(data=st.data())
    def reversal(self, data: st.DataObject) -> None:
        candidates = [e for e in self.journal if e.kind in (EntryKind.CHARGE, EntryKind.PAYMENT,
                                                            EntryKind.ADJUSTMENT, EntryKind.WRITE_OFF)
                      and e.entry_id not in self.reversed]
        if not candidates:
            return
        original = data.draw(st.sampled_from(candidates))
        if original.kind is EntryKind.PAYMENT:
            payment = self.acct.payments.get(original.source_id.removeprefix("payment:"))
            if payment is None or payment.refunded:
                return
        self._post(self.acct.reverse(original, entry_id=next(ids), on=self.day, at=AT, reason="r",
                                     already_reversed=False))
        self.reversed.add(original.entry_id)

    @invariant()
    def debits_equal_credits(self) -> None:
        assert sum(e.total_debits for e in self.journal) == sum(e.total_credits for e in self.journal)

    @invariant()
    def the_account_is_its_ar_lines_and_its_items(self) -> None:
        ar = sum(e.ar_change(self.acct.account_id) for e in self.journal)
        assert self.acct.balance == ar == self.acct.open_total - self.acct.unapplied
        assert all(i.open > 0 for i in self.acct.open_items) and all(c.remaining > 0 for c in self.acct.credits)

    @invariant()
    def an_active_plan_is_what_the_account_owes(self) -> None:
        if self.plan is None:
            return
        assert all(i.amount > 0 for i in self.plan.installments if i.open)
        assert self.plan.remaining >= 0
        if self.plan.state is PlanState.ACTIVE:
            assert self.plan.remaining == self.acct.amount_due()
            assert self.plan.missed < PLAN_RULES.policies[0].default_after_missed
        else:
            assert self.plan.remaining == 0 and not self.plan.due(date(2100, 1, 1))

    @invariant()
    def no_refund_exceeds_what_was_paid(self) -> None:
        for p in self.acct.payments.values():
            assert 0 <= p.refunded <= p.amount
        paid = sum(e.total_debits for e in self.journal if e.kind is EntryKind.PAYMENT)
        refunded = sum(e.total_debits for e in self.journal if e.kind is EntryKind.REFUND)
        assert refunded <= paid


LedgerMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)
TestLedgerMachine = LedgerMachine.TestCase
