"""The schedule carries the booked procedure (CPT), when the EHR says: eligibility is the schedule's one home and
announces it on visit-scheduled, where authorizations forecasts the units an authorization will need.

Revision ID: 20261202_072922
Revises: 20261202_054558
Create Date: 2026-12-02 07:29:22.181887
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '20261202_072922'
down_revision: str | None = '20261202_054558'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('scheduled_visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cpt_code', sa.String(length=5), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('scheduled_visits', schema=None) as batch_op:
        batch_op.drop_column('cpt_code')
