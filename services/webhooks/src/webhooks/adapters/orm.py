"""Tables of the webhooks database: the practices' settings, endpoints and their secrets, every event received
(the CloudEvent as it arrived, for replays), the delivery queue (one row per event owed to an endpoint) and its
attempt log."""

from __future__ import annotations

from rcm_shared.db.platform_tables import AutoId, add_platform_tables
from rcm_shared.db.types import UtcDateTime, service_metadata
from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

metadata = service_metadata()
platform = add_platform_tables(metadata)

practice_settings = Table(
    "practice_settings", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("phi_opt_in", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

endpoints = Table(
    "endpoints", metadata,
    Column("endpoint_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("description", String(200), nullable=False),
    Column("event_types", JSON, nullable=False),
    Column("include_phi", Boolean, nullable=False),
    Column("status", String(10), nullable=False),
    Column("disabled_reason", String(10), nullable=True),
    Column("disabled_at", UtcDateTime, nullable=True),
    Column("failing_since", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

endpoint_secrets = Table(
    "endpoint_secrets", metadata,
    Column("secret_id", String(36), primary_key=True),
    Column("endpoint_id", String(36), ForeignKey("endpoints.endpoint_id"), nullable=False, index=True),
    Column("secret", String(120), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
)

# Every event received from the topics (and each test event), as the CloudEvent it arrived as: what deliveries and
# replays send. Kept whole (PHI included) in this database only; redaction happens per endpoint when sending.
events = Table(
    "events", metadata,
    Column("event_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("event_type", String(120), nullable=False),
    Column("subject", String(120), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("cloud_event", JSON, nullable=False),
)
Index("ix_events_practice_received", events.c.practice_id, events.c.received_at)

# The queue: one row per (event, endpoint) owed, in arrival order (delivery_id); a replay adds a new row.
deliveries = Table(
    "deliveries", metadata,
    Column("delivery_id", AutoId, primary_key=True, autoincrement=True),
    Column("endpoint_id", String(36), ForeignKey("endpoints.endpoint_id"), nullable=False),
    Column("event_id", String(36), ForeignKey("events.event_id"), nullable=False),
    Column("subject", String(120), nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("leased_until", UtcDateTime, nullable=True),
    Column("replay", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime, nullable=True),
)
Index("ix_deliveries_queue", deliveries.c.status, deliveries.c.endpoint_id, deliveries.c.subject,
      deliveries.c.delivery_id)
Index("ix_deliveries_endpoint", deliveries.c.endpoint_id, deliveries.c.delivery_id)

# The delivery log: every attempt, its HTTP status and latency. No bodies, no receiver text: an error is a kind.
attempts = Table(
    "attempts", metadata,
    Column("attempt_id", AutoId, primary_key=True, autoincrement=True),
    Column("delivery_id", AutoId, ForeignKey("deliveries.delivery_id"), nullable=False, index=True),
    Column("endpoint_id", String(36), nullable=False),
    Column("number", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("latency_ms", Integer, nullable=False),
    Column("error", String(40), nullable=True),
)
