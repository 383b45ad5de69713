"""scrub_facts_projection: claims keeps the facts it scrubs with (authorization determinations, eligibility checks)
and a claim may wait for them (awaiting_since)

Revision ID: 20261202_111500
Revises: 20261202_054555
Create Date: 2026-12-02 11:15:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from rcm_shared.db.types import UtcDateTime

revision: str = '20261202_111500'
down_revision: str | None = '20261202_054555'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'visit_determinations',
        sa.Column('visit_id', sa.String(length=36), nullable=False),
        sa.Column('practice_id', sa.String(length=64), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.Column('determined_at', UtcDateTime(), nullable=False),
        sa.Column('authorization_required', sa.Boolean(), nullable=False),
        sa.Column('authorization_number', sa.String(length=50), nullable=True),
        sa.Column('missing_reason', sa.String(length=60), nullable=True),
        sa.Column('units_remaining', sa.Integer(), nullable=True),
        sa.Column('providers', sa.JSON(), nullable=False),
        sa.Column('rendering_npi', sa.String(length=10), nullable=True),
        sa.Column('supervising_npi', sa.String(length=10), nullable=True),
        sa.Column('received_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('visit_id', name=op.f('pk_visit_determinations')),
    )
    op.create_table(
        'coverage_checks',
        sa.Column('check_id', sa.String(length=36), nullable=False),
        sa.Column('practice_id', sa.String(length=64), nullable=False),
        sa.Column('patient_id', sa.String(length=64), nullable=False),
        sa.Column('payer_id', sa.String(length=40), nullable=False),
        sa.Column('as_of', sa.Date(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('coverage_from', sa.Date(), nullable=True),
        sa.Column('coverage_to', sa.Date(), nullable=True),
        sa.Column('checked_at', UtcDateTime(), nullable=False),
        sa.Column('received_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('check_id', name=op.f('pk_coverage_checks')),
    )
    op.create_index('ix_coverage_checks_patient_payer', 'coverage_checks', ['practice_id', 'patient_id', 'payer_id'],
                    unique=False)
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.add_column(sa.Column('awaiting_since', UtcDateTime(), nullable=True))
        batch_op.create_index('ix_claims_patient_payer', ['practice_id', 'patient_id', 'payer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index('ix_claims_patient_payer')
        batch_op.drop_column('awaiting_since')
    op.drop_index('ix_coverage_checks_patient_payer', table_name='coverage_checks')
    op.drop_table('coverage_checks')
    op.drop_table('visit_determinations')
