from __future__ import annotations

from datetime import date, timedelta

from eligibility.domain.session_limits import AlertKind, SessionLimitTracker
from hypothesis import given, settings
from hypothesis import strategies as st


def test_counts_per_calendar_year_and_is_idempotent() -> None:
    tracker = SessionLimitTracker(limit=20, alert_at_remaining=3)
    for i in range(5):
        tracker.record_visit(f"v{i}", date(2026, 1, 10 + i))
    tracker.record_visit("v0", date(2026, 1, 10))  # duplicate delivery
    tracker.record_visit("old", date(2025, 12, 31))
    assert tracker.used(date(2026, 6, 1)) == 5 and tracker.remaining(date(2026, 6, 1)) == 15
    assert tracker.used(date(2025, 6, 1)) == 1


def test_alert_once_when_remaining_falls_to_threshold() -> None:
    tracker = SessionLimitTracker(limit=5, alert_at_remaining=2)
    alerts = [tracker.record_visit(f"v{i}", date(2026, 2, 1 + i)) for i in range(6)]
    kinds = [[a.kind for a in batch] for batch in alerts]
    assert kinds == [[], [], [AlertKind.NEARLY_REACHED], [], [AlertKind.REACHED], [AlertKind.EXCEEDED]]
    assert alerts[2][0].remaining == 2
    assert tracker.record_visit("v5", date(2026, 2, 6)) == []


def test_void_gives_the_session_back_and_survives_reordering() -> None:
    tracker = SessionLimitTracker(limit=10, alert_at_remaining=3)
    tracker.void_visit("late")  # the void arrives before the completion
    assert tracker.record_visit("late", date(2026, 3, 1)) == []
    tracker.record_visit("v1", date(2026, 3, 2))
    tracker.void_visit("v1")
    assert tracker.used(date(2026, 3, 3)) == 0


def test_plan_year_starting_in_july() -> None:
    tracker = SessionLimitTracker(limit=10, alert_at_remaining=3, year_start_month=7)
    tracker.record_visit("a", date(2026, 6, 30))
    tracker.record_visit("b", date(2026, 7, 1))
    assert tracker.used(date(2026, 7, 15)) == 1 and tracker.benefit_year_start(date(2026, 6, 30)) == date(2025, 7, 1)


def test_payer_remaining_makes_the_count_conservative() -> None:
    tracker = SessionLimitTracker(limit=20, alert_at_remaining=2)
    tracker.reconcile_with_payer(remaining=3, as_of=date(2026, 4, 1))  # visits elsewhere we never saw
    assert tracker.remaining(date(2026, 4, 2)) == 3
    alerts = tracker.record_visit("v1", date(2026, 4, 3))
    assert tracker.remaining(date(2026, 4, 3)) == 2 and [a.kind for a in alerts] == [AlertKind.NEARLY_REACHED]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(0, 40), st.booleans()), max_size=20),
       st.randoms())
def test_order_of_events_does_not_change_the_count(events: list[tuple[str, int, bool]], rnd) -> None:  # type: ignore[no-untyped-def]
    # each visit has one date; a void is final whatever its position
    dates = {vid: date(2026, 1, 1) + timedelta(days=offset) for vid, offset, _ in events}
    ops = [(vid, void) for vid, _, void in events]

    def run(sequence: list[tuple[str, bool]]) -> int:
        tracker = SessionLimitTracker(limit=50, alert_at_remaining=3)
        for vid, void in sequence:
            tracker.void_visit(vid) if void else tracker.record_visit(vid, dates[vid])
        return tracker.used(date(2026, 6, 1))

    shuffled = list(ops)
    rnd.shuffle(shuffled)
    assert run(ops) == run(shuffled + ops)
