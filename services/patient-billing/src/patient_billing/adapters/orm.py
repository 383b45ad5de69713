"""Tables of the patient-billing database (owned by this service alone)."""

from __future__ import annotations

from rcm_shared.db.platform_tables import add_platform_tables
from rcm_shared.db.types import Cents, UtcDateTime, service_metadata
from sqlalchemy import JSON, Column, Date, ForeignKey, Index, String, Table, UniqueConstraint

metadata = service_metadata()
platform = add_platform_tables(metadata)

accounts = Table(
    "patient_accounts", metadata,
    Column("account_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("balance", Cents, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("practice_id", "patient_id", name="uq_patient_accounts_practice_patient"),
)

entries = Table(
    "account_entries", metadata,
    Column("entry_id", String(36), primary_key=True),
    Column("account_id", String(36), ForeignKey("patient_accounts.account_id"), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("amount", Cents, nullable=False),
    Column("source_id", String(80), nullable=False),
    Column("claim_id", String(36), nullable=True),
    Column("service_date", Date, nullable=True),
    Column("posted_at", UtcDateTime, nullable=False),
    Column("detail", JSON, nullable=False),
    UniqueConstraint("account_id", "source_id", name="uq_account_entries_source"),
)
Index("ix_account_entries_account", entries.c.account_id, entries.c.posted_at)
