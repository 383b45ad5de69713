"""outbox_published_to: the cluster id of the broker that acknowledged each outbox row; published rows are kept
for a retention window and published again when that broker's log is gone

Revision ID: 20261202_131500
Revises: 20261202_112803
Create Date: 2026-12-02 13:15:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '20261202_131500'
down_revision: str | None = '20261202_112803'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published_to', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('published_to')
