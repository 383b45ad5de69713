"""Per-payer rates for automatic re-checks, batch caps and retries (pure domain)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from eligibility.domain.payer_limits import PayerLimitRules, PayerLimits, QueuedRecheck, pick_rechecks
from hypothesis import given
from hypothesis import strategies as st
from rcm_shared.rules import RulesError

from .conftest import rules_file, shipped_rules

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
LIMITS = PayerLimitRules((PayerLimits(payer_id="*", realtime_per_minute=2),
                          PayerLimits(payer_id="BIG", realtime_per_minute=5)))


def queued(request_id: str, payer: str, minutes_ago: int = 1) -> QueuedRecheck:
    return QueuedRecheck(request_id, payer, NOW - timedelta(minutes=minutes_ago))


def test_each_payer_gets_at_most_its_rate_oldest_first() -> None:
    items = [queued("a1", "A", 5), queued("a2", "A", 9), queued("a3", "A", 1), queued("b1", "BIG")]
    assert pick_rechecks(items, {}, LIMITS, NOW) == ["a2", "a1", "b1"]


def test_what_went_out_in_the_last_minute_counts() -> None:
    items = [queued("a1", "A"), queued("a2", "A"), queued("b1", "BIG")]
    assert pick_rechecks(items, {"A": 1, "BIG": 5}, LIMITS, NOW) == ["a1"]
    assert pick_rechecks(items, {"A": 7}, LIMITS, NOW) == ["b1"]


def test_not_yet_due_waits() -> None:
    later = QueuedRecheck("later", "A", NOW + timedelta(seconds=1))
    assert pick_rechecks([later, queued("now", "A")], {}, LIMITS, NOW) == ["now"]


@given(st.lists(st.tuples(st.sampled_from(["A", "B", "BIG"]), st.integers(-5, 30)), max_size=40),
       st.dictionaries(st.sampled_from(["A", "B", "BIG"]), st.integers(0, 8)))
def test_a_payer_never_goes_over_its_rate(items: list[tuple[str, int]], sent: dict[str, int]) -> None:
    queue = [QueuedRecheck(f"r{i}", payer, NOW - timedelta(minutes=age)) for i, (payer, age) in enumerate(items)]
    chosen = set(pick_rechecks(queue, sent, LIMITS, NOW))
    for payer in ("A", "B", "BIG"):
        rate = LIMITS.for_payer(payer, NOW.date()).realtime_per_minute
        due = [q for q in queue if q.payer_id == payer and q.due_at <= NOW]
        picked = [q for q in due if q.request_id in chosen]
        assert len(picked) == min(len(due), max(0, rate - sent.get(payer, 0)))
        assert not any(q.request_id in chosen for q in queue if q.due_at > NOW)


def test_retries_then_give_up() -> None:
    limits = PayerLimits(retry_after_minutes=(2, 10))
    assert limits.retry_delay(1) == timedelta(minutes=2)
    assert limits.retry_delay(2) == timedelta(minutes=10)
    assert limits.retry_delay(3) is None


def test_shipped_limits_pick_payer_then_default_by_effective_date() -> None:
    rules = shipped_rules().payer_limits
    sandbox = rules.for_payer("SBXHP", date(2026, 3, 2))
    other = rules.for_payer("ANYONE", date(2026, 3, 2))
    assert sandbox.payer_id == "SBXHP" and other.payer_id == "*"
    assert rules.for_payer("SBXHP", date(2024, 6, 1)).payer_id == "*"  # before the sandbox entry took effect
    assert PayerLimitRules(()).for_payer("X", date(2026, 1, 1)) == PayerLimits()


@pytest.mark.parametrize(("bad", "where"), [
    ({"limits": {}}, "limits: must be a list"),
    ({"limits": [{"effective_from": "2026-01-01", "realtime_per_minute": 0}]}, "limits[0].realtime_per_minute"),
    ({"limits": [{"effective_from": "2026-01-01", "batch_max_inquiries": "500"}]}, "limits[0].batch_max_inquiries"),
    ({"limits": [{"effective_from": "2026-01-01", "retry_after_minutes": [0]}]}, "limits[0].retry_after_minutes"),
    ({"limits": [{"effective_from": "2026-01-01", "payer_id": ""}]}, "limits[0].payer_id"),
    ({"limits": [{"effective_from": "2026-13-01"}]}, "limits[0].effective_from: must be a date"),
])
def test_bad_limits_are_refused_naming_the_file_and_field(bad: dict[str, object], where: str) -> None:
    with pytest.raises(RulesError, match=f"payer_limits.yaml: {re.escape(where)}"):
        PayerLimitRules.from_rules(rules_file("payer_limits.yaml", bad))
