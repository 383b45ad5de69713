from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from authorizations.bootstrap import load_rulebook
from authorizations.domain.kpi import EpisodeVisit, episodes_from_visits, uninterrupted_coverage
from authorizations.domain.ledger import AuthorizationLedger, VisitCompleted
from authorizations.domain.model import Authorization, AuthorizationStatus, VisitFacts
from authorizations.domain.renewals import (
    ConcurrentReview,
    ConcurrentReviewLog,
    ExhaustionCause,
    RenewalRules,
    RenewalThresholds,
    RenewalTrigger,
    ReviewOutcome,
    ScheduledVisit,
    forecast_exhaustion,
    renewal_tasks,
)

CODES = frozenset({"90837"})
RULES = RenewalRules((RenewalThresholds(days_before_end=10, units_remaining_at_most=2, review_turnaround_days=5),))


def ledger_with(units: int, used: int, end: date = date(2026, 6, 30)) -> AuthorizationLedger:
    ledger = AuthorizationLedger()
    ledger.add_authorization(Authorization("A1", "P1", "PAY", CODES, units, date(2026, 1, 1), end))
    for i in range(used):
        ledger.apply(VisitCompleted(f"done{i}", 1, VisitFacts("P1", "PAY", date(2026, 1, 5) + timedelta(days=7 * i),
                                                              "90837")))
    return ledger


def weekly(start: date, count: int) -> list[ScheduledVisit]:
    return [ScheduledVisit(f"s{i}", "P1", "PAY", start + timedelta(days=7 * i), "90837") for i in range(count)]


def test_forecast_units_run_out_before_schedule_ends() -> None:
    ledger = ledger_with(units=6, used=3)
    forecast = forecast_exhaustion(ledger, "A1", weekly(date(2026, 3, 2), 5), date(2026, 3, 1))
    assert forecast.cause is ExhaustionCause.UNITS and forecast.scheduled_covered == 3
    assert forecast.runs_out_on == date(2026, 3, 16) and forecast.first_uncovered_visit == date(2026, 3, 23)


def test_forecast_end_date_first() -> None:
    ledger = ledger_with(units=20, used=0, end=date(2026, 3, 10))
    forecast = forecast_exhaustion(ledger, "A1", weekly(date(2026, 3, 2), 3), date(2026, 3, 1))
    assert forecast.cause is ExhaustionCause.END_DATE and forecast.first_uncovered_visit == date(2026, 3, 16)


def test_renewal_task_due_before_the_uncovered_visit() -> None:
    ledger = ledger_with(units=6, used=3)
    (task,) = renewal_tasks(ledger, weekly(date(2026, 3, 2), 5), date(2026, 3, 1), RULES)
    assert task.triggers == (RenewalTrigger.SCHEDULE_EXCEEDS_UNITS,)
    assert task.due_by == date(2026, 3, 18)  # 2026-03-23 minus 5 days of payer turnaround


def test_thresholds_and_no_task_when_quiet() -> None:
    assert renewal_tasks(ledger_with(units=20, used=3), [], date(2026, 3, 1), RULES) == []
    (low,) = renewal_tasks(ledger_with(units=5, used=3), [], date(2026, 3, 1), RULES)
    assert low.triggers == (RenewalTrigger.UNITS_LOW,)
    (ending,) = renewal_tasks(ledger_with(units=20, used=0, end=date(2026, 3, 11)), [], date(2026, 3, 1), RULES)
    assert ending.triggers == (RenewalTrigger.ENDING_SOON,)
    assert renewal_tasks(ledger_with(units=20, used=0, end=date(2026, 3, 12)), [], date(2026, 3, 1), RULES) == []


def test_pending_review_or_successor_suppresses_the_task() -> None:
    ledger = ledger_with(units=5, used=3)
    log = ConcurrentReviewLog()
    assert log.record(ConcurrentReview("R1", "A1", date(2026, 2, 27), 10, date(2026, 9, 30)))
    assert not log.record(ConcurrentReview("R1", "A1", date(2026, 2, 27), 10, date(2026, 9, 30)))
    assert renewal_tasks(ledger, [], date(2026, 3, 1), RULES, log) == []
    log.decide("R1", ReviewOutcome.DENIED)
    assert len(renewal_tasks(ledger, [], date(2026, 3, 1), RULES, log)) == 1
    ledger.add_authorization(Authorization("A2", "P1", "PAY", CODES, 10, date(2026, 7, 1), date(2026, 12, 31)))
    assert renewal_tasks(ledger, [], date(2026, 3, 1), RULES, log) == []


def test_shipped_renewal_rules_by_payer() -> None:
    rules = load_rulebook().renewal
    assert rules.for_payer("SBXBH", date(2026, 1, 1)).days_before_end == 21
    assert rules.for_payer("OTHER", date(2026, 1, 1)).days_before_end == 14


def test_uninterrupted_coverage_kpi() -> None:
    visits = [EpisodeVisit(f"a{i}", "P1", "PAY", date(2026, 1, 5) + timedelta(days=7 * i)) for i in range(12)]
    visits += [EpisodeVisit(f"b{i}", "P2", "PAY", date(2026, 1, 5) + timedelta(days=7 * i)) for i in range(12)]
    visits += [EpisodeVisit("c0", "P3", "PAY", date(2026, 1, 5))]  # never authorized: not counted
    episodes = episodes_from_visits(visits, max_gap_days=45)
    assert len(episodes) == 3
    auths = [
        Authorization("A1", "P1", "PAY", CODES, 6, date(2026, 1, 1), date(2026, 2, 15)),
        Authorization("A2", "P1", "PAY", CODES, 6, date(2026, 2, 16), date(2026, 4, 30)),  # abuts: no gap
        Authorization("B1", "P2", "PAY", CODES, 6, date(2026, 1, 1), date(2026, 2, 15)),
        Authorization("B2", "P2", "PAY", CODES, 6, date(2026, 2, 20), date(2026, 4, 30)),  # 4-day gap
        Authorization("B3", "P2", "PAY", CODES, 6, date(2026, 2, 16), date(2026, 2, 19), AuthorizationStatus.DENIED),
    ]
    kpi = uninterrupted_coverage(episodes, auths)
    assert (kpi.authorized_episodes, kpi.uninterrupted_episodes) == (2, 1)
    assert kpi.rate == Decimal("50.00") and kpi.interrupted_episode_ids == ("P2:PAY:b0",)
    assert uninterrupted_coverage(episodes, auths, {"a3"}).uninterrupted_episodes == 0
    assert uninterrupted_coverage([], auths).rate is None


def test_no_thresholds_in_force_is_said_not_guessed() -> None:
    from authorizations.domain.exceptions import RulesNotInForce

    rules = load_rulebook().renewal
    with pytest.raises(RulesNotInForce):
        rules.for_payer("SBXHP", date(2019, 12, 31))
