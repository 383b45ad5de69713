"""The Kafka client's repeated lines (a broker away, a topic it lost) reach the log once per window, not ten times a
second; our own loggers are never filtered."""

from __future__ import annotations

import logging

from rcm_shared.observability import logging as rcm_logging


def record(name: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)


def test_a_repeated_kafka_client_line_passes_once_per_window_and_says_how_many_were_left_out(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    now = [1000.0]
    monkeypatch.setattr(rcm_logging.time, "monotonic", lambda: now[0])
    repeat = rcm_logging.RepeatFilter(window=30.0)
    template = "OffsetCommit failed for group %s on partition %s with offset %s: %s"
    passed = []
    for n in range(100):  # ten a second for ten seconds
        line = record("aiokafka.consumer.group_coordinator", template, "g", "tp", n, "UnknownTopicOrPartitionError")
        passed.append(repeat.filter(line))
        now[0] += 0.1
    assert passed.count(True) == 1
    assert repeat.filter(record("aiokafka", "Unable connect to node with id %s", 1)), "another message passes"
    now[0] += 30
    later = record("aiokafka.consumer.group_coordinator", template, "g", "tp", 101, "UnknownTopicOrPartitionError")
    assert repeat.filter(later)
    assert later.repeated == 99
    assert all(repeat.filter(record("rcm.consumer", "consumer loop error")) for _ in range(5))
