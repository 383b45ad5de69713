"""Tables of card payments, cards on file, processor webhooks, payment plans and collections follow-up (on the
service's one MetaData; ``orm.py`` keeps the ledger's). Money is integer cents (``*_cents``)."""

from __future__ import annotations

from rcm_shared.db.types import UtcDateTime
from rcm_shared.work_items.tables import add_work_item_tables
from sqlalchemy import JSON, BigInteger, Boolean, Column, Date, Index, Integer, String, Table, UniqueConstraint

from patient_billing.adapters.orm import metadata

card_payments = Table(
    "card_payments", metadata,
    Column("payment_id", String(64), primary_key=True),  # also the ledger's payment id once it succeeds
    Column("practice_id", String(64), nullable=False),
    Column("account_id", String(36), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("state", String(20), nullable=False),  # pending | requires_action | succeeded | declined
    Column("purpose", String(20), nullable=False),  # payment | autopay | installment | hosted
    Column("method_id", String(36), nullable=True),
    Column("payment_method_ref", String(100), nullable=False),
    Column("customer_ref", String(100), nullable=True),
    Column("processor_ref", String(100), nullable=True),
    Column("decline_code", String(60), nullable=True),
    Column("message", String(200), nullable=True),
    Column("action_url", String(300), nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("refunded_cents", BigInteger, nullable=False),
    Column("installment_id", String(36), nullable=True),
    Column("received_on", Date, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_card_payments_account", card_payments.c.practice_id, card_payments.c.account_id)
Index("ix_card_payments_retry", card_payments.c.state, card_payments.c.next_attempt_at)
Index("ix_card_payments_processor_ref", card_payments.c.processor_ref)

card_refunds = Table(
    "card_refunds", metadata,
    Column("refund_id", String(64), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("payment_id", String(64), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("processor_ref", String(100), nullable=False),
    Column("reason", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
Index("ix_card_refunds_payment", card_refunds.c.payment_id)

processor_customers = Table(
    "processor_customers", metadata,
    Column("account_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("customer_ref", String(100), nullable=False),
)

cards_on_file = Table(
    "cards_on_file", metadata,
    Column("method_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("account_id", String(36), nullable=False),
    Column("customer_ref", String(100), nullable=False),
    Column("payment_method_ref", String(100), nullable=False),
    Column("setup_ref", String(100), nullable=True),
    Column("status", String(20), nullable=False),  # active | requires_action | declined | removed
    Column("brand", String(20), nullable=True),
    Column("last4", String(4), nullable=True),
    Column("autopay", Boolean, nullable=False),
    Column("consent_signed_on", Date, nullable=False),
    Column("consent_text", String(120), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
Index("ix_cards_on_file_account", cards_on_file.c.practice_id, cards_on_file.c.account_id)
Index("ix_cards_on_file_setup", cards_on_file.c.setup_ref)

processor_events = Table(  # the inbox of processor webhooks: a duplicate delivery is a no-op
    "processor_events", metadata,
    Column("event_id", String(100), primary_key=True),
    Column("kind", String(80), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)

payment_plans = Table(
    "payment_plans", metadata,
    Column("plan_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("account_id", String(36), nullable=False),
    Column("policy_id", String(64), nullable=False),
    Column("total_cents", BigInteger, nullable=False),
    Column("created_on", Date, nullable=False),
    Column("state", String(20), nullable=False),
    Column("autopay_method_id", String(36), nullable=True),
    Column("missed", Integer, nullable=False),
    Column("version", Integer, nullable=False),
)
Index("ix_payment_plans_account", payment_plans.c.practice_id, payment_plans.c.account_id, payment_plans.c.state)

plan_installments = Table(
    "plan_installments", metadata,
    Column("installment_id", String(36), primary_key=True),
    Column("plan_id", String(36), nullable=False),
    Column("practice_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("state", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_on", Date, nullable=True),
    Column("payment_id", String(64), nullable=True),
    UniqueConstraint("plan_id", "seq", name="uq_plan_installments_seq"),
)
Index("ix_plan_installments_due", plan_installments.c.state, plan_installments.c.due_on)

collection_steps = Table(  # each dunning step taken on an account (the queue reads the latest)
    "collection_steps", metadata,
    Column("step_id", String(36), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("account_id", String(36), nullable=False),
    Column("step", String(30), nullable=False),
    Column("rank", Integer, nullable=False),
    Column("taken_on", Date, nullable=False),
    Column("balance_cents", BigInteger, nullable=False),
    Column("policy_id", String(64), nullable=False),
    UniqueConstraint("practice_id", "account_id", "step", "taken_on", name="uq_collection_steps_once"),
)
Index("ix_collection_steps_account", collection_steps.c.practice_id, collection_steps.c.account_id)

balance_disputes = Table(
    "balance_disputes", metadata,
    Column("practice_id", String(64), primary_key=True),
    Column("account_id", String(36), primary_key=True),
    Column("opened_on", Date, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("resolved_on", Date, nullable=True),
    Column("detail", JSON, nullable=False),
)

work_item_tables = add_work_item_tables(metadata)
