"""A claim's status is the end of the chain of its changes, whatever order their timestamps say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reporting.domain.facts import ClaimHistory, StatusChange, current_status

T = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def change(n: int, before: str, after: str, seconds: int) -> StatusChange:
    return StatusChange(event_id=f"e{n}", claim_id="c", previous_status=before, status=after,
                        at=T + timedelta(seconds=seconds))


def test_the_chain_wins_over_timestamps_that_disagree() -> None:
    # paid stamped before accepted (two runs of claims), but the claim went submitted -> accepted -> paid
    history = ClaimHistory("c", changes=(change(1, "scrubbed", "submitted", 0), change(2, "accepted", "paid", 5),
                                         change(3, "submitted", "accepted", 9)))
    assert current_status(history) == "paid"


def test_a_reversal_and_a_new_payment_follow_the_chain() -> None:
    history = ClaimHistory("c", changes=(change(1, "submitted", "paid", 0), change(2, "paid", "reversed", 1),
                                         change(3, "reversed", "paid", 2)))
    assert current_status(history) == "paid"
    assert current_status(ClaimHistory("c", changes=history.changes[:2])) == "reversed"
