"""Tables of messaging subscriptions (on the service's one MetaData): the metered messages, the subscriptions with
their plan terms, and the invoice each closed billing period made. Money is integer cents (``*_cents``)."""

from __future__ import annotations

from rcm_shared.db.types import UtcDateTime
from sqlalchemy import JSON, BigInteger, Column, Date, Index, Integer, String, Table, UniqueConstraint

from patient_billing.adapters.orm import metadata

metered_messages = Table(
    "metered_messages", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("message_id", String(64), primary_key=True),
    Column("patient_id", String(64), nullable=False),
    Column("clinician_id", String(64), nullable=False),
    Column("direction", String(30), nullable=False),
    Column("sent_at", UtcDateTime, nullable=False),
    Column("sent_on", Date, nullable=False),  # the practice's date; the billing period follows it
    Column("minutes", Integer, nullable=True),
)
Index("ix_metered_messages_patient", metered_messages.c.practice_id, metered_messages.c.patient_id,
      metered_messages.c.sent_on)

subscriptions = Table(
    "subscriptions", metadata,
    Column("subscription_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("started_on", Date, nullable=False),
    Column("ends_on", Date, nullable=True),
    Column("terms", JSON, nullable=False),  # [{"plan_id", "from_day"}]
    Column("closed_periods", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_subscriptions_patient", subscriptions.c.practice_id, subscriptions.c.patient_id)
# One open-ended subscription per patient, whatever races (a second concurrent subscribe is refused).
Index("uq_subscriptions_open", subscriptions.c.practice_id, subscriptions.c.patient_id, unique=True,
      postgresql_where=subscriptions.c.ends_on.is_(None), sqlite_where=subscriptions.c.ends_on.is_(None))

subscription_invoices = Table(
    "subscription_invoices", metadata,
    Column("invoice_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("subscription_id", String(36), nullable=False),
    Column("period", String(7), nullable=False),
    Column("entry_id", String(36), nullable=True),  # the ledger charge (none for a zero invoice)
    Column("account_id", String(36), nullable=False),
    Column("total_cents", BigInteger, nullable=False),
    Column("lines", JSON, nullable=False),
    Column("closed_at", UtcDateTime, nullable=False),
    UniqueConstraint("subscription_id", "period", name="uq_subscription_invoices_period"),
)
