"""visit_determinations: the answer announced last per visit (visit-authorization-determined), and the clinicians
each visit names (credentialing decides about them)

Revision ID: 20261202_072817
Revises: 20261202_054553
Create Date: 2026-12-02 07:28:17.502285
"""
from collections.abc import Sequence

import rcm_shared.db.types
import sqlalchemy as sa
from alembic import op

revision: str = '20261202_072817'
down_revision: str | None = '20261202_054553'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('visit_determinations',
    sa.Column('practice_id', sa.String(length=64), nullable=False),
    sa.Column('visit_id', sa.String(length=36), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('answer', sa.JSON(), nullable=False),
    sa.Column('determined_at', rcm_shared.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('practice_id', 'visit_id', name=op.f('pk_visit_determinations'))
    )
    # Null for visits applied before: they are not re-announced (no clinicians to decide about).
    with op.batch_alter_table('ledger_visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rendering_npi', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('rendering_credential', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('supervising_npi', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('supervising_credential', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('billing_npi', sa.String(length=10), nullable=True))
        batch_op.create_index('ix_ledger_visits_payer_day', ['practice_id', 'payer_id', 'service_date'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ledger_visits', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_visits_payer_day')
        batch_op.drop_column('billing_npi')
        batch_op.drop_column('supervising_credential')
        batch_op.drop_column('supervising_npi')
        batch_op.drop_column('rendering_credential')
        batch_op.drop_column('rendering_npi')
    op.drop_table('visit_determinations')
