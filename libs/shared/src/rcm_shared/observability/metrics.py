"""Platform metrics. Labels are service, route templates, topics and codes: never patient data."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_LATENCY = Histogram(
    "rcm_http_request_duration_seconds", "HTTP request latency",
    ["service", "method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_BACKLOG = Gauge("rcm_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge("rcm_outbox_oldest_age_seconds", "Age of the oldest outbox row not yet published (0: none)",
                          ["service"])
OUTBOX_PUBLISHED = Counter("rcm_outbox_published_total", "Outbox rows published", ["service", "topic"])
CONSUMER_LAG = Gauge("rcm_consumer_lag", "Messages behind the partition end", ["service", "consumer", "topic",
                                                                                  "partition"])
EVENTS_CONSUMED = Counter("rcm_events_consumed_total", "Events handled by outcome",
                          ["service", "consumer", "topic", "outcome"])
DLQ_MESSAGES = Counter("rcm_dlq_messages_total", "Events sent to a dead-letter topic",
                       ["service", "consumer", "topic"])
AUDIT_EVENTS = Counter("rcm_audit_events_total", "Audit records written", ["service", "action", "outcome"])
BUSINESS_EVENTS = Counter("rcm_business_events_total", "Domain outcomes (claims held, denials raised, ...)",
                          ["service", "kind"])
CONSUMER_REWINDS = Counter("rcm_consumer_rewinds_total",
                           "A consumer found its position outside the broker's log and read again from the earliest "
                           "offset (reason: cluster_changed, position_past_end)", ["service", "consumer", "reason"])
OUTBOX_REPLAYED = Counter("rcm_outbox_replayed_total",
                          "Published outbox rows queued to be published again because the broker lost its log",
                          ["service", "reason"])
OUTBOX_ROUNDS_FAILED = Counter("rcm_outbox_relay_rounds_failed_total",
                               "Relay rounds that failed (broker away, rows not acknowledged) and are retried",
                               ["service", "error"])
OUTBOX_PRUNED = Counter("rcm_outbox_pruned_total", "Published outbox rows deleted after the retention window",
                        ["service"])
RECONCILIATION_GAPS = Gauge("rcm_reconciliation_gaps",
                            "Records that should have a counterpart by now and do not (e.g. visits_without_claim)",
                            ["service", "check"])
