"""The per-claim fact row: the same facts in any order give the same row; the first pass, denials and what the
payer still owes follow from the facts as billers read them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from reporting.domain.facts import (
    ClaimHistory,
    Denial,
    FactRules,
    Posting,
    StatusChange,
    Submission,
    as_of,
    claim_fact,
    histories,
    payer_open_cents,
)

RULES = FactRules(frozenset({"paid"}))
T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
DOS = date(2026, 11, 2)


def submitted(claim_id: str = "c-1", *, frequency: str = "1", billed: int = 15000, npi: str = "1234567893"
              ) -> Submission:
    return Submission(claim_id, f"v-{claim_id}", "pt-1", "SBXHP", frequency, DOS, npi, "outpatient", "90837",
                      billed, DOS + timedelta(days=1))


def change(status: str, minutes: int, claim_id: str = "c-1", previous: str = "submitted") -> StatusChange:
    return StatusChange(f"e-{status}-{minutes}", claim_id, previous, status, T0 + timedelta(minutes=minutes))


def posting(outcome: str, minutes: int, paid: int, patient: int = 0, contractual: int = 0,
            claim_id: str = "c-1") -> Posting:
    at = T0 + timedelta(minutes=minutes)
    return Posting(f"p-{minutes}", claim_id, outcome, paid, patient, contractual, at.date(), at)


def test_a_claim_paid_on_its_first_posting_is_first_pass_clean_and_owes_nothing() -> None:
    fact = claim_fact(ClaimHistory("c-1", submitted(), (change("accepted", 1), change("paid", 60, previous="accepted")),
                                   (posting("paid", 60, 10000, 2000, 3000),)), RULES)
    assert fact.first_pass_clean is True
    assert (fact.billed_cents, fact.paid_cents, fact.patient_cents, fact.adjusted_cents) == (15000, 10000, 2000, 3000)
    assert fact.payer_open_cents == 0 and fact.status == "paid" and not fact.denied


def test_a_rejected_claim_is_not_clean_even_when_paid_later() -> None:
    fact = claim_fact(ClaimHistory("c-1", submitted(), (change("rejected", 1),), (posting("paid", 90, 15000),)),
                      RULES)
    assert fact.first_pass_clean is False and fact.rejected


def test_a_partly_denied_first_posting_is_not_clean_and_counts_as_a_denial() -> None:
    fact = claim_fact(ClaimHistory("c-1", submitted(), (), (posting("partially_paid", 5, 5000),),
                                   (Denial("d-1", "c-1", "coding", 10000, T0 + timedelta(minutes=5)),)), RULES)
    assert fact.first_pass_clean is False
    assert (fact.denied, fact.denial_category) == (True, "coding")


def test_an_undecided_claim_has_no_first_pass_yet_and_is_all_in_payer_ar() -> None:
    fact = claim_fact(ClaimHistory("c-1", submitted()), RULES)
    assert fact.first_pass_clean is None and fact.payer_open_cents == 15000 and fact.status == "submitted"


def test_a_denied_claim_keeps_its_charge_in_ar_until_it_is_closed() -> None:
    denied = ClaimHistory("c-1", submitted(), (change("denied", 5),), (posting("denied", 5, 0, 0, 15000),))
    assert claim_fact(denied, RULES).payer_open_cents == 15000, "a denial's adjustment is not final"
    closed = ClaimHistory("c-1", denied.submission, (*denied.changes, change("closed", 90, previous="denied")),
                          denied.postings)
    assert claim_fact(closed, RULES).payer_open_cents == 0


def test_a_replacement_claim_has_no_first_pass_of_its_own() -> None:
    replacement = ClaimHistory("c-2", submitted("c-2", frequency="7"), (), (posting("paid", 5, 15000, claim_id="c-2"),))
    fact = claim_fact(replacement, RULES)
    assert fact.first_pass_clean is None and not fact.original


def test_a_reversal_nets_the_payment_out() -> None:
    fact = claim_fact(ClaimHistory("c-1", submitted(), (change("paid", 5), change("reversed", 50, previous="paid")),
                                   (posting("paid", 5, 15000), posting("reversed", 50, -15000))), RULES)
    assert fact.paid_cents == 0 and fact.payer_open_cents == 15000 and fact.status == "reversed"


def test_status_changes_before_the_submission_arrives_still_make_a_row() -> None:
    fact = claim_fact(ClaimHistory("c-1", None, (change("held", 1, previous="draft"),)), RULES)
    assert (fact.status, fact.payer_open_cents, fact.held_before_submission) == ("held", 0, True)


statuses = st.sampled_from(["submitted", "accepted", "rejected", "paid", "partially_paid", "denied", "reversed",
                            "corrected", "appealed", "voided", "closed", "held"])
outcomes = st.sampled_from(["paid", "partially_paid", "denied", "reversed"])


@st.composite
def claim_histories(draw: st.DrawFn) -> ClaimHistory:
    changes = tuple(change(s, m) for s, m in draw(st.lists(st.tuples(statuses, st.integers(0, 500)), max_size=6,
                                                           unique_by=lambda t: t[1])))
    postings = tuple(posting(o, m, draw(st.integers(-20000, 20000)), draw(st.integers(-5000, 5000)),
                             draw(st.integers(-5000, 5000)))
                     for o, m in draw(st.lists(st.tuples(outcomes, st.integers(0, 500)), max_size=4,
                                               unique_by=lambda t: t[1])))
    denials = tuple(Denial(f"d-{i}", "c-1", cat, 100, T0 + timedelta(minutes=i))
                    for i, cat in enumerate(draw(st.lists(st.sampled_from(["coding", "eligibility"]), max_size=3))))
    return ClaimHistory("c-1", draw(st.one_of(st.none(), st.just(submitted()))), changes, postings, denials)


@given(claim_histories(), st.randoms(use_true_random=False))
def test_the_same_facts_in_any_order_give_the_same_row(history: ClaimHistory, rnd: object) -> None:
    shuffled = [list(history.changes), list(history.postings), list(history.denials)]
    for items in shuffled:
        rnd.shuffle(items)  # type: ignore[attr-defined]
    again = histories(["c-1"], [history.submission] if history.submission else [], *shuffled)["c-1"]
    assert claim_fact(again, RULES) == claim_fact(history, RULES)


@given(claim_histories())
def test_what_the_payer_owes_is_never_negative_nor_more_than_billed_less_paid(history: ClaimHistory) -> None:
    fact = claim_fact(history, RULES)
    assert fact.payer_open_cents >= 0
    assert fact.payer_open_cents <= max(0, fact.billed_cents - fact.paid_cents - fact.patient_cents
                                        - (fact.adjusted_cents if fact.status in ("paid", "partially_paid") else 0))


@given(st.sampled_from(["corrected", "voided", "closed", "draft", "held", "scrubbed"]), st.integers(0, 10**7))
def test_claims_out_of_ar_or_not_billed_owe_nothing(status: str, billed: int) -> None:
    assert payer_open_cents(status, billed, 0, 0, 0) == 0


def _day_of(at: datetime) -> date:
    return at.date()


def test_a_claim_as_of_a_day_before_its_payment_is_still_owed() -> None:
    history = ClaimHistory("c-1", submitted(), (change("paid", 60 * 24 * 3),),
                           (posting("paid", 60 * 24 * 3, 12000, 0, 3000),))
    paid_on = history.postings[0].posted_on
    assert claim_fact(as_of(history, paid_on - timedelta(days=1), _day_of), RULES).payer_open_cents == 15000
    assert claim_fact(as_of(history, paid_on, _day_of), RULES).payer_open_cents == 0
    assert claim_fact(as_of(history, DOS, _day_of), RULES).payer_open_cents == 0, "not submitted yet that day"


@given(claim_histories())
def test_as_of_a_day_after_every_fact_is_the_claim_as_it_is(history: ClaimHistory) -> None:
    assert claim_fact(as_of(history, date(2030, 1, 1), _day_of), RULES) == claim_fact(history, RULES)


@given(claim_histories(), st.integers(-2, 3))
def test_from_the_day_of_its_latest_fact_a_claim_stands_as_it_is(history: ClaimHistory, offset: int) -> None:
    from reporting.domain.facts import last_day

    latest = last_day(history, _day_of)
    if latest is None:
        assert history == ClaimHistory("c-1")
        return
    day = latest + timedelta(days=offset)
    same = claim_fact(as_of(history, day, _day_of), RULES) == claim_fact(history, RULES)
    assert same or offset < 0, "the trend's shortcut (settled facts) would be wrong on or after the latest day"
