"""self_pay_pricing: sliding-scale income assessments (household size, income, proof and its expiry, the tier)
and signed financial-policy consents (no-show / late-cancel fees).

Revision ID: 20261202_121500
Revises: 20261202_113000
Create Date: 2026-12-02 12:15:00
"""
from collections.abc import Sequence

import rcm_shared.db.types
import sqlalchemy as sa
from alembic import op

revision: str = '20261202_121500'
down_revision: str | None = '20261202_113000'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('income_assessments',
    sa.Column('assessment_id', sa.String(length=36), nullable=False),
    sa.Column('practice_id', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('household_size', sa.Integer(), nullable=False),
    sa.Column('annual_income_cents', sa.BigInteger(), nullable=False),
    sa.Column('proof_received_on', sa.Date(), nullable=False),
    sa.Column('proof_expires_on', sa.Date(), nullable=False),
    sa.Column('tier', sa.String(length=20), nullable=False),
    sa.Column('policy_id', sa.String(length=64), nullable=False),
    sa.Column('percent_of_fee', sa.Integer(), nullable=False),
    sa.Column('recorded_at', rcm_shared.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('assessment_id', name=op.f('pk_income_assessments')))
    op.create_index('ix_income_assessments_patient', 'income_assessments', ['practice_id', 'patient_id'])
    op.create_index('ix_income_assessments_expiry', 'income_assessments', ['practice_id', 'proof_expires_on'])
    op.create_table('financial_consents',
    sa.Column('practice_id', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=False),
    sa.Column('recorded_at', rcm_shared.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('practice_id', 'patient_id', 'signed_on', name=op.f('pk_financial_consents')))


def downgrade() -> None:
    op.drop_table('financial_consents')
    op.drop_index('ix_income_assessments_expiry', table_name='income_assessments')
    op.drop_index('ix_income_assessments_patient', table_name='income_assessments')
    op.drop_table('income_assessments')
