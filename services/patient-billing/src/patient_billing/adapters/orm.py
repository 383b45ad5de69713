"""Tables of the patient-billing database (owned by this service alone). Money is integer cents (``*_cents``).

The journal (entries and their lines) is the book of record; ``open_items``, ``unapplied_credits``,
``patient_payments`` and the cached ``billing_accounts.balance_cents`` are what the account aggregate works on and
what aging reads, kept in the same transaction as the journal and checked against it by the trial balance.
"""

from __future__ import annotations

from typing import Any

from rcm_shared.db.platform_tables import add_platform_tables
from rcm_shared.db.types import UtcDateTime, service_metadata
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    func,
    select,
)

metadata = service_metadata()
platform = add_platform_tables(metadata)
AUTO_ID = BigInteger().with_variant(Integer(), "sqlite")

accounts = Table(
    "billing_accounts", metadata,
    Column("account_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("guarantor_id", String(64), nullable=False),  # a patient paying for themselves is their own guarantor
    Column("kind", String(20), nullable=False),  # individual | family
    Column("balance_cents", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("practice_id", "guarantor_id", name="uq_billing_accounts_practice_guarantor"),
)

members = Table(
    "account_members", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("patient_id", String(64), primary_key=True),
    Column("effective_from", Date, primary_key=True),
    Column("effective_to", Date, nullable=True),
    Column("account_id", String(36), nullable=False),
    Column("relationship", String(20), nullable=False),
)
Index("ix_account_members_account", members.c.account_id)

entries = Table(
    "journal_entries", metadata,
    Column("entry_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("account_id", String(36), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("source_id", String(120), nullable=False),
    Column("effective_date", Date, nullable=False),
    Column("posted_at", UtcDateTime, nullable=False),
    Column("patient_id", String(64), nullable=True),
    Column("visit_id", String(64), nullable=True),
    Column("claim_id", String(64), nullable=True),
    Column("reverses_entry_id", String(36), nullable=True),
    Column("reasons", JSON, nullable=False),
    Column("detail", JSON, nullable=False),
    UniqueConstraint("practice_id", "source_id", name="uq_journal_entries_source"),
)
Index("ix_journal_entries_account", entries.c.account_id, entries.c.posted_at)
Index("ix_journal_entries_visit", entries.c.practice_id, entries.c.visit_id)
Index("ix_journal_entries_reverses", entries.c.reverses_entry_id)

lines = Table(
    "journal_lines", metadata,
    Column("line_id", AUTO_ID, primary_key=True, autoincrement=True),
    Column("entry_id", String(36), nullable=False),
    Column("practice_id", String(64), nullable=False),
    Column("ledger", String(40), nullable=False),
    Column("account_id", String(36), nullable=True),
    Column("debit_cents", BigInteger, nullable=False),
    Column("credit_cents", BigInteger, nullable=False),
)
Index("ix_journal_lines_practice_ledger", lines.c.practice_id, lines.c.ledger)
Index("ix_journal_lines_entry", lines.c.entry_id)

open_items = Table(
    "open_items", metadata,
    Column("item_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("account_id", String(36), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("service_date", Date, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("open_cents", BigInteger, nullable=False),
    Column("visit_id", String(64), nullable=True),
    Column("claim_id", String(64), nullable=True),
    Column("program", String(64), nullable=True),
    Column("clinician", String(20), nullable=True),
)
Index("ix_open_items_account", open_items.c.account_id)
Index("ix_open_items_practice_date", open_items.c.practice_id, open_items.c.service_date)

credits = Table(
    "unapplied_credits", metadata,
    Column("credit_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("account_id", String(36), nullable=False),
    Column("patient_id", String(64), nullable=True),
    Column("received_on", Date, nullable=False),
    Column("remaining_cents", BigInteger, nullable=False),
    Column("for_patient_id", String(64), nullable=True),
    Column("for_service_date", Date, nullable=True),
)
Index("ix_unapplied_credits_account", credits.c.account_id)

payments = Table(
    "patient_payments", metadata,
    Column("payment_id", String(64), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("account_id", String(36), nullable=False),
    Column("entry_id", String(36), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("refunded_cents", BigInteger, nullable=False),
    Column("reversed", Boolean, nullable=False),
)
Index("ix_patient_payments_account", payments.c.account_id)

pending_insurance = Table(
    "pending_insurance", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("patient_id", String(64), primary_key=True),
    Column("service_date", Date, primary_key=True),
    Column("account_id", String(36), nullable=False),
    Column("program", String(64), nullable=True),  # the insured visit's, for the assessment's open item
    Column("clinician", String(20), nullable=True),
)
Index("ix_pending_insurance_account", pending_insurance.c.account_id)

income_assessments = Table(
    "income_assessments", metadata,
    Column("assessment_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("household_size", Integer, nullable=False),
    Column("annual_income_cents", BigInteger, nullable=False),
    Column("proof_received_on", Date, nullable=False),
    Column("proof_expires_on", Date, nullable=False),
    Column("tier", String(20), nullable=False),
    Column("policy_id", String(64), nullable=False),
    Column("percent_of_fee", Integer, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)
Index("ix_income_assessments_patient", income_assessments.c.practice_id, income_assessments.c.patient_id)
Index("ix_income_assessments_expiry", income_assessments.c.practice_id, income_assessments.c.proof_expires_on)

financial_consents = Table(
    "financial_consents", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("patient_id", String(64), primary_key=True),
    Column("signed_on", Date, primary_key=True),
    Column("recorded_at", UtcDateTime, nullable=False),
)


def posting_order() -> Any:
    """Entries in the order they were posted: by time, then by their first line (lines are numbered as inserted,
    so two entries of one transaction, say a charge and its sliding-scale adjustment, keep their order)."""
    return select(func.min(lines.c.line_id)).where(lines.c.entry_id == entries.c.entry_id).scalar_subquery()


# Card payments, cards on file, plans and collections, messaging subscriptions keep their tables in their own
# modules, on this MetaData.
from patient_billing.adapters import payments_orm, subscriptions_orm  # noqa: E402,F401

# The documents' tables (statements, superbills, Good Faith Estimates) live beside their adapters, on this metadata.
from patient_billing.adapters.documents import tables as _documents_tables  # noqa: E402, F401
