"""The KPIs from the per-claim rows: values, the claims behind each, targets judged from the rules files, trends
and aging that add up."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reporting.bootstrap import load_reporting_rules
from reporting.domain import kpi
from reporting.domain.exceptions import RulesNotInForce
from reporting.domain.facts import ClaimFact
from reporting.domain.patient_ar import OpenCharge, PatientCharge
from reporting.domain.targets import measurements, target_sets

TODAY = date(2026, 12, 2)
RULES = load_reporting_rules()
MEASURE = RULES.measurement_on(TODAY)


def fact(claim_id: str, *, dos: date = TODAY - timedelta(days=10), billed: int = 10000, paid: int = 0,
         patient: int = 0, adjusted: int = 0, open_: int | None = None, status: str = "paid", clean: bool | None = True,
         denied: bool = False, category: str | None = None, payer: str = "SBXHP", npi: str = "1234567893",
         program: str | None = "outpatient", cpt: str = "90837", frequency: str = "1", posted: bool = True,
         lag: int = 1, held: bool = False) -> ClaimFact:
    return ClaimFact(claim_id, f"v-{claim_id}", "pt-1", payer, npi, program, cpt, frequency, dos,
                     dos + timedelta(days=lag), dos + timedelta(days=20) if posted else None,
                     dos + timedelta(days=20) if posted else None, billed, paid, adjusted, patient,
                     billed - paid - patient - adjusted if open_ is None else open_, status, False, held, denied,
                     category, clean)


def test_first_pass_clean_rate_counts_decided_original_claims_and_names_them() -> None:
    facts = [fact("a"), fact("b", clean=False), fact("c", clean=None), fact("d", frequency="7", clean=None)]
    figure = kpi.first_pass_clean_rate(facts)
    assert (figure.value, figure.claim_ids, figure.base_claim_ids) == (Decimal("50.00"), ("a",), ("a", "b"))


def test_denial_rate_by_payer_uses_each_payers_adjudicated_claims() -> None:
    facts = [fact("a", payer="P1", denied=True, category="coding"), fact("b", payer="P1"),
             fact("c", payer="P2"), fact("d", payer="P2", posted=False)]
    by_payer = kpi.denial_rate_by(facts, "payer")
    assert {g: (f.value, f.claim_ids) for g, f in by_payer.items()} == {
        "P1": (Decimal("50.00"), ("a",)), "P2": (Decimal("0.00"), ())}
    by_category = kpi.denial_rate_by(facts, "category")
    assert by_category["coding"].denominator == 3, "a category's share is of every adjudicated claim"
    coding = kpi.denial_rate(facts, categories=MEASURE.coding_categories, kpi="coding_denial_rate")
    assert coding.claim_ids == ("a",)


def test_days_in_ar_is_ar_over_average_daily_charges_of_the_window() -> None:
    facts = [fact(f"c{i}", dos=TODAY - timedelta(days=i), billed=9000, paid=9000, open_=0) for i in range(90)]
    facts.append(fact("open", dos=TODAY - timedelta(days=5), billed=9000, paid=0, status="submitted", open_=9000))
    items = kpi.ar_items(facts, [])
    figure = kpi.days_in_ar(items, facts, TODAY, 90)
    # 91 claims of $90 in 90 days: $91/day; $90 in A/R -> 1.0 day
    assert figure.value == Decimal("1.0") and figure.claim_ids == ("open",)


def test_ar_over_60_days_is_a_share_of_all_ar_payer_and_patient() -> None:
    facts = [fact("old", dos=TODAY - timedelta(days=75), status="submitted", paid=0, open_=3000),
             fact("new", dos=TODAY - timedelta(days=5), status="submitted", paid=0, open_=6000)]
    patient = [OpenCharge(PatientCharge("sp", "pt-9", None, TODAY - timedelta(days=100), 1000), 0)]
    figure = kpi.ar_over_share(kpi.ar_items(facts, patient), TODAY, MEASURE.over_days)
    assert (figure.value, figure.numerator, figure.denominator) == (Decimal("40.00"), 4000, 10000)


def test_net_collection_rate_counts_patient_payments_applied_to_the_claim() -> None:
    facts = [fact("a", billed=10000, paid=6000, patient=2000, adjusted=2000, open_=0)]
    assert kpi.net_collection_rate(facts, {"a": 2000}).value == Decimal("100.00")
    assert kpi.net_collection_rate(facts, {}).value == Decimal("75.00")


def test_submission_lag_mean_and_median() -> None:
    figure = kpi.submission_lag([fact("a", lag=1), fact("b", lag=2), fact("c", lag=9)])
    assert figure.value == Decimal("4.0") and figure.detail["median_days"] == "2.0"


def test_the_targets_are_the_seeds_and_judge_by_direction() -> None:
    targets = RULES.targets_on(TODAY)
    assert targets["first_pass_clean_rate"].judge(Decimal("92")) == "on_target"
    assert targets["first_pass_clean_rate"].judge(Decimal("91")) == "watch"
    assert targets["denial_rate"].judge(Decimal("10.5")) == "trouble"
    assert targets["days_in_ar"].judge(Decimal("47")) == "watch"
    assert targets["ar_over_60_share"].judge(Decimal("14")) == "on_target"
    assert targets["uninterrupted_coverage_rate"].goal == Decimal("97")
    assert targets["denial_rate"].judge(None) == "no_data"


def test_a_day_no_rules_cover_is_refused() -> None:
    with pytest.raises(RulesNotInForce):
        RULES.targets_on(date(1901, 1, 1))


def test_rules_files_with_mistakes_name_them() -> None:
    with pytest.raises(ValueError, match="unknown KPI"):
        target_sets({"targets": [{"effective_from": "2020-01-01", "kpis": {"happiness": {
            "direction": "at_least", "goal": "1", "trouble": "0"}}}]})
    with pytest.raises(ValueError, match="past the goal"):
        target_sets({"targets": [{"effective_from": "2020-01-01", "kpis": {"denial_rate": {
            "direction": "at_most", "goal": "10", "trouble": "8"}}}]})
    with pytest.raises(ValueError, match="must start the day after"):
        measurements({"measurement": [{"effective_from": "2020-01-01", "over_days": 60,
                                        "days_in_ar_window_days": 90, "episode_gap_days": 45, "aging_buckets": [
                                            {"label": "a", "from_days": 0, "to_days": 30},
                                            {"label": "b", "from_days": 40, "to_days": None}]}]})


def test_uninterrupted_coverage_counts_authorized_episodes() -> None:
    def visit(v: str, patient: str, days: int, number: str | None, missing: str | None) -> kpi.DeterminedVisit:
        return kpi.DeterminedVisit(v, patient, "SBXHP", TODAY - timedelta(days=days), True, number, missing)

    visits = [visit("1", "pt-1", 100, "A1", None), visit("2", "pt-1", 90, None, "exhausted"),
              visit("3", "pt-1", 10, "A2", None),  # 80 days later: a new episode
              visit("4", "pt-2", 10, None, "none_on_file")]  # never authorized: not counted
    figure = kpi.uninterrupted_coverage(visits, 45)
    assert (figure.value, figure.numerator, figure.denominator) == (Decimal("50.00"), 1, 2)
    assert figure.detail["interrupted_visit_ids"] == ["2"]


def test_eligibility_is_verified_by_an_active_check_in_the_days_before_the_visit() -> None:
    dos = TODAY - timedelta(days=5)
    visits = [kpi.InsuredVisit("v-ok", "pt-1", "P1", dos), kpi.InsuredVisit("v-old", "pt-2", "P1", dos),
              kpi.InsuredVisit("v-inactive", "pt-3", "P1", dos), kpi.InsuredVisit("v-other-payer", "pt-4", "P1", dos),
              kpi.InsuredVisit("v-after", "pt-5", "P1", dos)]
    checks = [kpi.CoverageCheck("k1", "pt-1", "P1", dos - timedelta(days=30), True),
              kpi.CoverageCheck("k2", "pt-2", "P1", dos - timedelta(days=31), True),
              kpi.CoverageCheck("k3", "pt-3", "P1", dos, False),
              kpi.CoverageCheck("k4", "pt-4", "P2", dos, True),
              kpi.CoverageCheck("k5", "pt-5", "P1", dos + timedelta(days=1), True)]
    figure = kpi.eligibility_verified(visits, checks, MEASURE.eligibility_verified_within_days, {"v-ok": "c-ok",
                                                                                                  "v-old": "c-old"})
    assert (figure.value, figure.claim_ids, figure.base_claim_ids) == (Decimal("20.00"), ("c-ok",), ("c-ok", "c-old"))
    assert figure.detail["unverified_visit_ids"] == ["v-after", "v-inactive", "v-old", "v-other-payer"]


def test_the_clinician_summary_counts_sessions_billed_paid_and_open() -> None:
    month = date(2026, 11, 1)
    sessions = [kpi.Session("v-a", "1234567893", date(2026, 11, 3), False),
                kpi.Session("v-x", "1234567893", date(2026, 11, 4), True),
                kpi.Session("v-s", "1234567893", date(2026, 11, 5), False)]  # self-pay: a session, no claim
    facts = [fact("a", dos=date(2026, 11, 3), billed=15000, paid=10000, patient=3000, adjusted=2000, open_=0),
             fact("old", dos=date(2026, 10, 3))]
    patient = [OpenCharge(PatientCharge("claim:a", "pt-1", "a", date(2026, 11, 20), 3000), 1000)]
    row = kpi.clinician_summary(sessions, facts, patient, month)["1234567893"]
    assert row == {"sessions": 2, "billed_cents": 15000, "paid_cents": 11000, "in_ar_cents": 2000,
                   "claim_ids": ["a"]}


fact_lists = st.lists(st.builds(
    lambda i, days, billed, paid, status, denied, clean: fact(
        f"c{i}", dos=TODAY - timedelta(days=days), billed=billed, paid=min(paid, billed), status=status,
        denied=denied, clean=clean, category="coding" if denied else None),
    st.integers(0, 10**6), st.integers(0, 200), st.integers(0, 50000), st.integers(0, 50000),
    st.sampled_from(["paid", "submitted", "denied"]), st.booleans(), st.one_of(st.none(), st.booleans())),
    max_size=40, unique_by=lambda f: f.claim_id)


@given(fact_lists)
def test_aging_buckets_add_up_to_the_ar(facts: list[ClaimFact]) -> None:
    items = kpi.ar_items(facts, [])
    table = kpi.aging(items, TODAY, MEASURE, "payer")
    total = sum(row["total_cents"] for row in table["payer"].values())  # type: ignore[misc]
    in_buckets = sum(b["cents"] for row in table["payer"].values() for b in row["buckets"].values())  # type: ignore[attr-defined]
    assert total == in_buckets == sum(f.payer_open_cents for f in facts if f.payer_open_cents > 0)


@given(fact_lists, st.sampled_from(["week", "month"]))
def test_a_trend_puts_each_claim_of_the_window_in_one_period(facts: list[ClaimFact], period: str) -> None:
    start = TODAY - timedelta(days=120)
    points = kpi.trend(facts, {}, start, TODAY, period, MEASURE)  # type: ignore[arg-type]
    assert sum(p["claims"] for p in points) == len(kpi.in_period(facts, start, TODAY))  # type: ignore[misc]
    assert [p["period_start"] for p in points] == sorted(p["period_start"] for p in points)


@given(fact_lists)
def test_a_rate_is_a_share_of_its_base_and_names_a_subset_of_it(facts: list[ClaimFact]) -> None:
    for figure in (kpi.first_pass_clean_rate(facts), kpi.denial_rate(facts), kpi.held_before_submission_rate(facts)):
        assert set(figure.claim_ids) <= set(figure.base_claim_ids)
        assert figure.value is None or Decimal(0) <= figure.value <= Decimal(100)



def test_a_trend_of_ar_with_settled_facts_is_the_trend_without_them() -> None:
    from datetime import UTC, datetime, timedelta

    from reporting.domain.facts import ClaimHistory, Posting, StatusChange, Submission
    from reporting.domain.kpi import ar_as_of, settled_facts

    dos = date(2026, 10, 1)

    def history(n: int, paid_after: int | None) -> ClaimHistory:
        claim = f"c-{n}"
        sub = Submission(claim, f"v-{n}", "pt", "SBXHP", "1", dos + timedelta(days=n), "1234567893", "op", "90837",
                         15000, dos + timedelta(days=n + 1))
        if paid_after is None:
            return ClaimHistory(claim, sub)
        at = datetime.combine(dos + timedelta(days=n + paid_after), datetime.min.time(), tzinfo=UTC)
        return ClaimHistory(claim, sub, (StatusChange(f"e-{n}", claim, "submitted", "paid", at),),
                            (Posting(f"p-{n}", claim, "paid", 12000, 1000, 2000, at.date(), at),))

    histories = [history(n, paid) for n, paid in enumerate([None, 5, 20, 40, None, 70, 3, 90])]
    rules = load_reporting_rules().measurement_on(date(2026, 12, 1))

    def day_of(at: datetime) -> date:
        return at.date()

    settled = settled_facts(histories, day_of, rules)
    for day in [dos + timedelta(days=d) for d in range(0, 120, 7)]:
        assert ar_as_of(histories, [], [], day, day_of, rules, settled) == ar_as_of(histories, [], [], day, day_of,
                                                                                    rules)
