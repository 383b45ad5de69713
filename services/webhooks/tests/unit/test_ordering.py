"""Order per subject per endpoint: only the oldest unfinished delivery of each (endpoint, subject) line may go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from webhooks.domain.ordering import Queued, due_heads

NOW = datetime(2026, 12, 3, tzinfo=UTC)

items = st.lists(st.tuples(st.sampled_from(["ep1", "ep2"]), st.sampled_from(["s1", "s2", "s3"]),
                           st.integers(-100, 100), st.booleans()), max_size=40)


@given(items)
def test_only_the_oldest_of_each_line_goes_and_only_when_due(spec: list[tuple[str, str, int, bool]]) -> None:
    queued = [Queued(i + 1, ep, subject, NOW + timedelta(seconds=offset),
                     NOW + timedelta(seconds=30) if leased else None)
              for i, (ep, subject, offset, leased) in enumerate(spec)]
    heads = due_heads(queued, NOW)
    lines = [(h.endpoint_id, h.subject) for h in heads]
    assert len(lines) == len(set(lines)), "one delivery per line at a time"
    for head in heads:
        earlier = [q for q in queued if (q.endpoint_id, q.subject) == (head.endpoint_id, head.subject)
                   and q.delivery_id < head.delivery_id]
        assert not earlier, "event n+1 never goes while event n of its subject is unfinished"
        assert head.next_attempt_at <= NOW and head.leased_until is None


def test_a_retrying_event_holds_back_its_subject_but_not_others() -> None:
    later = NOW + timedelta(minutes=5)
    queued = [Queued(1, "ep1", "claim-1", later), Queued(2, "ep1", "claim-1", NOW), Queued(3, "ep1", "claim-2", NOW),
              Queued(4, "ep2", "claim-1", NOW)]
    assert [h.delivery_id for h in due_heads(queued, NOW)] == [3, 4]
    assert [h.delivery_id for h in due_heads(queued, later)] == [1, 3, 4]
