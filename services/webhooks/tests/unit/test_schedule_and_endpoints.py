"""The retry schedule (rules/delivery.yaml): about three days, then given up; an endpoint failing that long, or
answering 410 Gone, is disabled; a rotated secret keeps signing for the overlap only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from webhooks.bootstrap import load_rulebook
from webhooks.domain.exceptions import EndpointDeleted
from webhooks.domain.model import AttemptOutcome, Delivery, Endpoint, Secret
from webhooks.domain.schedule import DeliveryRules

T0 = datetime(2026, 12, 3, 1, 8, tzinfo=UTC)
RULES = load_rulebook()
SCHEDULE = RULES.delivery.on(date(2026, 12, 3))


def test_the_schedule_spans_about_three_days_with_growing_waits() -> None:
    assert timedelta(days=2, hours=12) <= SCHEDULE.total_span <= timedelta(days=3, hours=12)
    waits = list(SCHEDULE.retry_after)
    assert waits[0] == timedelta(seconds=5) and waits == sorted(waits), "exponential-ish backoff, never shrinking"
    assert SCHEDULE.max_attempts == len(waits) + 1
    assert SCHEDULE.disable_after_failing_for <= SCHEDULE.total_span, \
        "a delivery failing to its last attempt disables its endpoint"


def test_a_delivery_failing_every_time_is_retried_on_schedule_then_given_up() -> None:
    delivery = Delivery(1, "ep", "ev", "claim-1", T0)
    at = T0
    times = []
    while delivery.status == "pending":
        delivery.record(AttemptOutcome(at, 500, 12, "status"), SCHEDULE)
        times.append(at)
        at = delivery.next_attempt_at
    assert delivery.status == "given_up" and delivery.attempts == SCHEDULE.max_attempts
    assert [b - a for a, b in zip(times, times[1:], strict=False)] == list(SCHEDULE.retry_after)


@given(st.integers(min_value=1, max_value=9))
def test_a_success_after_some_failures_is_delivered(failures: int) -> None:
    delivery = Delivery(1, "ep", "ev", "claim-1", T0)
    for _ in range(failures):
        delivery.record(AttemptOutcome(delivery.next_attempt_at, None, 10_000, "timeout"), SCHEDULE)
    delivery.record(AttemptOutcome(delivery.next_attempt_at, 204, 5), SCHEDULE)
    assert (delivery.status, delivery.attempts) == ("delivered", failures + 1)


def _endpoint() -> Endpoint:
    return Endpoint("ep", "practice-a", "https://hooks.example/in", ("*",), False, T0,
                    secrets=[Secret("s1", "whsec_" + "A" * 44, T0)])


def test_410_gone_disables_at_once_and_gives_the_delivery_up() -> None:
    endpoint, delivery = _endpoint(), Delivery(1, "ep", "ev", "claim-1", T0)
    gone = AttemptOutcome(T0, 410, 3)
    delivery.record(gone, SCHEDULE)
    endpoint.record_failure(T0, SCHEDULE, gone=True)
    assert (endpoint.status, endpoint.disabled_reason, delivery.status) == ("disabled", "gone", "given_up")
    endpoint.enable()
    assert (endpoint.status, endpoint.disabled_reason) == ("enabled", None)


def test_an_endpoint_is_disabled_only_after_failing_for_the_whole_span() -> None:
    endpoint = _endpoint()
    endpoint.record_failure(T0, SCHEDULE, gone=False)
    endpoint.record_failure(T0 + SCHEDULE.disable_after_failing_for - timedelta(seconds=1), SCHEDULE, gone=False)
    assert endpoint.status == "enabled"
    endpoint.record_success()
    endpoint.record_failure(T0 + SCHEDULE.disable_after_failing_for, SCHEDULE, gone=False)
    assert endpoint.status == "enabled", "a success in between starts the count again"
    endpoint.record_failure(T0 + 2 * SCHEDULE.disable_after_failing_for, SCHEDULE, gone=False)
    assert (endpoint.status, endpoint.disabled_reason) == ("disabled", "failing")


def test_a_rotated_secret_signs_until_the_overlap_ends() -> None:
    endpoint = _endpoint()
    endpoint.rotate(Secret("s2", "whsec_" + "B" * 44, T0 + timedelta(hours=1)), T0 + timedelta(hours=1),
                    T0 + timedelta(hours=1) + SCHEDULE.secret_overlap)
    assert endpoint.secrets_in_force(T0 + timedelta(hours=2)) == ["whsec_" + "B" * 44, "whsec_" + "A" * 44]
    assert endpoint.secrets_in_force(T0 + timedelta(hours=1) + SCHEDULE.secret_overlap) == ["whsec_" + "B" * 44]


def test_a_deleted_endpoint_cannot_be_enabled_or_rotated() -> None:
    endpoint = _endpoint()
    endpoint.delete(T0)
    with pytest.raises(EndpointDeleted):
        endpoint.enable()
    with pytest.raises(EndpointDeleted):
        endpoint.rotate(Secret("s2", "whsec_x", T0), T0, T0)


def test_a_schedule_file_without_an_entry_in_force_is_refused() -> None:
    with pytest.raises(ValueError, match="no schedule in force"):
        RULES.delivery.on(date(2019, 1, 1))
    with pytest.raises(ValueError, match="retry_after"):
        DeliveryRules.from_dict({"schedules": [{"effective_from": "2020-01-01"}]})
    with pytest.raises(ValueError, match="not a duration"):
        DeliveryRules.from_dict({"schedules": [{"effective_from": "2020-01-01", "retry_after": ["soon"],
                                                "disable_after_failing_for": "3d", "secret_overlap": "1d"}]})
