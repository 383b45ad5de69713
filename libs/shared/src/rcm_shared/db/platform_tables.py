"""Tables every service keeps in its own database: outbox, inbox, idempotency keys, audit log.

They are attached to each service's own MetaData so each service's Alembic migrations create them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from rcm_shared.db.types import UtcDateTime

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a bigint identity.
AutoId = BigInteger().with_variant(Integer(), "sqlite")


@dataclass(frozen=True)
class PlatformTables:
    outbox: Table
    inbox: Table
    idempotency_keys: Table
    audit_log: Table


def add_platform_tables(metadata: MetaData) -> PlatformTables:
    outbox = Table(
        "outbox",
        metadata,
        Column("id", AutoId, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("topic", String(120), nullable=False),
        Column("message_key", String(120), nullable=False),
        Column("event_type", String(120), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("headers", JSON, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("published_at", UtcDateTime, nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text, nullable=True),
        # The cluster id of the broker that acknowledged it: a published row is kept for the retention window and
        # published again if that broker's log is gone (the embedded broker restarted empty, with a new id).
        Column("published_to", String(64), nullable=True),
    )
    # Serves the relay (unpublished rows by id), the replay (published since a time) and the pruning (published
    # before a time).
    Index("ix_outbox_unpublished", outbox.c.published_at, outbox.c.id)
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(120), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("event_type", String(120), nullable=False),
        Column("topic", String(120), nullable=False),
        Column("partition", Integer, nullable=False),
        Column("offset", BigInteger, nullable=False),
        Column("processed_at", UtcDateTime, nullable=False),
    )
    idempotency_keys = Table(
        "idempotency_keys",
        metadata,
        Column("practice_id", String(64), primary_key=True),
        Column("scope", String(120), primary_key=True),
        Column("key", String(200), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        Column("status_code", Integer, nullable=False),
        Column("response_body", LargeBinary, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
    )
    audit_log = Table(
        "audit_log",
        metadata,
        Column("id", AutoId, primary_key=True, autoincrement=True),
        Column("at", UtcDateTime, nullable=False),
        Column("actor", String(200), nullable=False),
        Column("practice_id", String(64), nullable=False),
        Column("action", String(80), nullable=False),
        Column("object_type", String(80), nullable=False),
        Column("object_id", String(120), nullable=False),
        Column("outcome", String(40), nullable=False),
        Column("request_id", String(64), nullable=True),
    )
    Index("ix_audit_log_object", audit_log.c.object_type, audit_log.c.object_id)
    # GET /v1/audit-events: one practice's trail, newest first, paged by id.
    Index("ix_audit_log_practice", audit_log.c.practice_id, audit_log.c.id)
    return PlatformTables(outbox, inbox, idempotency_keys, audit_log)
