"""Payment plans, collections follow-up and card payments as domain rules, no I/O: installments that add up to the
cent on monthly dates, a declined installment retried on the rules' days then flagged, a plan that defaults after
the practice's number of missed ones, re-amortization when the balance moves; dunning steps once and in order,
never on a disputed balance, what is held for insurance, or an account on a plan; card payments that stay pending
through an outage and post once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from patient_billing.bootstrap import load_payment_rules
from patient_billing.domain.card_payments import CardOnFile, CardPayment, ChargeAnswer, Outcome, PaymentState
from patient_billing.domain.collections import AccountStanding, DunningRules, decide
from patient_billing.domain.exceptions import (
    ConsentRequired,
    InvalidAmount,
    NotRefundable,
    PlanRefused,
    RefundExceedsPaid,
)
from patient_billing.domain.plans import InstallmentState, PaymentPlan, PlanRules, PlanState, add_months, split

RULES = load_payment_rules()
TODAY = date(2026, 1, 31)
NOW = datetime(2026, 1, 31, 15, tzinfo=UTC)


def plan(balance: int = 30_001, count: int = 3, autopay: str | None = "card-1") -> PaymentPlan:
    return PaymentPlan.offer(plan_id="plan-1", practice_id="p", account_id="a", balance=balance, count=count,
                             first_due_on=TODAY, today=TODAY, rules=RULES.plans,
                             installment_ids=[f"i{n}" for n in range(count)], autopay_method_id=autopay)


def test_installments_add_up_to_the_cent_on_monthly_dates() -> None:
    p = plan()
    assert [i.amount for i in p.installments] == [10_001, 10_000, 10_000]
    assert [i.due_on for i in p.installments] == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]
    assert split(7, 3) == [3, 2, 2] and add_months(date(2026, 12, 15), 1, 15) == date(2027, 1, 15)
    assert p.events[-1].change == "created" and p.events[-1].remaining == 30_001


def test_the_plan_rules_refuse_what_the_practice_does_not_allow() -> None:
    with pytest.raises(PlanRefused) as too_many:
        plan(count=13)
    assert too_many.value.field == "body.installments"
    with pytest.raises(PlanRefused):
        plan(balance=7_000, count=3)  # under 25.00 an installment
    with pytest.raises(PlanRefused):
        plan(balance=0)
    with pytest.raises(PlanRefused):
        PaymentPlan.offer(plan_id="x", practice_id="p", account_id="a", balance=10_000, count=1,
                          first_due_on=TODAY - timedelta(days=1), today=TODAY, rules=RULES.plans,
                          installment_ids=["i"])


def test_a_declined_installment_is_retried_on_the_rules_days_then_flagged_and_the_plan_defaults() -> None:
    p = plan()
    first = p.installments[0]
    assert p.due(TODAY) == [first]
    assert p.installment_failed(first.installment_id, TODAY, RULES.plans) is False
    assert (first.state, first.next_attempt_on) == (InstallmentState.RETRYING, TODAY + timedelta(days=3))
    assert p.due(TODAY + timedelta(days=2)) == [] and p.due(TODAY + timedelta(days=3)) == [first]
    assert p.installment_failed(first.installment_id, TODAY + timedelta(days=3), RULES.plans) is False
    assert first.next_attempt_on == TODAY + timedelta(days=7)
    assert p.installment_failed(first.installment_id, TODAY + timedelta(days=7), RULES.plans) is True
    assert first.state is InstallmentState.MISSED and p.state is PlanState.ACTIVE
    assert [i.amount for i in p.installments[1:]] == [15_001, 15_000]  # the missed one is still owed
    assert p.remaining == 30_001 and p.events[-1].change == "installment_missed"
    second = p.installments[1]
    for day in (0, 3, 7):
        flagged = p.installment_failed(second.installment_id, second.due_on + timedelta(days=day), RULES.plans)
    assert flagged and p.state is PlanState.DEFAULTED  # default_after_missed: 2
    assert p.installments[2].state is InstallmentState.CANCELLED and p.remaining == 0
    assert p.events[-1].change == "defaulted" and p.due(date(2030, 1, 1)) == []


def test_the_plan_follows_the_balance() -> None:
    p = plan()
    p.installment_paid("i0", "pay-1")
    assert p.remaining == 20_000 and p.paid == 10_001
    assert p.follow_balance(20_000) is False  # the payment was the installment: nothing to change
    assert p.follow_balance(15_001) is True  # 49.99 paid outside the plan
    assert [i.amount for i in p.installments if i.open] == [7_501, 7_500]
    assert p.follow_balance(1) is True  # one cent left: one installment of a cent, the other cancelled
    assert [(i.amount, i.state.value) for i in p.installments[1:]] == [(1, "scheduled"), (7_500, "cancelled")]
    assert p.follow_balance(0) is True and p.state is PlanState.COMPLETED
    p2 = plan()
    for i in p2.installments:
        p2.installment_paid(i.installment_id, f"pay-{i.installment_id}")
    assert p2.state is PlanState.COMPLETED and p2.events[-1].change == "installment_paid"


def test_an_installment_paid_by_hand_counts_as_failed_after_the_grace_days() -> None:
    p = plan(autopay=None)
    assert p.overdue(TODAY + timedelta(days=5), RULES.plans) == []
    assert [i.installment_id for i in p.overdue(TODAY + timedelta(days=6), RULES.plans)] == ["i0"]
    assert plan().overdue(TODAY + timedelta(days=60), RULES.plans) == []  # autopay: the charge decides


def standing(**overrides: object) -> AccountStanding:
    values: dict[str, object] = {"account_id": "a", "amount_due": 12_000, "oldest_due_on": TODAY - timedelta(days=45),
                                 "disputed": False, "on_plan": False, "steps_taken": ()}
    values.update(overrides)
    return AccountStanding(**values)  # type: ignore[arg-type]


def test_dunning_steps_are_taken_once_and_in_order_by_days_past_due() -> None:
    d = decide(standing(), TODAY, RULES.dunning)
    assert (d.step, d.days_past_due, d.next_step, d.next_step_on) == ("statement", 45, "reminder", 30)
    d = decide(standing(steps_taken=("statement",)), TODAY, RULES.dunning)
    assert d.step == "reminder"
    d = decide(standing(steps_taken=("statement", "reminder")), TODAY, RULES.dunning)
    assert (d.step, d.excluded, d.next_step) == (None, "not_yet_due", "final_notice")
    d = decide(standing(oldest_due_on=TODAY - timedelta(days=91),
                        steps_taken=("statement", "reminder", "final_notice")), TODAY, RULES.dunning)
    assert d.step == "collections_hold" and d.next_step is None
    d = decide(standing(steps_taken=("statement", "reminder", "final_notice", "collections_hold")), TODAY,
               RULES.dunning)
    assert d.excluded == "all_steps_taken"


def test_dunning_never_touches_a_disputed_held_planned_or_small_balance() -> None:
    assert decide(standing(disputed=True), TODAY, RULES.dunning).excluded == "disputed"
    assert decide(standing(amount_due=0, oldest_due_on=None), TODAY, RULES.dunning).excluded == "pending_insurance"
    assert decide(standing(on_plan=True), TODAY, RULES.dunning).excluded == "on_plan"
    assert decide(standing(amount_due=999), TODAY, RULES.dunning).excluded == "below_minimum"


def test_dunning_rules_are_checked_when_read() -> None:
    base = {"version": "1", "policies": [{"id": "d", "effective_from": "2026-01-01", "steps": [
        {"step": "reminder", "days_past_due": 30}, {"step": "statement", "days_past_due": 0}]}]}
    with pytest.raises(ValueError, match="increasing"):
        DunningRules.from_dict(base)
    with pytest.raises(ValueError, match="unknown steps"):
        DunningRules.from_dict({"policies": [{"id": "d", "effective_from": "2026-01-01",
                                              "steps": [{"step": "phone_call", "days_past_due": 0}]}]})
    with pytest.raises(ValueError, match="retry_after_days"):
        PlanRules.from_dict({"policies": [{"id": "p", "effective_from": "2026-01-01", "max_installments": 3,
                                           "min_installment": "1.00", "retry_after_days": [7, 3],
                                           "default_after_missed": 1}]})


def payment(**overrides: object) -> CardPayment:
    values: dict[str, object] = {"payment_id": "pay-1", "practice_id": "p", "account_id": "a", "patient_id": "pt",
                                 "amount": 5_000, "method_id": None, "payment_method_ref": "pm_card_visa",
                                 "customer_ref": None, "purpose": "payment", "created_at": NOW}
    values.update(overrides)
    return CardPayment(**values)  # type: ignore[arg-type]


def test_a_card_payment_stays_pending_through_an_outage_and_succeeds_once() -> None:
    p = payment()
    p.unreachable(NOW)
    p.unreachable(NOW)
    assert p.state is PaymentState.PENDING and p.attempts == 2 and p.next_attempt_at == NOW + timedelta(seconds=30)
    assert p.answered(ChargeAnswer(Outcome.SUCCEEDED, "pi_1"), NOW, TODAY) is True
    assert p.answered(ChargeAnswer(Outcome.SUCCEEDED, "pi_1"), NOW, TODAY) is False  # a duplicate answer
    assert p.answered(ChargeAnswer(Outcome.DECLINED, "pi_1"), NOW, TODAY) is False
    assert p.state is PaymentState.SUCCEEDED and p.received_on == TODAY and p.idempotency_key == "rcm-payment-pay-1"
    p.check_refund(5_000)
    with pytest.raises(RefundExceedsPaid):
        p.check_refund(5_001)
    declined = payment()
    declined.answered(ChargeAnswer(Outcome.DECLINED, "pi_2", decline_code="insufficient_funds"), NOW, TODAY)
    assert declined.state is PaymentState.DECLINED and declined.message == "The card was declined."
    with pytest.raises(NotRefundable):
        declined.check_refund(1)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(InvalidAmount):
            payment(amount=bad)


def test_a_card_is_kept_on_file_only_with_consent() -> None:
    for signed_on, text in ((None, "v1"), (TODAY, None), (TODAY + timedelta(days=1), "v1")):
        with pytest.raises(ConsentRequired):
            CardOnFile.with_consent(method_id="m", practice_id="p", account_id="a", customer_ref="c",
                                    payment_method_ref="pm", consent_signed_on=signed_on, consent_text=text,
                                    autopay=True, now=NOW)
    card = CardOnFile.with_consent(method_id="m", practice_id="p", account_id="a", customer_ref="c",
                                   payment_method_ref="pm", consent_signed_on=TODAY, consent_text="v1",
                                   autopay=True, now=NOW)
    assert card.status == "pending" and not card.chargeable
