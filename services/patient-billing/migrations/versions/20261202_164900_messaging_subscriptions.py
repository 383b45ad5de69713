"""messaging_subscriptions: metered secure messages (message-exchanged, once per message), messaging
subscriptions with their plan terms, and the one invoice each closed billing period made.

Revision ID: 20261202_164900
Revises: 20261202_164128
Create Date: 2026-12-02 16:49:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rcm_shared.db.types


revision: str = '20261202_164900'
down_revision: str | None = '20261202_164128'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('metered_messages',
    sa.Column('practice_id', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('clinician_id', sa.String(length=64), nullable=False),
    sa.Column('direction', sa.String(length=30), nullable=False),
    sa.Column('sent_at', rcm_shared.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('practice_id', 'message_id', name=op.f('pk_metered_messages'))
    )
    with op.batch_alter_table('metered_messages', schema=None) as batch_op:
        batch_op.create_index('ix_metered_messages_patient', ['practice_id', 'patient_id', 'sent_on'], unique=False)

    op.create_table('subscriptions',
    sa.Column('subscription_id', sa.String(length=36), nullable=False),
    sa.Column('practice_id', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.Column('closed_periods', sa.JSON(), nullable=False),
    sa.Column('created_at', rcm_shared.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', rcm_shared.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('subscription_id', name=op.f('pk_subscriptions'))
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_subscriptions_patient', ['practice_id', 'patient_id'], unique=False)
        batch_op.create_index('uq_subscriptions_open', ['practice_id', 'patient_id'], unique=True,
                              postgresql_where=sa.text('ends_on IS NULL'), sqlite_where=sa.text('ends_on IS NULL'))

    op.create_table('subscription_invoices',
    sa.Column('invoice_id', sa.String(length=36), nullable=False),
    sa.Column('practice_id', sa.String(length=64), nullable=False),
    sa.Column('subscription_id', sa.String(length=36), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('entry_id', sa.String(length=36), nullable=True),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('total_cents', sa.BigInteger(), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('closed_at', rcm_shared.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('invoice_id', name=op.f('pk_subscription_invoices')),
    sa.UniqueConstraint('subscription_id', 'period', name='uq_subscription_invoices_period')
    )


def downgrade() -> None:
    op.drop_table('subscription_invoices')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index('uq_subscriptions_open', postgresql_where=sa.text('ends_on IS NULL'),
                            sqlite_where=sa.text('ends_on IS NULL'))
        batch_op.drop_index('ix_subscriptions_patient')

    op.drop_table('subscriptions')
    with op.batch_alter_table('metered_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_metered_messages_patient')

    op.drop_table('metered_messages')
