"""The nightly batch run's life cycle: every legal move, and the illegal ones refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from eligibility.domain.exceptions import IllegalBatchRunMove
from eligibility.domain.model import BatchInquiry, BatchRun, BatchRunStatus, InquiryStatus, RunCounts

NOW = datetime(2026, 12, 3, 0, 30, tzinfo=UTC)
COUNTS = RunCounts(inquiries=2, fresh=1, no_insurance=1, deferred=0, attention=1)


def claimed() -> BatchRun:
    return BatchRun.claim(run_id="run-1", practice_id="practice-a", schedule_date=date(2026, 12, 3),
                          trigger="schedule", triggered_by=None, now=NOW)


def inquiry(trace: str) -> BatchInquiry:
    return BatchInquiry(trace, "practice-a", f"pt-{trace}", "SBXHP", date(2026, 12, 3), ("never_checked",),
                        (f"appt-{trace}",), "ST*270*0001~")


def sending() -> BatchRun:
    run = claimed()
    run.ready_to_send([inquiry("T1"), inquiry("T2")], COUNTS, payload_id="p-1", interchange_control_number=7,
                      request_x12="ISA*...", now=NOW)
    return run


def test_planned_sending_submitted_completed() -> None:
    run = sending()
    assert (run.status, run.inquiry_count, run.attention_count, run.send_started_at) == (
        BatchRunStatus.SENDING, 2, 1, NOW)
    run.submitted(NOW + timedelta(minutes=1))
    assert (run.status, run.attempts) == (BatchRunStatus.SUBMITTED, 1)
    unanswered = run.complete({"T1": "chk-1"}, "ISA*271...", NOW + timedelta(hours=2))
    assert run.status is BatchRunStatus.COMPLETED
    assert [(i.trace_number, i.status, i.check_id) for i in run.inquiries] == [
        ("T1", InquiryStatus.ANSWERED, "chk-1"), ("T2", InquiryStatus.UNANSWERED, None)]
    assert [i.trace_number for i in unanswered] == ["T2"] and run.attention_count == 2


def test_nothing_stale_is_an_empty_run() -> None:
    run = claimed()
    run.nothing_to_send(RunCounts(0, 3, 0, 0, 0), NOW)
    assert (run.status, run.fresh_count, run.completed_at) == (BatchRunStatus.EMPTY, 3, NOW)
    with pytest.raises(IllegalBatchRunMove):
        run.resend(NOW)


def test_a_refused_send_waits_then_goes_again_and_fails_when_retries_are_used_up() -> None:
    run = sending()
    assert run.send_failed("HTTP503", timedelta(minutes=5), NOW) == []
    assert (run.status, run.attempts) == (BatchRunStatus.SEND_FAILED, 1)
    assert run.next_attempt_at == NOW + timedelta(minutes=5)
    assert not run.due_for_resend(NOW, timedelta(minutes=10))
    assert run.due_for_resend(NOW + timedelta(minutes=5), timedelta(minutes=10))
    run.resend(NOW + timedelta(minutes=5))
    unanswered = run.send_failed("HTTP503", None, NOW + timedelta(minutes=6))
    assert (run.status, run.attempts) == (BatchRunStatus.FAILED, 2)
    assert [i.status for i in unanswered] == [InquiryStatus.UNANSWERED] * 2 and run.attention_count == 3


def test_a_sender_that_died_mid_send_is_overtaken_only_after_the_lease() -> None:
    run = sending()
    assert not run.due_for_resend(NOW + timedelta(minutes=9), timedelta(minutes=10))
    assert run.due_for_resend(NOW + timedelta(minutes=11), timedelta(minutes=10))
    run.resend(NOW + timedelta(minutes=11))
    assert run.status is BatchRunStatus.SENDING and run.send_started_at == NOW + timedelta(minutes=11)


def test_an_unanswered_batch_expires_with_its_inquiries_for_the_work_queue() -> None:
    run = sending()
    run.submitted(NOW)
    unanswered = run.expire("no_batch_results", NOW + timedelta(hours=11))
    assert (run.status, run.last_error, len(unanswered)) == (BatchRunStatus.EXPIRED, "no_batch_results", 2)


@pytest.mark.parametrize(("move", "current"), [
    (lambda run: run.submitted(NOW), "planned"),
    (lambda run: run.complete({}, "", NOW), "planned"),
    (lambda run: run.expire("late", NOW), "planned"),
    (lambda run: run.resend(NOW), "planned"),
])
def test_a_run_not_yet_planned_cannot_be_sent_answered_or_expired(move, current: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IllegalBatchRunMove) as refused:
        move(claimed())
    assert refused.value.current == current


def test_moves_out_of_order_are_refused() -> None:
    run = sending()
    with pytest.raises(IllegalBatchRunMove, match="sending cannot become completed"):
        run.complete({}, "", NOW)
    run.submitted(NOW)
    with pytest.raises(IllegalBatchRunMove, match="submitted cannot become submitted"):
        run.submitted(NOW)
    with pytest.raises(IllegalBatchRunMove):
        run.send_failed("late", None, NOW)
    run.complete({"T1": "c", "T2": "d"}, "", NOW)
    for move in (lambda: run.expire("x", NOW), lambda: run.resend(NOW), lambda: run.submitted(NOW)):
        with pytest.raises(IllegalBatchRunMove):
            move()
